"""The one ID-number validator as each entry point applies it: the public query (fast path and DRF),
a staff write, the platform's API feed and the department feed file."""

import csv
from datetime import timedelta

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from health.identity import BIRTH_DATE, id_number_digest
from health.models import ItineraryStay, Person

from .helpers import STRANGER_REASONS, ago
from .test_identity import with_check

QUERY = "/api/v1/status/query/"
DAXING_1995 = with_check("11011519950101001")  # refused before: 大兴区 was coded 110115 only from 2001
HONG_KONG = with_check("81000019900101002")
TAIWAN = with_check("83000019851231003")
BORN_2030 = with_check("11010520300101004")
BORN_9999 = with_check("11010599990101005")


@pytest.mark.parametrize("number", [DAXING_1995, HONG_KONG, TAIWAN])
@pytest.mark.parametrize("content_type", ["application/json", "application/json; charset=latin-1"])
def test_the_public_query_accepts_numbers_refused_before(api, db, number, content_type):
    # (the second content type is not the fast path's: the DRF view answers)
    response = api.generic("POST", QUERY, f'{{"name": "张三", "id_number": "{number}"}}', content_type)
    assert response.status_code == 200
    assert response.json()["reasons"] == STRANGER_REASONS


@pytest.mark.parametrize("number", [BORN_2030, BORN_9999])
@pytest.mark.parametrize("content_type", ["application/json", "application/json; charset=latin-1"])
def test_the_public_query_refuses_a_birth_date_in_the_future(api, db, number, content_type):
    response = api.generic("POST", QUERY, f'{{"name": "张三", "id_number": "{number}"}}', content_type)
    assert response.status_code == 400
    assert response.json() == {"id_number": [str(BIRTH_DATE)]}


def test_a_staff_write_accepts_a_residence_permit_and_refuses_a_future_birth(client_for, health_user):
    client = client_for(health_user)
    body = {"kind": "close_contact", "designated_at": ago(hours=1)}
    refused = client.post("/api/v1/designations/", {**body, "person": {"name": "李四", "id_number": BORN_2030}}, format="json")
    assert refused.status_code == 400
    assert refused.json() == {"person": {"id_number": [str(BIRTH_DATE)]}}
    assert not Person.objects.exists()
    accepted = client.post("/api/v1/designations/", {**body, "person": {"name": "李四", "id_number": TAIWAN}}, format="json")
    assert accepted.status_code == 201
    assert Person.objects.get().id_digest == id_number_digest(TAIWAN)


def test_the_platform_feed_accepts_a_daxing_1995_number_and_refuses_a_future_birth(client_for, platform_user):
    client = client_for(platform_user)

    def stay(number):
        return {"person": {"name": "王五", "id_number": number}, "city_code": "110000", "arrived_at": ago(days=2), "left_at": None}

    refused = client.post("/api/v1/itinerary/stays/", {"stays": [stay(DAXING_1995), stay(BORN_9999)]}, format="json")
    assert refused.status_code == 400
    assert refused.json() == {"stays": {"1": {"person": {"id_number": [str(BIRTH_DATE)]}}}}
    assert not ItineraryStay.objects.exists()
    accepted = client.post("/api/v1/itinerary/stays/", {"stays": [stay(DAXING_1995)]}, format="json")
    assert accepted.status_code == 201
    assert Person.objects.get().id_digest == id_number_digest(DAXING_1995)


def test_the_feed_file_accepts_permits_and_refuses_a_future_birth_by_line(db, tmp_path, capsys):
    arrived = (timezone.now() - timedelta(days=2)).isoformat()
    path = tmp_path / "stays.csv"

    def write(rows):
        with path.open("w", newline="", encoding="utf-8") as output:
            writer = csv.writer(output)
            writer.writerow(["name", "id_number", "city_code", "arrived_at", "left_at"])
            writer.writerows(rows)

    write([["张三", HONG_KONG, "110105", arrived, ""], ["李四", BORN_2030, "110105", arrived, ""]])
    with pytest.raises(CommandError):
        call_command("import_feed", "stays", str(path))
    err = capsys.readouterr().err
    assert f"第 3 行 id_number: {BIRTH_DATE}" in err and BORN_2030 not in err
    assert not Person.objects.exists()

    write([["张三", HONG_KONG, "110105", arrived, ""], ["李四", DAXING_1995, "110105", arrived, ""], ["赵六", TAIWAN, "110105", arrived, ""]])
    call_command("import_feed", "stays", str(path))
    assert set(Person.objects.values_list("id_digest", flat=True)) == {id_number_digest(n) for n in (HONG_KONG, DAXING_1995, TAIWAN)}
