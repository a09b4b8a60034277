"""The GB/T 2260 table as shipped by python-stdnum (stdnum/cn/loc.dat), flattened to rows."""
from collections.abc import Iterator

from stdnum import numdb


def _current_name(raw: str) -> tuple[str, bool]:
    """'[1983-2014]新市区,[2015-]竞秀区' -> ('竞秀区', True); a name whose every period ended -> (last, False)."""
    names = []
    for part in raw.split(","):
        if part.startswith("["):
            period, name = part[1:].split("]", 1)
            names.append((name, not period.split("-", 1)[1]))
        else:
            names.append((part, True))
    for name, current in reversed(names):
        if current:
            return name, True
    return names[-1][0], False


def region_rows() -> Iterator[tuple[str, str, str, str, bool]]:
    """(code, name, full_name, level, is_current) for every province, city and county."""
    database = numdb.get("cn/loc")
    for _length, province_low, _high, province_props, counties in database.prefixes:
        province_name = province_props.get("province", "")
        yield province_low + "0000", province_name, province_name, "province", True
        city_names: dict[str, str] = {}
        for _l, low, _h, props, _children in counties:
            code = province_low + low
            if code.endswith("0000"):
                continue  # the province itself
            name, current = _current_name(props.get("county", ""))
            level = "city" if code.endswith("00") else "county"
            if level == "city":
                city_names[code[:4]] = name if name not in ("市辖区", "县") else ""
                full = province_name + (city_names[code[:4]] or "")
            else:
                full = province_name + city_names.get(code[:4], "") + name
            yield code, name, full, level, current
