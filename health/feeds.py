"""Department feeds from files at bulk speed: every row validated first, then written in one transaction.

`feed_import(kind=, path=)` for stays (the national platform's itinerary), designations, risk
areas and entrants, CSV (with a header) or JSON lines. Any bad row rejects the whole file with
its line number and reasons (an ID number is never repeated in a message); nothing is written.
Stays, the feed of millions, are checked row by row in Python with the same rules as the API and
written on PostgreSQL through a staging table filled with COPY: persons resolved and created set-
based, stays upserted on (person, city, arrival) so that a resent file never duplicates, the
affected persons marked dirty in the same transaction and recomputed after commit in batches.
The small feeds reuse the API's serializers and the services row by row.
"""
from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import lru_cache
from pathlib import Path

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from stdnum.cn import ric

from entrants.feed import FeedRejected
from health import bulk
from health.identity import id_number_clean, id_number_digest, id_number_mask
from health.models import HealthStatus, ItineraryStay, Organisation, Person, Region
from health.services.persons import name_normalise
from health.services.statuses import persons_mark_dirty
from health.timebounds import CLOCK_SKEW, EARLIEST

KINDS = ("stays", "designations", "risk-areas", "entrants")
STAY_COLUMNS = ("name", "id_number", "city_code", "arrived_at", "left_at")
# A report lists this many bad rows at most (and says how many there were).
REPORT_MAX = 200
BEIJING = timezone.get_fixed_timezone(480)

FUTURE = _("该时间不能晚于当前时间。")
TOO_EARLY = _("该时间过早。")
INVALID_TIME = _("时间格式不正确，请使用 ISO 8601（如 2022-05-01T08:00:00+08:00）。")
REQUIRED = _("该字段是必填项。")
UNKNOWN_REGION = _("未知的区划代码。")
LEFT_BEFORE_ARRIVED = _("离开时间不能早于到达时间。")
NAME_TOO_LONG = _("姓名最多 64 个字符。")
OTHER_NAME_IN_FILE = _("同一身份证号码在第 %(line)s 行的姓名不同。")
OTHER_NAME_STORED = _("该身份证号码已登记为另一姓名。")


def format_of_name(name: str) -> str | None:
    lowered = name.lower()
    if lowered.endswith(".csv"):
        return "csv"
    if lowered.endswith((".jsonl", ".ndjson")):
        return "jsonl"
    return None


# --- reading ----------------------------------------------------------------------------------
def _lines(path: Path) -> Iterator[str]:
    raw = path.open("rb")
    head = raw.read(4)
    raw.seek(3 if head.startswith(b"\xef\xbb\xbf") else 0)
    try:
        yield from io.TextIOWrapper(raw, encoding="utf-8", newline="")
    except UnicodeDecodeError:
        raise FeedRejected(file_errors=[_("无法识别文件编码，请使用 UTF-8。")]) from None


def rows_read(path: Path, feed_format: str, columns: tuple[str, ...]) -> Iterator[tuple[int, dict | str]]:
    """(line number, row dict) per data row, or (line, message) for a row that cannot be read."""
    if feed_format == "csv":
        reader = csv.reader(_lines(path))
        header = next(reader, None)
        if header is None:
            raise FeedRejected(file_errors=[_("文件为空。")])
        names = [column.strip().lower() for column in header]
        unknown = [column for column in names if column not in columns]
        missing = [column for column in columns if column not in names and column != "left_at"]
        if unknown or missing:
            errors = []
            if unknown:
                errors.append(str(_("未知的列：")) + "、".join(column[:40] for column in unknown))
            if missing:
                errors.append(str(_("缺少必需的列：")) + "、".join(missing))
            raise FeedRejected(rejected=[{"line": 1, "errors": {"header": errors}}])
        for values in reader:
            line = reader.line_num
            if not any(values):
                continue
            if len(values) > len(names):
                yield line, str(_("列数多于表头。"))
                continue
            yield line, dict(zip(names, values, strict=False))
        return
    for line, text in enumerate(_lines(path), start=1):
        if not text.strip():
            continue
        try:
            row = json.loads(text)
        except ValueError:
            yield line, str(_("不是有效的 JSON。"))
            continue
        if not isinstance(row, dict):
            yield line, str(_("每行应为一个 JSON 对象。"))
            continue
        unknown = [key for key in row if key not in columns]
        if unknown:
            yield line, str(_("未知的字段：")) + "、".join(str(key)[:40] for key in unknown)
            continue
        yield line, row


# --- validation of one value ------------------------------------------------------------------
_ID_SHAPE = re.compile(r"[0-9]{17}[0-9X]")


@lru_cache(maxsize=65536)
def _birthplace_known(prefix: str, year: int) -> bool:
    # stdnum reads only the place code and the birth year here; any valid day of that year will do.
    try:
        ric.get_birth_place(f"{prefix}{year:04d}0101001X")
    except Exception:  # noqa: BLE001 - stdnum's InvalidComponent: not a known place for that year
        return False
    return True


def id_number_fast(raw: object) -> str:
    """`id_number_clean` at feed speed: the same answer, the common case checked without stdnum's cleaning.

    A number already in canonical form is checked here (check character, birth date, birthplace
    known in the birth year, memoised per place and year); anything else goes to id_number_clean,
    which gives the canonical number or the same ValidationError as the API.
    """
    if type(raw) is str and _ID_SHAPE.fullmatch(raw) and raw[-1] == ric.calc_check_digit(raw):
        year = int(raw[6:10])
        try:
            date(year, int(raw[10:12]), int(raw[12:14]))
        except ValueError:
            return id_number_clean(raw)
        if _birthplace_known(raw[:6], year):
            return raw
    return id_number_clean(str(raw) if raw is not None else "")


def _moment(value: object, *, now: datetime) -> datetime:
    """A past moment (ISO 8601; a naive time is Beijing time), within the API's bounds."""
    if isinstance(value, str):
        try:
            moment = datetime.fromisoformat(value.strip())
        except ValueError:
            raise ValueError(INVALID_TIME) from None
    else:
        raise ValueError(INVALID_TIME)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=BEIJING)
    if moment > now + CLOCK_SKEW:
        raise ValueError(FUTURE)
    if moment < EARLIEST:
        raise ValueError(TOO_EARLY)
    return moment


# --- stays ------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class StayRow:
    line: int
    name: str
    # The canonical number, in memory only while the file is imported (never stored or reported).
    id_number: str = field(repr=False)
    digest: str
    masked: str
    region: str
    arrived_at: datetime
    left_at: datetime | None


def stays_validate(path: Path, feed_format: str) -> list[StayRow]:
    """Every row checked (the API's rules), then the rows against each other and the stored persons."""
    now = timezone.now()
    regions = set(Region.objects.values_list("code", flat=True))
    numbers: dict[str, tuple[str, str, str] | str] = {}  # raw -> (number, digest, masked), or an error message
    rejected: dict[int, dict[str, list[str]]] = {}
    valid: list[StayRow] = []
    first_name: dict[str, tuple[int, str]] = {}  # digest -> the first line and name it came with
    for line, row in rows_read(path, feed_format, STAY_COLUMNS):
        if isinstance(row, str):
            rejected[line] = {"non_field_errors": [row]}
            continue
        errors: dict[str, list[str]] = {}
        name = name_normalise(row.get("name") or "")
        if not name:
            errors["name"] = [str(REQUIRED)]
        elif len(name) > 64:
            errors["name"] = [str(NAME_TOO_LONG)]
        raw = row.get("id_number")
        known = numbers.get(raw) if isinstance(raw, str) else None
        if known is None:
            try:
                number = id_number_fast(raw)
                known = (number, id_number_digest(number), id_number_mask(number))
            except DjangoValidationError as error:
                known = str(error.messages[0])
            if isinstance(raw, str):
                numbers[raw] = known
        if isinstance(known, str):
            errors["id_number"] = [known]
        elif name and len(name) <= 64:
            # Names are compared on every row with a valid number, whatever else is wrong with it.
            seen = first_name.setdefault(known[1], (line, name))
            if seen[1] != name:
                errors["name"] = [str(OTHER_NAME_IN_FILE % {"line": seen[0]})]
        region = row.get("city_code")
        if region not in regions:
            errors["city_code"] = [str(UNKNOWN_REGION if region else REQUIRED)]
        arrived_at = left_at = None
        try:
            arrived_at = _moment(row.get("arrived_at"), now=now)
        except ValueError as error:
            errors["arrived_at"] = [str(error.args[0] if row.get("arrived_at") else REQUIRED)]
        left = row.get("left_at")
        if left not in (None, ""):
            try:
                left_at = _moment(left, now=now)
            except ValueError as error:
                errors["left_at"] = [str(error.args[0])]
            if arrived_at is not None and left_at is not None and left_at < arrived_at:
                errors["left_at"] = [str(LEFT_BEFORE_ARRIVED)]
        if errors:
            rejected[line] = errors
            continue
        valid.append(StayRow(line, name, known[0], known[1], known[2], region, arrived_at, left_at))
    if rejected:
        raise _rejection(rejected)
    if not valid:
        raise FeedRejected(file_errors=[_("文件中没有数据行。")])
    return valid


def _rejection(rejected: dict[int, dict[str, list[str]]]) -> FeedRejected:
    report = [{"line": line, "errors": errors} for line, errors in sorted(rejected.items())[:REPORT_MAX]]
    error = FeedRejected(rejected=report)
    error.total = len(rejected)
    return error


_STAGING = "feed_stays"
_STAGING_COLUMNS = (
    "line integer, name varchar(64), digest varchar(64), masked varchar(18), region varchar(6), "
    "arrived_at timestamptz, left_at timestamptz, person_id bigint, stored_name varchar(64)"
)


@transaction.atomic
def stays_write(rows: list[StayRow], *, source: str) -> tuple[int, list[int]]:
    """Write validated stays in this transaction; (stays written, persons marked dirty)."""
    # The last row wins when a file repeats a stay; the database would refuse two in one statement.
    unique = {(row.digest, row.region, row.arrived_at): row for row in rows}
    if not bulk.is_postgresql():
        return _stays_write_portable(list(unique.values()), source=source)
    bulk.temp_table_create(_STAGING, _STAGING_COLUMNS)
    bulk.copy_rows(
        _STAGING,
        ["line", "name", "digest", "masked", "region", "arrived_at", "left_at"],
        ((r.line, r.name, r.digest, r.masked, r.region, r.arrived_at, r.left_at) for r in unique.values()),
    )
    # Inserted in key order: the person and unique indexes grow at the right places, page after page,
    # instead of touching a random page of each per row.
    person, status, stay = Person._meta.db_table, HealthStatus._meta.db_table, ItineraryStay._meta.db_table
    with connection.cursor() as cursor:
        # Sorts and hashes of a large file in memory rather than in temporary files, for this transaction only.
        cursor.execute("SET LOCAL work_mem = '64MB'")
        cursor.execute(f"ANALYZE {_STAGING}")
        # Each row's person, looked up once by digest: everything below reads the staging table alone.
        cursor.execute(
            f"UPDATE {_STAGING} f SET person_id = p.id, stored_name = p.name FROM {person} p WHERE p.id_digest = f.digest"
        )
        _conflicts_reject(cursor)
        # New persons and their status rows, set-based, each staged row given its new person's id.
        cursor.execute(
            f"""
            WITH new AS (
                INSERT INTO {person} (name, id_digest, id_masked, created_at)
                SELECT DISTINCT ON (digest) name, digest, masked, now() FROM {_STAGING}
                WHERE person_id IS NULL ORDER BY digest
                ON CONFLICT (id_digest) DO NOTHING
                RETURNING id, id_digest, name
            ), statuses AS (
                INSERT INTO {status} (person_id, status, reasons, needs_review, dirty, dirty_cause,
                                      inputs_version, computed_version)
                SELECT id, 'popup', '[]', false, true, 'person_created', 1, 0 FROM new
            )
            UPDATE {_STAGING} f SET person_id = new.id, stored_name = new.name FROM new WHERE f.digest = new.id_digest
            """
        )
        # A number created meanwhile by a concurrent request: read it back and check its name too.
        cursor.execute(
            f"UPDATE {_STAGING} f SET person_id = p.id, stored_name = p.name FROM {person} p "
            f"WHERE f.person_id IS NULL AND p.id_digest = f.digest"
        )
        _conflicts_reject(cursor)
        cursor.execute(
            f"""
            INSERT INTO {stay} (person_id, region_id, arrived_at, left_at, source, received_at)
            SELECT person_id, region, arrived_at, left_at, %s, now() FROM {_STAGING}
            ORDER BY person_id, region, arrived_at
            ON CONFLICT (person_id, region_id, arrived_at)
            DO UPDATE SET left_at = EXCLUDED.left_at, source = EXCLUDED.source, received_at = EXCLUDED.received_at
            """,
            [source],
        )
        written = cursor.rowcount
        cursor.execute(f"SELECT DISTINCT person_id FROM {_STAGING} ORDER BY person_id")
        person_ids = [pk for (pk,) in cursor.fetchall()]
    bulk.temp_table_drop(_STAGING)
    persons_mark_dirty(person_ids, cause="itinerary_feed")
    return written, person_ids


def _conflicts_reject(cursor) -> None:
    """A staged name that contradicts the stored person's rejects the file (rolled back with it)."""
    cursor.execute(
        f"SELECT line FROM {_STAGING} WHERE stored_name IS NOT NULL AND stored_name <> name ORDER BY line LIMIT {REPORT_MAX}"
    )
    conflicts = [line for (line,) in cursor.fetchall()]
    if conflicts:
        raise _rejection({line: {"name": [str(OTHER_NAME_STORED)]} for line in conflicts})


def _stays_write_portable(rows: list[StayRow], *, source: str) -> tuple[int, list[int]]:
    """SQLite (the embedded mode): persons resolved through the persons service, stays upserted in batches."""
    from health.services.persons import persons_resolve_many

    digests = {row.digest for row in rows}
    known = {}
    for chunk in bulk.batched(sorted(digests), 5000):
        known.update(Person.objects.filter(id_digest__in=chunk).values_list("id_digest", "name"))
    conflicts = [row.line for row in rows if row.digest in known and known[row.digest] != row.name]
    if conflicts:
        raise _rejection({line: {"name": [str(OTHER_NAME_STORED)]} for line in conflicts})
    person_of: dict[str, int] = {}
    for chunk in bulk.batched(rows, 5000):
        fresh = list({row.digest: row for row in chunk if row.digest not in person_of}.values())
        if fresh:
            person_of.update(zip((row.digest for row in fresh), persons_resolve_many(fresh), strict=True))
    stays = [
        ItineraryStay(
            person_id=person_of[row.digest],
            region_id=row.region,
            arrived_at=row.arrived_at,
            left_at=row.left_at,
            source=source,
        )
        for row in rows
    ]
    ItineraryStay.objects.bulk_create(
        stays,
        batch_size=1000,
        update_conflicts=True,
        unique_fields=["person", "region", "arrived_at"],
        update_fields=["left_at", "source", "received_at"],
    )
    person_ids = sorted(set(person_of.values()))
    persons_mark_dirty(person_ids, cause="itinerary_feed")
    return len(stays), person_ids


# --- the small feeds: the API's serializers and the services, row by row ----------------------
DESIGNATION_COLUMNS = ("name", "id_number", "kind", "designated_at", "cleared_at")
RISK_AREA_COLUMNS = ("region_code", "level", "effective_from", "effective_to")


def _flat(detail, field_name: str | None = None, out: dict | None = None) -> dict[str, list[str]]:
    """DRF's nested errors as {column: [messages]} (a nested person's fields are the file's columns)."""
    out = {} if out is None else out
    if isinstance(detail, dict):
        for key, inner in detail.items():
            _flat(inner, field_name if key in ("non_field_errors", "person") and field_name else key, out)
    elif isinstance(detail, list | tuple):
        for inner in detail:
            _flat(inner, field_name, out)
    else:
        out.setdefault(field_name or "non_field_errors", []).append(str(detail))
    return out


def _blank(value):
    return None if isinstance(value, str) and not value.strip() else value


def _validated(path: Path, feed_format: str, columns: tuple[str, ...], serializer_class, payload) -> list[dict]:
    from rest_framework.exceptions import ValidationError

    rejected: dict[int, dict[str, list[str]]] = {}
    valid = []
    for line, row in rows_read(path, feed_format, columns):
        if isinstance(row, str):
            rejected[line] = {"non_field_errors": [row]}
            continue
        serializer = serializer_class(data=payload({key: _blank(value) for key, value in row.items()}))
        try:
            serializer.is_valid(raise_exception=True)
        except ValidationError as error:
            rejected[line] = _flat(error.detail)
            continue
        valid.append(serializer.validated_data)
    if rejected:
        raise _rejection(rejected)
    if not valid:
        raise FeedRejected(file_errors=[_("文件中没有数据行。")])
    return valid


def _designations_import(path: Path, feed_format: str, actor) -> int:
    from health.api.serializers import DesignationCreateInputSerializer
    from health.services.designations import designation_create

    rows = _validated(
        path,
        feed_format,
        DESIGNATION_COLUMNS,
        DesignationCreateInputSerializer,
        lambda row: {
            "person": {"name": row.get("name"), "id_number": row.get("id_number")},
            **{key: row.get(key) for key in ("kind", "designated_at", "cleared_at") if row.get(key) is not None},
        },
    )
    with transaction.atomic():
        for data in rows:
            designation_create(
                actor=actor,
                name=data["person"]["name"],
                id_number=data["person"]["id_number"],
                kind=data["kind"],
                designated_at=data["designated_at"],
                cleared_at=data["cleared_at"],
            )
    return len(rows)


def _risk_areas_import(path: Path, feed_format: str, actor) -> int:
    from health.api.serializers import RiskAreaCreateInputSerializer
    from health.services.risk_areas import risk_area_create

    rows = _validated(
        path,
        feed_format,
        RISK_AREA_COLUMNS,
        RiskAreaCreateInputSerializer,
        lambda row: {key: value for key, value in row.items() if value is not None},
    )
    regions = Region.objects.in_bulk([data["region_code"] for data in rows])
    with transaction.atomic():
        for data in rows:
            risk_area_create(
                actor=actor,
                region=regions[data["region_code"]],
                level=data["level"],
                effective_from=data["effective_from"],
                effective_to=data["effective_to"],
            )
    return len(rows)


def feed_import(*, kind: str, path: Path, feed_format: str | None = None, actor=None) -> dict:
    """Import one file of `kind`; FeedRejected (nothing written) if any row is bad."""
    feed_format = feed_format or format_of_name(path.name)
    if feed_format not in ("csv", "jsonl"):
        raise FeedRejected(file_errors=[_("不支持的格式，请使用 csv 或 jsonl。")])
    if kind == "stays":
        from health.selectors import user_organisation

        rows = stays_validate(path, feed_format)
        organisation = user_organisation(actor) if actor is not None else None
        source = organisation.kind if organisation is not None else Organisation.Kind.PLATFORM
        written, person_ids = stays_write(rows, source=source)
        return {"rows": len(rows), "written": written, "persons": len(person_ids)}
    if kind == "entrants":
        from entrants import feed

        return {"rows": feed.feed_import(actor=actor, content=path.read_bytes(), feed_format=feed_format)}
    if kind == "designations":
        return {"rows": _designations_import(path, feed_format, actor)}
    if kind == "risk-areas":
        return {"rows": _risk_areas_import(path, feed_format, actor)}
    raise ValueError(f"unknown feed kind {kind!r}")
