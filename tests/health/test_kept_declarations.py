"""A declaration made before the records arrive is kept, and used with its time once the person appears."""

import csv
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone

from health.identity import id_number_digest
from health.models import ItineraryDeclaration, KeptDeclaration, Person
from health.purge import stays_purge_horizon
from health.services.itinerary import declaration_submit, declarations_kept_purge
from health.services.persons import person_resolve
from tests import factories

from .helpers import STRANGER_REASONS, ago

QUERY = "/api/v1/status/query/"
DECLARE = "/api/v1/status/declarations/"
STAYS = "/api/v1/itinerary/stays/"


def stay(payload, city_code="110000", arrived_days=3, left_days=1):
    return {"person": payload, "city_code": city_code, "arrived_at": ago(days=arrived_days), "left_at": ago(days=left_days)}


@pytest.mark.parametrize(
    ("declared", "status", "reasons"),
    [
        (["110000"], "no_abnormality", ["G3", "itinerary_verified"]),
        (["130100"], "popup", ["P", "itinerary_mismatch"]),
    ],
)
def test_declare_first_then_the_platform_s_stays_arrive(api, client_for, platform_user, declared, status, reasons):
    # given a resident with no records who declares (and is answered as a person with no data)
    payload = factories.person_payload("赵六")
    answer = api.post(DECLARE, {**payload, "city_codes": declared}, format="json")
    assert answer.status_code == 201 and answer.json()["reasons"] == STRANGER_REASONS
    # when the platform's stays arrive a day later
    assert client_for(platform_user).post(STAYS, {"stays": [stay(payload)]}, format="json").status_code == 201
    # then the status reads the declaration: verified, or 核验失败 when it does not cover the stay
    response = api.post(QUERY, payload, format="json")
    assert (response.json()["status"], response.json()["reasons"]) == (status, reasons)
    person = Person.objects.get(id_digest=id_number_digest(payload["id_number"]))
    assert list(person.declarations.values_list("region_codes", flat=True)) == [declared]
    assert person.declarations.get().client_digest != ""  # the declaring client's record came along
    assert not KeptDeclaration.objects.exists()


def test_the_declaration_keeps_the_time_it_was_made(api, client_for, platform_user):
    # given a declaration of Beijing made two days ago, before any record
    payload = factories.person_payload("赵六")
    declared_at = timezone.now() - timedelta(days=2)
    assert declaration_submit(name="赵六", id_number=payload["id_number"], region_codes=["110000"], declared_at=declared_at) is None
    # when stays arrive: Beijing before the declaration, Tianjin after it (not to be covered)
    stays = [stay(payload, "110000", 5, 3), stay(payload, "120000", 1, 0)]
    assert client_for(platform_user).post(STAYS, {"stays": stays}, format="json").status_code == 201
    # then it is verified: had the declaration taken the time it was attached, Tianjin would be 核验失败
    response = api.post(QUERY, payload, format="json")
    assert response.json()["reasons"] == ["G3", "itinerary_verified"]
    assert Person.objects.get().declarations.get().declared_at == declared_at


def test_a_declaration_under_another_name_is_not_given_to_the_person(api, client_for, platform_user):
    # given a declaration with a number and a name, and the records arriving under another name
    payload = factories.person_payload("张三")
    api.post(DECLARE, {"name": "张山", "id_number": payload["id_number"], "city_codes": ["110000"]}, format="json")
    client_for(platform_user).post(STAYS, {"stays": [stay(payload)]}, format="json")
    # then the person has no declaration, and the kept one stays kept
    response = api.post(QUERY, payload, format="json")
    assert response.json()["reasons"] == ["P", "itinerary_not_declared"]
    assert not ItineraryDeclaration.objects.exists()
    assert KeptDeclaration.objects.get().name == "张山"


def test_every_entry_point_that_creates_the_person_attaches_it(api, client_for, health_user, tmp_path):
    # a staff write (designation), a service (person_resolve) and the feed file
    numbers = [factories.id_number() for _ in range(3)]
    for number in numbers:
        api.post(DECLARE, {"name": "赵 六", "id_number": number, "city_codes": ["110000"]}, format="json")
    body = {"person": {"name": "赵  六", "id_number": numbers[0]}, "kind": "close_contact", "designated_at": ago(hours=1)}
    assert client_for(health_user).post("/api/v1/designations/", body, format="json").status_code == 201
    person_resolve(name="赵 六 ", id_number=numbers[1])
    path = tmp_path / "stays.csv"
    with path.open("w", newline="", encoding="utf-8") as output:
        csv.writer(output).writerows([["name", "id_number", "city_code", "arrived_at", "left_at"], ["赵 六", numbers[2], "110105", ago(days=2), ""]])
    call_command("import_feed", "stays", str(path))
    assert not KeptDeclaration.objects.exists()
    owners = set(ItineraryDeclaration.objects.values_list("person__id_digest", flat=True))
    assert owners == {id_number_digest(number) for number in numbers}


def test_kept_declarations_nobody_claimed_are_purged_with_the_stays(db):
    # given a kept declaration older than the stays' horizon, a recent one, and one whose person appeared
    # meanwhile (created in a transaction that did not see it)
    old, recent = factories.id_number(), factories.id_number()
    now = timezone.now()
    horizon = stays_purge_horizon(now=now)
    declaration_submit(name="甲", id_number=old, region_codes=["110000"], declared_at=horizon - timedelta(seconds=1))
    declaration_submit(name="乙", id_number=recent, region_codes=["110000"], declared_at=horizon + timedelta(seconds=1))
    claimed = factories.id_number()
    declaration_submit(name="丙", id_number=claimed, region_codes=["110000"], declared_at=now - timedelta(days=1))
    Person.objects.create(name="丙", id_digest=id_number_digest(claimed), id_masked="x")
    # when the purge runs (the stays' horizon: their retention plus a margin)
    deleted = declarations_kept_purge(now=now)
    # then only the old one is gone, and the claimed one is its person's
    assert deleted == 1
    assert list(KeptDeclaration.objects.values_list("name", flat=True)) == ["乙"]
    assert ItineraryDeclaration.objects.get().person.name == "丙"


def test_the_purge_task_purges_kept_declarations(db):
    from health.tasks import itinerary_purge

    declaration_submit(
        name="甲", id_number=factories.id_number(), region_codes=["110000"], declared_at=stays_purge_horizon() - timedelta(hours=1)
    )
    itinerary_purge.apply()
    assert not KeptDeclaration.objects.exists()
