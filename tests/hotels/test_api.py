"""The hotels API: each endpoint for its own hotel, another hotel's desk (404), another kind (403), bad input (400)."""
from datetime import timedelta

import pytest
from django.utils import timezone

from health.models import HealthStatus, Organisation, Person
from hotels.models import CheckIn, NucleicAcidTest
from tests import factories
from tests.hotels.conftest import register, status_of


def iso(moment):
    return timezone.localtime(moment).isoformat()


def checkin_body(*, checked_in_at, tests=(), origin="310104", accepted=False, person=None):
    return {
        "person": person or factories.person_payload("张三"),
        "checked_in_at": iso(checked_in_at),
        "origin_region_code": origin,
        "health_management_accepted": accepted,
        "nat_tests": [{"sampled_at": iso(at), "result": result, "source": source} for at, result, source in tests],
    }


def url(hotel):
    return f"/api/v1/hotels/{hotel.code}/checkins/"


# --- registering --------------------------------------------------------------------------------
def test_desk_registers_a_guest_with_a_certificate_and_gets_no_abnormality(client_for, desk, hotel):
    checked_in_at = timezone.now() - timedelta(hours=1)
    body = checkin_body(checked_in_at=checked_in_at, tests=[(checked_in_at - timedelta(days=7), "negative", "certificate")])
    response = client_for(desk).post(url(hotel), body, format="json")
    assert response.status_code == 201, response.json()
    answer = response.json()
    assert answer["status"]["status"] == "no_abnormality"
    assert answer["status"]["label"] == "未见异常"
    assert answer["status"]["reasons"] == ["G2", "hotel_stay"]
    assert answer["hotel_code"] == hotel.code
    assert answer["origin_region_code"] == "310104"
    assert answer["checked_out_at"] is None
    assert [(t["result"], t["source"]) for t in answer["nat_tests"]] == [("negative", "certificate")]
    # the plain ID number is never answered
    assert body["person"]["id_number"] not in response.content.decode()
    assert answer["person"]["id_masked"] == body["person"]["id_number"][:6] + "********" + body["person"]["id_number"][-4:]
    assert CheckIn.objects.get(pk=answer["id"]).created_by == desk


def test_certificate_one_minute_too_old_answers_popup(client_for, desk, hotel):
    checked_in_at = timezone.now() - timedelta(hours=1)
    body = checkin_body(checked_in_at=checked_in_at, tests=[(checked_in_at - timedelta(days=7, minutes=1), "negative", "certificate")])
    response = client_for(desk).post(url(hotel), body, format="json")
    assert response.status_code == 201
    assert response.json()["status"]["reasons"] == ["P", "hotel_requirements_unmet", "itinerary_unverifiable", "itinerary_not_declared"]


def test_admin_registers_at_any_hotel(client_for, admin_user, hotel):
    response = client_for(admin_user).post(url(hotel), checkin_body(checked_in_at=timezone.now()), format="json")
    assert response.status_code == 201


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"origin_region_code": "999999"}, "origin_region_code"),
        ({"checked_in_at": "2999-01-01T00:00:00+08:00"}, "checked_in_at"),
        ({"person": {"name": "张三", "id_number": "110105199001010000"}}, "person"),
        ({"nat_tests": [{"sampled_at": "2999-01-01T00:00:00+08:00", "result": "negative", "source": "certificate"}]}, "nat_tests"),
        ({"nat_tests": [{"sampled_at": "2022-01-01T00:00:00+08:00", "result": "unknown", "source": "certificate"}]}, "nat_tests"),
    ],
)
def test_bad_registration_answers_400_with_the_field_and_writes_nothing(client_for, desk, hotel, change, field):
    body = {**checkin_body(checked_in_at=timezone.now() - timedelta(hours=1)), **change}
    response = client_for(desk).post(url(hotel), body, format="json")
    assert response.status_code == 400
    assert list(response.json()) == [field]
    assert (Person.objects.count(), CheckIn.objects.count(), NucleicAcidTest.objects.count()) == (0, 0, 0)


def test_sampling_in_the_future_is_refused_by_field(client_for, desk, hotel):
    body = checkin_body(checked_in_at=timezone.now() - timedelta(hours=1), tests=[(timezone.now() + timedelta(hours=2), "negative", "hotel")])
    response = client_for(desk).post(url(hotel), body, format="json")
    assert response.status_code == 400
    assert list(response.json()) == ["nat_tests"]
    assert list(response.json()["nat_tests"]["0"]) == ["sampled_at"]
    assert CheckIn.objects.count() == 0


def test_a_known_number_with_another_name_answers_409_and_writes_nothing(client_for, desk, hotel):
    person = factories.person_payload("王五")
    assert client_for(desk).post(url(hotel), checkin_body(checked_in_at=timezone.now(), person=person), format="json").status_code == 201
    other_name = {"name": "赵六", "id_number": person["id_number"]}
    response = client_for(desk).post(url(hotel), checkin_body(checked_in_at=timezone.now(), person=other_name), format="json")
    assert response.status_code == 409
    assert CheckIn.objects.count() == 1


def test_a_second_open_stay_at_the_same_hotel_answers_400(client_for, desk, hotel):
    person = factories.person_payload("王五")
    client_for(desk).post(url(hotel), checkin_body(checked_in_at=timezone.now(), person=person), format="json")
    response = client_for(desk).post(url(hotel), checkin_body(checked_in_at=timezone.now(), person=person), format="json")
    assert response.status_code == 400
    assert list(response.json()) == ["person"]
    assert CheckIn.objects.count() == 1


# --- who may call --------------------------------------------------------------------------------
def test_another_hotels_desk_gets_404_everywhere_and_changes_nothing(client_for, other_desk, hotel):
    checkin = register(hotel, checked_in_at=timezone.now() - timedelta(hours=2))
    client = client_for(other_desk)
    assert client.post(url(hotel), checkin_body(checked_in_at=timezone.now()), format="json").status_code == 404
    assert client.get(url(hotel)).status_code == 404
    sample = {"sampled_at": iso(timezone.now()), "result": "positive", "source": "hotel"}
    assert client.post(f"/api/v1/checkins/{checkin.pk}/nat-tests/", sample, format="json").status_code == 404
    assert client.post(f"/api/v1/checkins/{checkin.pk}/checkout/", {}, format="json").status_code == 404
    assert CheckIn.objects.count() == 1
    assert CheckIn.objects.get(pk=checkin.pk).checked_out_at is None
    assert NucleicAcidTest.objects.count() == 0


def test_a_community_worker_gets_403(client_for, community_worker, hotel):
    checkin = register(hotel, checked_in_at=timezone.now() - timedelta(hours=2))
    client = client_for(community_worker)
    assert client.post(url(hotel), checkin_body(checked_in_at=timezone.now()), format="json").status_code == 403
    assert client.get(url(hotel)).status_code == 403
    assert client.post(f"/api/v1/checkins/{checkin.pk}/checkout/", {}, format="json").status_code == 403
    assert client.post(f"/api/v1/checkins/{checkin.pk}/nat-tests/", {}, format="json").status_code == 403
    assert CheckIn.objects.get(pk=checkin.pk).checked_out_at is None


def test_unknown_hotel_and_unknown_checkin_answer_404(client_for, desk, admin_user):
    assert client_for(admin_user).get("/api/v1/hotels/nope/checkins/").status_code == 404
    assert client_for(desk).post("/api/v1/checkins/999999/checkout/", {}, format="json").status_code == 404


def test_without_credentials_401(api, hotel):
    assert api.get(url(hotel)).status_code == 401


# --- listing current guests ----------------------------------------------------------------------
def test_current_guests_are_listed_with_their_status_and_paginated(client_for, desk, hotel, other_hotel):
    checked_in_at = timezone.now() - timedelta(hours=3)
    staying = register(hotel, checked_in_at=checked_in_at, name="在住", tests=[(checked_in_at - timedelta(days=1), "negative", "certificate")])
    left = register(hotel, checked_in_at=checked_in_at, name="已离店")
    register(other_hotel, checked_in_at=checked_in_at, name="别家")
    client_for(desk).post(f"/api/v1/checkins/{left.pk}/checkout/", {}, format="json")
    status_of(staying.person_id)

    response = client_for(desk).get(url(hotel), {"current": "true"})
    assert response.status_code == 200
    page = response.json()
    assert page["count"] == 1
    assert [(row["id"], row["person"]["name"], row["status"]["label"]) for row in page["results"]] == [
        (staying.pk, "在住", "未见异常")
    ]
    everyone = client_for(desk).get(url(hotel), {"limit": 1}).json()
    assert (everyone["count"], len(everyone["results"]), everyone["next"] is not None) == (2, 1, True)


# --- tests and checkout ---------------------------------------------------------------------------
def test_positive_result_answers_r3_and_flags_the_guest(client_for, desk, hotel):
    checked_in_at = timezone.now() - timedelta(hours=2)
    checkin = register(hotel, checked_in_at=checked_in_at, tests=[(checked_in_at - timedelta(days=1), "negative", "certificate")])
    sample = {"sampled_at": iso(timezone.now() - timedelta(minutes=1)), "result": "positive", "source": "hotel"}
    response = client_for(desk).post(f"/api/v1/checkins/{checkin.pk}/nat-tests/", sample, format="json")
    assert response.status_code == 201
    assert response.json()["status"]["reasons"] == ["R3", "nat_positive"]
    assert HealthStatus.objects.get(person_id=checkin.person_id).needs_review is True
    assert NucleicAcidTest.objects.get(pk=response.json()["id"]).recorded_by == desk


@pytest.mark.parametrize("ahead", [timedelta(minutes=3), timedelta(minutes=4, seconds=50)])
def test_positive_of_a_checkin_recorded_ahead_of_the_clock_answers_r3(client_for, desk, hotel, ahead):
    # given a desk whose clock runs a few minutes ahead of the server's (within the tolerated skew)
    person = factories.person_payload("周八")
    body = checkin_body(
        checked_in_at=timezone.now() + ahead,
        tests=[(timezone.now() - timedelta(hours=1), "positive", "certificate")],
        person=person,
    )

    # when it registers a guest with a positive certificate sampled an hour ago
    response = client_for(desk).post(url(hotel), body, format="json")

    # then the positive counts at once (R3 depends only on sampled_at), in the answer and the stored status
    assert response.status_code == 201, response.json()
    assert response.json()["status"]["reasons"] == ["R3", "nat_positive"]
    stored = HealthStatus.objects.get(person_id=CheckIn.objects.get(pk=response.json()["id"]).person_id)
    assert (stored.status, stored.reasons, stored.needs_review, stored.dirty) == ("popup", ["R3", "nat_positive"], True, False)

    # and a positive added later to that stay, still before its recorded check-in, counts the same way
    second = client_for(desk).post(url(hotel), checkin_body(checked_in_at=timezone.now() + ahead), format="json")
    assert second.status_code == 201
    sample = {"sampled_at": iso(timezone.now() - timedelta(minutes=1)), "result": "positive", "source": "hotel"}
    added = client_for(desk).post(f"/api/v1/checkins/{second.json()['id']}/nat-tests/", sample, format="json")
    assert added.status_code == 201, added.json()
    assert added.json()["status"]["reasons"] == ["R3", "nat_positive"]


def test_hotel_test_after_checkin_with_health_management_answers_no_abnormality(client_for, desk, hotel):
    checked_in_at = timezone.now() - timedelta(hours=2)
    checkin = register(hotel, checked_in_at=checked_in_at, accepted=True)
    sample = {"sampled_at": iso(checked_in_at + timedelta(minutes=20)), "result": "negative", "source": "hotel"}
    response = client_for(desk).post(f"/api/v1/checkins/{checkin.pk}/nat-tests/", sample, format="json")
    assert response.status_code == 201
    assert response.json()["status"]["reasons"] == ["G2", "hotel_stay"]


def test_future_sampling_on_a_stay_answers_400_and_writes_nothing(client_for, desk, hotel):
    checkin = register(hotel, checked_in_at=timezone.now() - timedelta(hours=2))
    sample = {"sampled_at": iso(timezone.now() + timedelta(hours=1)), "result": "negative", "source": "hotel"}
    response = client_for(desk).post(f"/api/v1/checkins/{checkin.pk}/nat-tests/", sample, format="json")
    assert response.status_code == 400
    assert list(response.json()) == ["sampled_at"]
    assert NucleicAcidTest.objects.count() == 0


def test_checkout_answers_the_recomputed_status(client_for, desk, hotel):
    checked_in_at = timezone.now() - timedelta(days=1)
    checkin = register(hotel, checked_in_at=checked_in_at, tests=[(checked_in_at - timedelta(days=1), "negative", "certificate")])
    response = client_for(desk).post(f"/api/v1/checkins/{checkin.pk}/checkout/", {}, format="json")
    assert response.status_code == 200
    answer = response.json()
    assert answer["checked_out_at"] is not None
    assert answer["status"]["reasons"] == ["P", "hotel_checkout_requirements_unmet", "itinerary_unverifiable", "itinerary_not_declared"]
    assert CheckIn.objects.get(pk=checkin.pk).checked_out_by == desk


def test_checkout_before_checkin_answers_400_and_changes_nothing(client_for, desk, hotel):
    checked_in_at = timezone.now() - timedelta(hours=5)
    checkin = register(hotel, checked_in_at=checked_in_at)
    before = status_of(checkin.person_id).inputs_version
    body = {"checked_out_at": iso(checked_in_at - timedelta(minutes=1))}
    response = client_for(desk).post(f"/api/v1/checkins/{checkin.pk}/checkout/", body, format="json")
    assert response.status_code == 400
    assert list(response.json()) == ["checked_out_at"]
    assert CheckIn.objects.get(pk=checkin.pk).checked_out_at is None
    assert HealthStatus.objects.get(person_id=checkin.person_id).inputs_version == before


def test_checkout_in_the_future_and_twice_answer_400(client_for, desk, hotel):
    checkin = register(hotel, checked_in_at=timezone.now() - timedelta(hours=5))
    client = client_for(desk)
    future = {"checked_out_at": iso(timezone.now() + timedelta(hours=1))}
    assert client.post(f"/api/v1/checkins/{checkin.pk}/checkout/", future, format="json").status_code == 400
    assert client.post(f"/api/v1/checkins/{checkin.pk}/checkout/", {}, format="json").status_code == 200
    first = CheckIn.objects.get(pk=checkin.pk).checked_out_at
    again = client.post(f"/api/v1/checkins/{checkin.pk}/checkout/", {}, format="json")
    assert again.status_code == 400
    assert "detail" in again.json()
    assert CheckIn.objects.get(pk=checkin.pk).checked_out_at == first


# --- hotels ---------------------------------------------------------------------------------------
def test_admin_creates_a_hotel(client_for, admin_user):
    response = client_for(admin_user).post("/api/v1/hotels/", {"code": "h-9", "name": "新酒店", "region_code": "110108"}, format="json")
    assert response.status_code == 201
    assert response.json()["region_code"] == "110108"
    hotel = Organisation.objects.get(kind="hotel", code="h-9")
    assert (hotel.name, hotel.region_id) == ("新酒店", "110108")


def test_hotel_creation_validates_and_is_for_administrators_only(client_for, admin_user, desk, hotel):
    duplicate = client_for(admin_user).post("/api/v1/hotels/", {"code": hotel.code, "name": "x", "region_code": "999999"}, format="json")
    assert duplicate.status_code == 400
    assert sorted(duplicate.json()) == ["code", "region_code"]  # every error answered at once
    dup_code = client_for(admin_user).post("/api/v1/hotels/", {"code": hotel.code, "name": "x", "region_code": "110108"}, format="json")
    assert (dup_code.status_code, list(dup_code.json())) == (400, ["code"])
    refused = client_for(desk).post("/api/v1/hotels/", {"code": "h-10", "name": "x", "region_code": "110108"}, format="json")
    assert refused.status_code == 403
    assert Organisation.objects.filter(kind="hotel").count() == 1
