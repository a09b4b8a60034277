"""The platform's itinerary feed: all or nothing, errors by row, idempotent retries, bounded size."""
import time

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from health.identity import id_number_digest
from health.models import HealthStatus, ItineraryStay, Person
from tests import factories

from .helpers import ago, ahead, moment

URL = "/api/v1/itinerary/stays/"


def row(person=None, city_code="110000", arrived_at=None, left_at=None, **extra):
    return {
        "person": person or factories.person_payload(),
        "city_code": city_code,
        "arrived_at": arrived_at or ago(days=3),
        "left_at": left_at if left_at is not None else ago(days=1),
        **extra,
    }


def test_the_platform_sends_stays_and_the_persons_are_created_and_recomputed(client_for, platform_user):
    first, second = factories.person_payload("张三"), factories.person_payload("李四")
    # when the platform sends three stays of two persons, one still going on
    response = client_for(platform_user).post(
        URL,
        {"stays": [row(first), row(first, "130100", ago(days=6), ago(days=4)), {**row(second), "left_at": None}]},
        format="json",
    )
    # then all are stored under the persons, whose statuses are computed
    assert response.status_code == 201
    assert response.json() == {"accepted": 3}
    person = Person.objects.get(id_digest=id_number_digest(first["id_number"]))
    assert sorted(person.stays.values_list("region_id", flat=True)) == ["110000", "130100"]
    assert ItineraryStay.objects.get(person__name="李四").left_at is None
    assert set(ItineraryStay.objects.values_list("source", flat=True)) == {"platform"}
    status = HealthStatus.objects.get(person=person)
    assert (status.status, status.reasons, status.dirty) == ("popup", ["P", "itinerary_not_declared"], False)


def test_a_retried_feed_updates_the_stored_stays_and_never_duplicates(client_for, platform_user):
    client = client_for(platform_user)
    person = factories.person_payload()
    arrived = ago(days=3)
    # given a stay still going on
    client.post(URL, {"stays": [{**row(person, arrived_at=arrived), "left_at": None}]}, format="json")
    # when the feed is sent again with the departure, twice
    feed = {"stays": [row(person, arrived_at=arrived, left_at=ago(days=1))]}
    first = client.post(URL, feed, format="json")
    second = client.post(URL, feed, format="json")
    # then there is one stay, with its departure
    assert first.status_code == second.status_code == 201
    assert ItineraryStay.objects.count() == 1
    assert ItineraryStay.objects.get().left_at == moment(feed["stays"][0]["left_at"])
    assert Person.objects.count() == 1


def test_a_stay_repeated_within_one_feed_is_stored_once(client_for, platform_user):
    person = factories.person_payload()
    arrived = ago(days=3)
    response = client_for(platform_user).post(
        URL, {"stays": [row(person, arrived_at=arrived, left_at=ago(days=2)), row(person, arrived_at=arrived, left_at=ago(days=1))]}, format="json"
    )
    assert response.status_code == 201
    assert ItineraryStay.objects.count() == 1


@pytest.mark.parametrize(
    "bad, field",
    [
        ({"person": {"name": "张三", "id_number": "110105199001010000"}}, "person"),
        ({"city_code": "999999"}, "city_code"),
        ({"city_code": "11000A"}, "city_code"),
        ({"arrived_at": ahead(days=1)}, "arrived_at"),
        ({"left_at": ahead(hours=1)}, "left_at"),
        ({"arrived_at": ago(days=1), "left_at": ago(days=2)}, "left_at"),
        ({"arrived_at": True}, "arrived_at"),
    ],
)
def test_any_invalid_row_refuses_the_whole_feed_with_errors_by_row(client_for, platform_user, bad, field):
    # given a feed whose third row is invalid
    stays = [row(), row(), {**row(), **bad}, row()]
    # when it is sent
    response = client_for(platform_user).post(URL, {"stays": stays}, format="json")
    # then 400 names the row and field, and nothing at all is written
    assert response.status_code == 400
    assert list(response.json()) == ["stays"]
    assert list(response.json()["stays"]) == ["2"]
    assert list(response.json()["stays"]["2"]) == [field]
    assert ItineraryStay.objects.count() == 0
    assert Person.objects.count() == 0


def test_a_name_conflict_on_any_row_is_409_and_nothing_written(client_for, platform_user):
    client = client_for(platform_user)
    known = factories.person_payload("张三")
    client.post(URL, {"stays": [row(known)]}, format="json")
    # when a feed names the known number differently on its second row
    response = client.post(URL, {"stays": [row(), row({**known, "name": "李四"}, "120000")]}, format="json")
    # then 409 names the row, and neither the new person nor any stay is written
    assert response.status_code == 409
    assert response.json() == {"stays": {"1": {"person": ["该身份证号码已登记为另一姓名。"]}}}
    assert ItineraryStay.objects.count() == 1
    assert Person.objects.count() == 1


def test_two_names_for_one_new_number_in_one_feed_is_409(client_for, platform_user):
    number = factories.id_number()
    response = client_for(platform_user).post(
        URL, {"stays": [row({"name": "张三", "id_number": number}), row({"name": "李四", "id_number": number})]}, format="json"
    )
    assert response.status_code == 409
    assert Person.objects.count() == 0


@pytest.mark.parametrize("stays", [[], "nope", None, [[]]])
def test_an_empty_or_malformed_list_is_400(client_for, platform_user, stays):
    response = client_for(platform_user).post(URL, {"stays": stays}, format="json")
    assert response.status_code == 400
    assert "stays" in response.json()


def test_malformed_json_is_400(client_for, platform_user):
    response = client_for(platform_user).post(URL, data="{stays: [", content_type="application/json")
    assert response.status_code == 400
    assert ItineraryStay.objects.count() == 0


def test_a_feed_over_ten_thousand_rows_is_refused_before_validating_rows(client_for, platform_user):
    one = row()
    response = client_for(platform_user).post(URL, {"stays": [one] * 10_001}, format="json")
    assert response.status_code == 400
    assert len(response.json()["stays"]) == 1
    assert "10000" in response.json()["stays"][0]
    assert ItineraryStay.objects.count() == 0


def test_ten_thousand_rows_are_accepted_with_a_bounded_number_of_queries(client_for, platform_user):
    # given a full feed of 10,000 stays of 5,000 persons
    persons = [factories.person_payload(f"人{i}", serial=i % 1000, region=f"1101{i // 1000:02d}") for i in range(5000)]
    stays = [row(persons[i % 5000], "110000" if i < 5000 else "120000") for i in range(10_000)]
    # (a plain client: the recomputation of 5,000 statuses after commit is the pipeline's, measured elsewhere)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {platform_user.auth_token.key}")
    # when it is sent
    started = time.monotonic()
    with CaptureQueriesContext(connection) as queries:
        response = client.post(URL, {"stays": stays}, format="json")
    elapsed = time.monotonic() - started
    # then all are stored, with a number of queries that does not grow per row
    assert response.status_code == 201, response.content[:500]
    assert response.json() == {"accepted": 10_000}
    assert ItineraryStay.objects.count() == 10_000
    assert Person.objects.count() == 5000
    sql = [q["sql"] for q in queries.captured_queries]
    # batches of at most 1000 rows (fewer on SQLite, whose statements take at most 999 parameters)
    assert len([q for q in sql if q.startswith('INSERT INTO "health_itinerarystay"')]) <= 61
    assert len([q for q in sql if q.startswith('INSERT INTO "health_person"')]) <= 10
    assert len([q for q in sql if q.startswith('SELECT') and 'FROM "health_person"' in q and "id_digest" in q]) == 2
    print(f"10,000 stays: {elapsed:.1f}s, {len(sql)} queries")
    assert elapsed < 60


def test_only_the_platform_and_administrators_send_stays(api, client_for, hotel_user, health_user, admin_user):
    feed = {"stays": [row()]}
    assert api.post(URL, feed, format="json").status_code == 401
    assert client_for(hotel_user).post(URL, feed, format="json").status_code == 403
    assert client_for(health_user).post(URL, feed, format="json").status_code == 403
    assert ItineraryStay.objects.count() == 0
    assert client_for(admin_user).post(URL, feed, format="json").status_code == 201
