"""Designations over the API: recording one sets 集中观察; clearing it lifts that; who may, and bad input."""
from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from health.identity import id_number_digest
from health.models import Designation, HealthStatus, Person
from health.services.designations import designation_create
from tests import factories

from .helpers import ago, ahead, moment

URL = "/api/v1/designations/"


def test_health_records_a_designation_and_the_person_is_under_centralized_observation(client_for, health_user):
    payload = factories.person_payload("张三")
    # when the health department designates a new person a close contact
    response = client_for(health_user).post(
        URL, {"person": payload, "kind": "close_contact", "designated_at": ago(hours=2)}, format="json"
    )
    # then the designation and the person exist, and the status is already recomputed
    assert response.status_code == 201
    body = response.json()
    person = Person.objects.get(id_digest=id_number_digest(payload["id_number"]))
    assert body["person"] == {"id": person.pk, "name": "张三", "id_masked": person.id_masked}
    assert body["kind"] == "close_contact"
    assert body["cleared_at"] is None
    assert payload["id_number"] not in response.content.decode()
    status = HealthStatus.objects.get(person=person)
    assert (status.status, status.reasons) == ("centralized_observation", ["R1", "designation_close_contact"])


def test_clearing_a_designation_ends_the_observation(client_for, admin_user):
    client = client_for(admin_user)
    payload = factories.person_payload()
    created = client.post(URL, {"person": payload, "kind": "suspected", "designated_at": ago(days=2)}, format="json").json()
    # when it is cleared (at now, by default)
    response = client.post(f"{URL}{created['id']}/clear/", {}, format="json")
    # then it is cleared and the person is no longer observed
    assert response.status_code == 200
    assert response.json()["cleared_at"] is not None
    assert Designation.objects.get().cleared_at is not None
    status = HealthStatus.objects.get(person_id=created["person"]["id"])
    assert status.status == "popup"


def test_clearing_twice_without_a_time_answers_the_same_record(client_for, health_user):
    client = client_for(health_user)
    created = client.post(
        URL, {"person": factories.person_payload(), "kind": "confirmed", "designated_at": ago(days=2)}, format="json"
    ).json()
    first = client.post(f"{URL}{created['id']}/clear/", {"cleared_at": ago(hours=1)}, format="json")
    again = client.post(f"{URL}{created['id']}/clear/", {}, format="json")
    moved = client.post(f"{URL}{created['id']}/clear/", {"cleared_at": ago(hours=3)}, format="json")
    assert first.status_code == again.status_code == 200
    assert again.json()["cleared_at"] == first.json()["cleared_at"]
    assert moved.status_code == 400
    assert moment(first.json()["cleared_at"]) == Designation.objects.get().cleared_at


def test_a_planned_clearance_may_lie_ahead(client_for, health_user):
    response = client_for(health_user).post(
        URL,
        {"person": factories.person_payload(), "kind": "close_contact", "designated_at": ago(days=1), "cleared_at": ahead(days=13)},
        format="json",
    )
    assert response.status_code == 201
    assert HealthStatus.objects.get().status == "centralized_observation"


@pytest.mark.parametrize(
    "change, field",
    [
        ({"person": {"name": "张三", "id_number": "110105199001010000"}}, "person"),
        ({"kind": "contact"}, "kind"),
        ({"designated_at": ahead(days=1)}, "designated_at"),
        ({"designated_at": "2019-01-01T00:00:00+08:00"}, "designated_at"),
        ({"cleared_at": ago(days=5)}, "cleared_at"),
        ({"designated_at": 12345}, "designated_at"),
        ({"person": "张三"}, "person"),
    ],
)
def test_bad_designation_is_refused_and_nothing_written(client_for, health_user, change, field):
    body = {"person": factories.person_payload(), "kind": "confirmed", "designated_at": ago(days=1), **change}
    response = client_for(health_user).post(URL, body, format="json")
    assert response.status_code == 400
    assert list(response.json()) == [field]
    assert Designation.objects.count() == 0
    assert Person.objects.count() == 0


def test_a_name_that_contradicts_the_number_is_409_and_nothing_written(client_for, health_user):
    client = client_for(health_user)
    payload = factories.person_payload("张三")
    client.post(URL, {"person": payload, "kind": "confirmed", "designated_at": ago(days=1)}, format="json")
    response = client.post(
        URL, {"person": {**payload, "name": "李四"}, "kind": "suspected", "designated_at": ago(days=1)}, format="json"
    )
    assert response.status_code == 409
    assert Designation.objects.count() == 1
    assert Person.objects.count() == 1


def test_designations_need_credentials_and_the_health_kind(api, client_for, hotel_user, health_user):
    body = {"person": factories.person_payload(), "kind": "confirmed", "designated_at": ago(days=1)}
    assert api.post(URL, body, format="json").status_code == 401
    assert client_for(hotel_user).post(URL, body, format="json").status_code == 403
    created = client_for(health_user).post(URL, body, format="json").json()
    assert client_for(hotel_user).post(f"{URL}{created['id']}/clear/", {}, format="json").status_code == 403
    assert client_for(health_user).post(f"{URL}{created['id'] + 99}/clear/", {}, format="json").status_code == 404
    assert Designation.objects.get().cleared_at is None


@pytest.mark.django_db
def test_the_service_refuses_a_clearance_before_the_designation_itself_and_writes_nothing(health_user):
    # given a caller of the service that does not go through the API's serializer (the admin, a feed)
    payload = factories.person_payload("钱七")
    # when it records a designation cleared before it was made
    with pytest.raises(ValidationError) as refused:
        designation_create(
            actor=health_user,
            kind="close_contact",
            designated_at=timezone.now() - timedelta(days=1),
            cleared_at=timezone.now() - timedelta(days=2),
            name=payload["name"],
            id_number=payload["id_number"],
        )
    # then the clearance is refused on its own field, in words (the database's check is never reached),
    # and nothing is written
    assert refused.value.message_dict == {"cleared_at": ["解除时间不能早于认定时间。"]}
    assert not Designation.objects.exists()
    assert not Person.objects.filter(id_digest=id_number_digest(payload["id_number"])).exists()
