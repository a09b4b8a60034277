"""Identity documents for the tests: one valid example of each type (numbers made up, never real)."""
from __future__ import annotations

import itertools

from stdnum.iso7064 import mod_11_2

from tests import factories

_serial = itertools.count(10)


def fpr_18(born: str = "19800101") -> str:
    """A new-form permanent residence card number: 9, place, nationality code, birth date, serial, check."""
    body = f"911826{born}{next(_serial) % 1000:03d}"
    return body + mod_11_2.calc_check_digit(body)


def person(kind: str, name: str | None = None) -> dict:
    """A person object of api.md naming a fresh document of this type."""
    serial = next(_serial)
    if kind == "id_number":
        return {"name": name or "张三", "id_number": factories.id_number()}
    if kind == "resident_id":
        return {"name": name or "张三", "document_type": "resident_id", "document_number": factories.id_number()}
    if kind == "resident_permit":  # a Hong Kong resident's residence permit: the 81… form of the resident ID
        return {"name": name or "陈大文", "id_number": factories.id_number(region="810000")}
    if kind == "passport":
        return {"name": name or "John SMITH", "document_type": "passport", "document_number": f"G{serial:08d}",
                "nationality": "GBR"}
    if kind == "hk_macao_permit":
        return {"name": name or "陈大文", "document_type": "hk_macao_permit", "document_number": f"H{serial:08d}"}
    if kind == "taiwan_permit":
        return {"name": name or "林志明", "document_type": "taiwan_permit", "document_number": f"{serial:08d}"}
    if kind == "fpr_15":
        return {"name": name or "Anna MÜLLER", "document_type": "foreign_permanent_residence",
                "document_number": f"DEU{serial:012d}", "nationality": "DEU"}
    if kind == "fpr_18":
        return {"name": name or "Maria GARCIA", "document_type": "foreign_permanent_residence",
                "document_number": fpr_18(), "nationality": "ESP"}
    raise ValueError(kind)


KINDS = ["id_number", "resident_id", "resident_permit", "passport", "hk_macao_permit", "taiwan_permit", "fpr_15", "fpr_18"]
NON_RESIDENT = ["passport", "hk_macao_permit", "taiwan_permit", "fpr_15", "fpr_18"]


def number_of(person_object: dict) -> str:
    return person_object.get("document_number") or person_object["id_number"]
