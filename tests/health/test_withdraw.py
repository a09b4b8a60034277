"""Withdrawal (撤销) of risk areas and designations: unlike an end (解除), a withdrawn one never existed for the rules.

It is kept for the record with who withdrew it, when and why, and everyone it reached is recomputed.
"""
from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.test import Client, TestCase

from health.identity import id_number_digest
from health.models import Designation, HealthStatus, Person, Region, RiskArea, StatusEvent
from health.services.designations import designation_clear, designation_create, designation_withdraw
from health.services.itinerary import StayInput, stays_ingest
from health.services.risk_areas import risk_area_create, risk_area_update, risk_area_withdraw
from tests import factories

from .helpers import ago, moment

RISK_AREAS = "/api/v1/risk-areas/"
DESIGNATIONS = "/api/v1/designations/"
UNDECLARED = ["P", "itinerary_not_declared"]


def stay_in(region: str, name: str = "张三", *, arrived: str | None = None, left: str | None = None) -> Person:
    payload = factories.person_payload(name)
    with TestCase.captureOnCommitCallbacks(execute=True):
        stays_ingest(
            actor=None,
            stays=[StayInput(name, payload["id_number"], region, moment(arrived or ago(days=3)), moment(left or ago(days=1)))],
        )
    return Person.objects.get(id_digest=id_number_digest(payload["id_number"]))


def status_of(person: Person) -> tuple[str, list[str]]:
    row = HealthStatus.objects.get(person=person)
    return row.status, row.reasons


def one_second_risk(client, region: str) -> dict:
    """A designation ended one second after it began, two days ago: inside the stay of `stay_in`."""
    start = moment(ago(days=2)).replace(microsecond=0)
    response = client.post(
        RISK_AREAS,
        {
            "region_code": region,
            "level": "high",
            "effective_from": start.isoformat(),
            "effective_to": (start + timedelta(seconds=1)).isoformat(),
        },
        format="json",
    )
    assert response.status_code == 201
    return response.json()


# --- risk areas ------------------------------------------------------------------------------------
def test_a_risk_area_ended_after_one_second_still_makes_stays_risky_but_withdrawn_it_does_not(client_for, health_user):
    # given two persons who stayed in Shijiazhuang over a designation that lasted one second
    exposed = stay_in("130100")
    also = stay_in("130102", "李四")
    client = client_for(health_user)
    created = one_second_risk(client, "130100")
    # then ending it does not help: the stays overlapped it
    assert status_of(exposed) == ("popup", ["P", "itinerary_risky_area", "itinerary_not_declared"])
    assert status_of(also) == ("popup", ["P", "itinerary_risky_area", "itinerary_not_declared"])
    # when the health authority withdraws it
    response = client.post(f"{RISK_AREAS}{created['id']}/withdraw/", {"reason": "误发布：区划代码填错"}, format="json")
    # then both are back to their true status, and the record is kept with who, when and why
    assert response.status_code == 200
    body = response.json()
    assert body["withdrawal_reason"] == "误发布：区划代码填错"
    assert body["withdrawn_at"] is not None
    assert status_of(exposed) == ("popup", UNDECLARED)
    assert status_of(also) == ("popup", UNDECLARED)
    kept = RiskArea.objects.get(pk=created["id"])
    assert (kept.withdrawn_by, kept.withdrawal_reason) == (health_user, "误发布：区划代码填错")
    assert moment(body["withdrawn_at"]) == kept.withdrawn_at
    assert kept.effective_to is not None  # the record is as it was, withdrawn
    assert kept.history.count() == 2  # created, withdrawn
    assert StatusEvent.objects.filter(person=exposed, cause="risk_area_withdrawn").count() == 1


def test_a_withdrawn_risk_area_no_longer_bounds_valid_until(client_for, admin_user):
    # given a stay in a city with a risk in force until tomorrow
    person = stay_in("130100", arrived=ago(days=3), left=ago(days=2))
    client = client_for(admin_user)
    created = client.post(
        RISK_AREAS, {"region_code": "130100", "level": "medium", "effective_from": ago(days=1)}, format="json"
    ).json()
    assert status_of(person)[1] == ["P", "itinerary_risky_area", "itinerary_not_declared"]
    # when it is withdrawn
    client.post(f"{RISK_AREAS}{created['id']}/withdraw/", {"reason": "误发布"}, format="json")
    # then the status is what it is with no risk at all, valid until the stay leaves the window
    row = HealthStatus.objects.get(person=person)
    assert row.reasons == UNDECLARED
    left = moment(ago(days=2))
    assert abs(row.valid_until - (left + timedelta(days=14))) < timedelta(minutes=1)


@pytest.mark.parametrize(
    "body, field",
    [({}, "reason"), ({"reason": ""}, "reason"), ({"reason": "   "}, "reason"), ({"reason": ["误"]}, "reason"),
     ({"reason": "长" * 501}, "reason")],
)
def test_a_withdrawal_without_a_reason_is_refused_and_changes_nothing(client_for, health_user, body, field):
    person = stay_in("130100")
    client = client_for(health_user)
    created = one_second_risk(client, "130100")
    response = client.post(f"{RISK_AREAS}{created['id']}/withdraw/", body, format="json")
    assert response.status_code == 400
    assert field in response.json()
    assert RiskArea.objects.get(pk=created["id"]).withdrawn_at is None
    assert status_of(person)[1] == ["P", "itinerary_risky_area", "itinerary_not_declared"]


def test_withdrawing_twice_is_refused_and_the_first_withdrawal_stays(client_for, health_user, admin_user):
    client = client_for(health_user)
    created = one_second_risk(client, "130100")
    first = client.post(f"{RISK_AREAS}{created['id']}/withdraw/", {"reason": "误发布"}, format="json")
    again = client_for(admin_user).post(f"{RISK_AREAS}{created['id']}/withdraw/", {"reason": "再次"}, format="json")
    assert first.status_code == 200
    assert again.status_code == 400
    kept = RiskArea.objects.get(pk=created["id"])
    assert (kept.withdrawal_reason, kept.withdrawn_by) == ("误发布", health_user)


def test_a_withdrawn_risk_area_is_not_changed_any_more(client_for, health_user):
    client = client_for(health_user)
    created = one_second_risk(client, "130100")
    client.post(f"{RISK_AREAS}{created['id']}/withdraw/", {"reason": "误发布"}, format="json")
    response = client.patch(f"{RISK_AREAS}{created['id']}/", {"effective_to": None}, format="json")
    assert response.status_code == 400
    assert RiskArea.objects.get(pk=created["id"]).effective_to is not None


def test_withdrawing_an_unknown_risk_area_is_404_and_other_kinds_403(client_for, health_user, hotel_user):
    created = one_second_risk(client_for(health_user), "130100")
    assert client_for(health_user).post(f"{RISK_AREAS}999999/withdraw/", {"reason": "误"}, format="json").status_code == 404
    assert client_for(hotel_user).post(f"{RISK_AREAS}{created['id']}/withdraw/", {"reason": "误"}, format="json").status_code == 403
    assert RiskArea.objects.get(pk=created["id"]).withdrawn_at is None


def test_the_service_refuses_a_second_withdrawal_and_changes_on_a_withdrawn_one(db, committed):
    region = Region.objects.get(code="130100")
    with committed():
        risk = risk_area_create(actor=None, region=region, level="high", effective_from=moment(ago(days=2)))
        risk_area_withdraw(actor=None, risk_area=risk, reason="误发布")
    with pytest.raises(ValidationError):
        risk_area_withdraw(actor=None, risk_area=risk, reason="again")
    with pytest.raises(ValidationError):
        risk_area_update(actor=None, risk_area=risk, effective_to=moment(ago(days=1)))
    assert RiskArea.objects.get(pk=risk.pk).effective_to is None


# --- designations of persons -----------------------------------------------------------------------
def test_a_withdrawn_designation_never_existed_for_the_rules(client_for, health_user):
    # given a person with a stay, designated a close contact in error
    person = stay_in("110105")
    client = client_for(health_user)
    with TestCase.captureOnCommitCallbacks(execute=True):
        designation = designation_create(actor=health_user, person=person, kind="close_contact", designated_at=moment(ago(days=2)))
    assert status_of(person) == ("centralized_observation", ["R1", "designation_close_contact"])
    # when it is withdrawn over the API
    response = client.post(f"{DESIGNATIONS}{designation.pk}/withdraw/", {"reason": "认定对象有误"}, format="json")
    # then the person is back to the status of their other facts, and the record is kept
    assert response.status_code == 200
    assert response.json()["withdrawal_reason"] == "认定对象有误"
    assert status_of(person) == ("popup", UNDECLARED)
    kept = Designation.objects.get(pk=designation.pk)
    assert (kept.withdrawn_by, kept.withdrawal_reason, kept.cleared_at) == (health_user, "认定对象有误", None)
    assert StatusEvent.objects.filter(person=person, cause="designation_withdrawn").count() == 1


def test_a_cleared_designation_still_counts_where_a_withdrawn_one_does_not(db, committed):
    # given two persons with a stay and a designation: one cleared, the other withdrawn
    kept = stay_in("110105")
    withdrawn = stay_in("110105", "李四")
    with committed():
        first = designation_create(actor=None, person=kept, kind="confirmed", designated_at=moment(ago(hours=3)))
        second = designation_create(actor=None, person=withdrawn, kind="confirmed", designated_at=moment(ago(hours=3)))
        designation_clear(actor=None, designation=first, cleared_at=moment(ago(hours=2)))
        designation_withdraw(actor=None, designation=second, reason="误录")
    # then both are out of R1; a withdrawn one is neither cleared nor withdrawn again
    assert status_of(kept)[0] == "popup"
    assert status_of(withdrawn)[0] == "popup"
    with pytest.raises(ValidationError):
        designation_clear(actor=None, designation=second)
    with pytest.raises(ValidationError):
        designation_withdraw(actor=None, designation=second, reason="again")
    assert Designation.objects.get(pk=second.pk).cleared_at is None


def test_designation_withdrawal_answers_400_404_403(client_for, health_user, hotel_user, db):
    person = stay_in("110105")
    with TestCase.captureOnCommitCallbacks(execute=True):
        designation = designation_create(actor=None, person=person, kind="suspected", designated_at=moment(ago(days=1)))
    client = client_for(health_user)
    assert client.post(f"{DESIGNATIONS}{designation.pk}/withdraw/", {}, format="json").status_code == 400
    assert client.post(f"{DESIGNATIONS}999999/withdraw/", {"reason": "误"}, format="json").status_code == 404
    assert client_for(hotel_user).post(f"{DESIGNATIONS}{designation.pk}/withdraw/", {"reason": "误"}, format="json").status_code == 403
    assert Designation.objects.get(pk=designation.pk).withdrawn_at is None
    assert status_of(person)[0] == "centralized_observation"
    assert client.post(f"{DESIGNATIONS}{designation.pk}/withdraw/", {"reason": "误"}, format="json").status_code == 200
    assert client.post(f"{DESIGNATIONS}{designation.pk}/withdraw/", {"reason": "误"}, format="json").status_code == 400


# --- the admin -------------------------------------------------------------------------------------
def browser(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def admin_post(client, url, data):
    with TestCase.captureOnCommitCallbacks(execute=True):
        return client.post(url, data)


def test_the_admin_withdraws_risk_areas_after_a_confirmation_with_a_reason(client_for, health_user):
    person = stay_in("130100")
    created = one_second_risk(client_for(health_user), "130100")
    client = browser(health_user)
    url = "/admin/health/riskarea/"
    action = {"action": "withdraw_selected", "_selected_action": [created["id"]]}
    # when the action is chosen: a confirmation page asks for the reason, nothing changes yet
    page = admin_post(client, url, action)
    assert page.status_code == 200
    assert "确认撤销" in page.content.decode()
    assert RiskArea.objects.get(pk=created["id"]).withdrawn_at is None
    # when confirmed without a reason: the page again, with the error, nothing changed
    empty = admin_post(client, url, {**action, "confirm": "yes", "reason": " "})
    assert empty.status_code == 200
    assert list(empty.context_data["form"].errors) == ["reason"]
    assert 'class="errorlist' in empty.content.decode()
    assert RiskArea.objects.get(pk=created["id"]).withdrawn_at is None
    assert status_of(person)[1] == ["P", "itinerary_risky_area", "itinerary_not_declared"]
    # when confirmed with a reason: withdrawn, the person recomputed
    done = admin_post(client, url, {**action, "confirm": "yes", "reason": "误发布"})
    assert done.status_code == 302
    kept = RiskArea.objects.get(pk=created["id"])
    assert (kept.withdrawn_by, kept.withdrawal_reason) == (health_user, "误发布")
    assert status_of(person) == ("popup", UNDECLARED)
    # and the withdrawn record is shown, never changed again
    assert client.get(f"{url}{kept.pk}/change/").status_code == 200
    assert "误发布" in client.get(f"{url}{kept.pk}/change/").content.decode()
    changed = admin_post(client, f"{url}{kept.pk}/change/", {"level": "medium", "effective_from": "2022-01-01 00:00:00"})
    assert changed.status_code == 403
    assert RiskArea.objects.get(pk=kept.pk).level == "high"
    assert client.get(f"{url}?withdrawn=yes").status_code == 200


def test_the_admin_withdraws_a_designation_and_the_person_page_says_so(admin_user):
    person = stay_in("110105")
    with TestCase.captureOnCommitCallbacks(execute=True):
        designation = designation_create(actor=None, person=person, kind="suspected", designated_at=moment(ago(days=1)))
    client = browser(admin_user)
    done = admin_post(
        client,
        "/admin/health/designation/",
        {"action": "withdraw_selected", "_selected_action": [designation.pk], "confirm": "yes", "reason": "认定对象有误"},
    )
    assert done.status_code == 302
    assert Designation.objects.get(pk=designation.pk).withdrawal_reason == "认定对象有误"
    assert status_of(person) == ("popup", UNDECLARED)
    page = client.get(f"/admin/health/person/{person.pk}/change/").content.decode()
    assert "认定对象有误" in page
