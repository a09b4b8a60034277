"""Likely duplicates (the health dashboard's 可能重复登记的人员): one person written differently across
documents — a Latin name in another case, spacing or Unicode form; the birth date from the resident ID
(or the new permanent residence card) or as given on a passport record — and nobody else."""

import csv
import unicodedata
from datetime import date, timedelta

import pytest
from django.utils import timezone

from health.feeds import feed_import
from health.identity import document_clean
from health.models import Person
from health.services.merge import merge_suggestions
from tests import factories
from tests.identity.documents import fpr_18

pytestmark = pytest.mark.django_db
BORN = date(1980, 1, 1)


@pytest.fixture
def border(client_for):
    return client_for(factories.staff(organisation=factories.department("border")))


def entrant(border, who: dict, *, days: int = 20) -> None:
    response = border.post(
        "/api/v1/entrants/",
        {"person": who, "entered_country_on": (timezone.localdate() - timedelta(days=days)).isoformat(),
         "port": "首都机场", "origin_country": "GB"},
        format="json",
    )  # fmt: skip
    assert response.status_code == 201, response.json()


def suggested() -> list[set[int]]:
    return [{person.pk for person in group["persons"]} for group in merge_suggestions()]


def passport(name: str, number: str = "G12345678", state: str = "GBR", born: date | None = BORN) -> dict:
    who = {"name": name, "document_type": "passport", "document_number": number, "nationality": state}
    return {**who, "birth_date": born.isoformat()} if born else who


def pk_of(**document) -> int:
    return Person.objects.get(id_digest=document_clean(**document).digest).pk


def test_a_latin_name_in_another_case_spacing_and_unicode_form_across_documents_is_suggested(border):
    # given a passport holder "Zoë MÜLLER" (precomposed) born 1980-01-01, and a permanent residence
    # card holder "zoe\u0308  müller" (decomposed, lower case, two spaces) given the same birth date
    entrant(border, passport("Zoë MÜLLER", state="DEU"))
    decomposed = unicodedata.normalize("NFD", "zoë  müller")
    card = {"name": decomposed, "document_type": "foreign_permanent_residence",
            "document_number": "DEU123456789012", "nationality": "DEU", "birth_date": BORN.isoformat()}  # fmt: skip
    entrant(border, card, days=10)
    # then the two are one suggestion
    first = pk_of(document_type="passport", number="G12345678", nationality="DEU")
    second = pk_of(document_type="foreign_permanent_residence", number="DEU123456789012", nationality="DEU")
    assert suggested() == [{first, second}]


def test_the_birth_date_from_a_resident_id_or_the_new_card_meets_the_one_given_on_a_passport(border, tmp_path):
    # given a citizen's resident ID (born 1980-01-01), named first by the platform's stays file
    number = factories.id_number(born=BORN)
    path = tmp_path / "stays.csv"
    with path.open("w", newline="", encoding="utf-8") as output:
        writer = csv.writer(output)
        writer.writerow(["name", "id_number", "city_code", "arrived_at"])
        writer.writerow(["张三", number, "110105", (timezone.now() - timedelta(days=2)).isoformat()])
    feed_import(kind="stays", path=path)
    # and the same citizen's CHN passport with the birth date given by border control
    entrant(border, passport("张三", number="E12345678", state="CHN"))
    # and a new-form permanent residence card (birth date in its number) and a passport of one name
    card_number = fpr_18(born="19750505")
    entrant(border, {"name": "Maria GARCIA", "document_type": "foreign_permanent_residence",
                     "document_number": card_number, "nationality": "ESP"})  # fmt: skip
    entrant(border, passport("MARIA GARCIA", number="X1234567", state="ESP", born=date(1975, 5, 5)), days=5)
    # then both pairs are suggested, each on its own
    resident = pk_of(document_type="resident_id", number=number)
    citizen = pk_of(document_type="passport", number="E12345678", nationality="CHN")
    card = pk_of(document_type="foreign_permanent_residence", number=card_number, nationality="ESP")
    maria = pk_of(document_type="passport", number="X1234567", nationality="ESP")
    assert sorted(suggested(), key=min) == sorted([{resident, citizen}, {card, maria}], key=min)
    assert Person.objects.get(pk=resident).birth_date == BORN


def test_a_passport_learns_its_birth_date_from_a_later_record_and_is_then_suggested(border):
    # given a resident and a passport of one name, the passport registered first without a birth date
    factories_resident = factories.id_number(born=BORN)
    entrant(border, {"name": "李四", "id_number": factories_resident})
    entrant(border, passport("李四", number="E7654321", state="CHN", born=None), days=30)
    assert suggested() == []
    # when a later record gives the passport's birth date
    entrant(border, passport("李四", number="E7654321", state="CHN"), days=3)
    # then the two are suggested
    assert len(suggested()) == 1


def test_nobody_else_is_suggested(border):
    # two resident IDs of one name and birthday are two people
    entrant(border, {"name": "王五", "id_number": factories.id_number(born=BORN)})
    entrant(border, {"name": "王五", "id_number": factories.id_number(born=BORN)})
    # a passport of the same name but another birth date, and one without a birth date
    entrant(border, passport("王五", number="E1111111", state="CHN", born=date(1981, 1, 1)))
    entrant(border, passport("王五", number="E2222222", state="CHN", born=None))
    # another name on the same birthday, whatever the document
    entrant(border, passport("王六", number="E3333333", state="CHN"))
    # two passports of one name and birthday from the same state are one kind of document: not suggested
    entrant(border, passport("John SMITH", number="G1000001"))
    entrant(border, passport("john smith", number="G1000002"))
    assert suggested() == []
