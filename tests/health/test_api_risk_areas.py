"""Risk areas over the API: who may publish them, validation, and the fan-out to persons with a place there."""
import pytest
from django.test import TestCase

from health.identity import id_number_digest
from health.models import HealthStatus, Person, RiskArea
from health.services.itinerary import StayInput, stays_ingest
from tests import factories

from .helpers import ago, ahead, moment

URL = "/api/v1/risk-areas/"


def stay_in(region: str, name: str = "张三") -> Person:
    payload = factories.person_payload(name)
    with TestCase.captureOnCommitCallbacks(execute=True):
        stays_ingest(actor=None, stays=[StayInput(name, payload["id_number"], region, moment(ago(days=3)), moment(ago(days=1)))])
    return Person.objects.get(id_digest=id_number_digest(payload["id_number"]))


def test_health_publishes_a_risk_area_and_persons_there_are_recomputed(client_for, health_user):
    # given a person who stayed in Shijiazhuang (130100) and one who stayed in Tianjin
    exposed = stay_in("130100")
    elsewhere = stay_in("120000", "李四")
    elsewhere_version = HealthStatus.objects.get(person=elsewhere).inputs_version
    # when the health department declares a district of Shijiazhuang high-risk
    response = client_for(health_user).post(
        URL, {"region_code": "130102", "level": "high", "effective_from": ago(days=5)}, format="json"
    )
    # then the area is stored, and only the exposed person's status changed for it
    assert response.status_code == 201
    body = response.json()
    assert body["region_code"] == "130102"
    assert body["level"] == "high"
    assert body["effective_to"] is None
    risk_area = RiskArea.objects.get(pk=body["id"])
    assert risk_area.organisation == factories.department("health")
    assert risk_area.created_by == health_user
    assert HealthStatus.objects.get(person=exposed).reasons == ["P", "itinerary_risky_area", "itinerary_not_declared"]
    assert HealthStatus.objects.get(person=elsewhere).reasons == ["P", "itinerary_not_declared"]
    assert HealthStatus.objects.get(person=elsewhere).inputs_version == elsewhere_version


def test_patching_the_end_lifts_the_risk_and_recomputes(client_for, admin_user):
    # given a person who stayed in a city declared risky until now
    person = stay_in("130100")
    client = client_for(admin_user)
    created = client.post(URL, {"region_code": "130100", "level": "medium", "effective_from": ago(days=30)}, format="json")
    assert HealthStatus.objects.get(person=person).reasons[1] == "itinerary_risky_area"
    # when the designation ended before the stay began
    response = client.patch(f"{URL}{created.json()['id']}/", {"effective_to": ago(days=20)}, format="json")
    # then the end is stored and the stay is no longer risky
    assert response.status_code == 200
    assert moment(response.json()["effective_to"]) == RiskArea.objects.get().effective_to
    assert HealthStatus.objects.get(person=person).reasons == ["P", "itinerary_not_declared"]


@pytest.mark.parametrize(
    "body, field",
    [
        ({"region_code": "999999", "level": "high", "effective_from": "2022-05-01T00:00:00+08:00"}, "region_code"),
        ({"region_code": "1301", "level": "high", "effective_from": "2022-05-01T00:00:00+08:00"}, "region_code"),
        ({"region_code": "130100", "level": "extreme", "effective_from": "2022-05-01T00:00:00+08:00"}, "level"),
        ({"region_code": "130100", "level": "high", "effective_from": "yesterday"}, "effective_from"),
        ({"region_code": "130100", "level": "high"}, "effective_from"),
        (
            {"region_code": "130100", "level": "high", "effective_from": "2022-05-02T00:00:00+08:00", "effective_to": "2022-05-01T00:00:00+08:00"},
            "effective_to",
        ),
        (
            {"region_code": "130100", "level": "high", "effective_from": "2022-05-01T00:00:00+08:00", "effective_to": "2022-05-01T00:00:00+08:00"},
            "effective_to",
        ),
        ({"region_code": 130100, "level": ["high"], "effective_from": "2022-05-01T00:00:00+08:00"}, "level"),
    ],
)
def test_bad_risk_area_is_refused_and_nothing_written(client_for, health_user, body, field):
    response = client_for(health_user).post(URL, body, format="json")
    assert response.status_code == 400
    assert field in response.json()
    assert RiskArea.objects.count() == 0


def test_planned_times_may_lie_ahead(client_for, health_user):
    response = client_for(health_user).post(
        URL, {"region_code": "130100", "level": "high", "effective_from": ahead(hours=2), "effective_to": ahead(days=7)}, format="json"
    )
    assert response.status_code == 201


def test_patch_with_an_end_before_the_start_is_refused(client_for, health_user):
    client = client_for(health_user)
    created = client.post(URL, {"region_code": "130100", "level": "high", "effective_from": ago(days=2)}, format="json").json()
    response = client.patch(f"{URL}{created['id']}/", {"effective_to": ago(days=3)}, format="json")
    assert response.status_code == 400
    assert list(response.json()) == ["effective_to"]
    assert RiskArea.objects.get().effective_to is None


def test_risk_areas_need_credentials(api, db):
    response = api.post(URL, {"region_code": "130100", "level": "high", "effective_from": ago(days=1)}, format="json")
    assert response.status_code == 401
    assert RiskArea.objects.count() == 0


def test_other_kinds_of_staff_may_not_publish_risk_areas(client_for, hotel_user, platform_user):
    body = {"region_code": "130100", "level": "high", "effective_from": ago(days=1)}
    assert client_for(hotel_user).post(URL, body, format="json").status_code == 403
    assert client_for(platform_user).post(URL, body, format="json").status_code == 403
    assert RiskArea.objects.count() == 0


def test_other_kinds_may_not_patch_and_unknown_ids_are_404(client_for, health_user, hotel_user):
    created = client_for(health_user).post(
        URL, {"region_code": "130100", "level": "high", "effective_from": ago(days=2)}, format="json"
    ).json()
    assert client_for(hotel_user).patch(f"{URL}{created['id']}/", {"effective_to": ago(days=1)}, format="json").status_code == 403
    assert client_for(health_user).patch(f"{URL}{created['id'] + 1000}/", {"effective_to": ago(days=1)}, format="json").status_code == 404
    assert RiskArea.objects.get().effective_to is None
