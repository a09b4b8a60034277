"""Staff reads of a person's status: who may read, the full answer with history, and the audit row."""
from types import SimpleNamespace

import pytest

from health.models import StatusAccess
from health.services.designations import designation_create
from health.services.persons import person_resolve
from tests import factories

from .helpers import ago, moment

URL = "/api/v1/persons/status/"


@pytest.fixture
def designated(db, committed):
    """A person designated a close contact (history: first 集中观察)."""
    payload = factories.person_payload("张三")
    with committed():
        designation = designation_create(
            actor=None, name=payload["name"], id_number=payload["id_number"], kind="close_contact", designated_at=moment(ago(days=1))
        )
    return payload, designation.person


def test_health_reads_the_full_status_with_history_and_the_read_is_audited(client_for, health_user, designated):
    payload, person = designated
    # when the health department reads the person's status with a purpose
    response = client_for(health_user).post(URL, {"id_number": payload["id_number"], "purpose": "流调"}, format="json")
    # then the full answer comes back, without the number, and the read is on record
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "centralized_observation"
    assert body["label"] == "集中观察"
    assert body["reasons"] == ["R1", "designation_close_contact"]
    assert body["person"] == {"id": person.pk, "name": "张三", "id_masked": person.id_masked}
    assert body["needs_review"] is False
    assert [(e["old_status"], e["new_status"], e["new_label"], e["cause"]) for e in body["history"]] == [
        ("", "centralized_observation", "集中观察", "designation")
    ]
    assert payload["id_number"] not in response.content.decode()
    access = StatusAccess.objects.get()
    assert (access.user, access.person, access.channel, access.purpose) == (health_user, person, "api", "流调")


def test_staff_whose_organisation_holds_a_record_may_read(client_for, hotel_user, designated, held):
    payload, person = designated
    held.add((hotel_user.membership.organisation_id, person.pk))
    response = client_for(hotel_user).post(URL, {"id_number": payload["id_number"]}, format="json")
    assert response.status_code == 200
    assert StatusAccess.objects.get().channel == "api"


def test_staff_whose_organisation_holds_no_record_get_404_and_no_audit(client_for, hotel_user, designated, held):
    payload, person = designated
    other_hotel = factories.organisation("hotel", "H-2")
    held.add((other_hotel.pk, person.pk))
    response = client_for(hotel_user).post(URL, {"id_number": payload["id_number"]}, format="json")
    assert response.status_code == 404
    assert StatusAccess.objects.count() == 0


def test_an_unknown_number_is_404_like_one_not_held(client_for, hotel_user, health_user, designated):
    payload, _person = designated
    unknown = client_for(health_user).post(URL, {"id_number": factories.id_number()}, format="json")
    not_held = client_for(hotel_user).post(URL, {"id_number": payload["id_number"]}, format="json")
    assert unknown.status_code == not_held.status_code == 404
    assert unknown.json() == not_held.json()
    assert StatusAccess.objects.count() == 0


def test_administrators_read_any_person(client_for, admin_user, db):
    payload = factories.person_payload()
    person_resolve(**payload)
    response = client_for(admin_user).post(URL, {"id_number": payload["id_number"]}, format="json")
    assert response.status_code == 200
    assert response.json()["reasons"] == ["P", "itinerary_unverifiable", "itinerary_not_declared"]
    assert StatusAccess.objects.get().purpose == ""


@pytest.mark.parametrize(
    "body",
    [{"id_number": "110105199001010000"}, {}, {"id_number": ["x"]}, {"id_number": factories.id_number(), "purpose": "x" * 256}],
)
def test_bad_input_is_400_and_not_audited(client_for, health_user, body):
    response = client_for(health_user).post(URL, body, format="json")
    assert response.status_code == 400
    assert StatusAccess.objects.count() == 0


def test_reads_need_credentials_of_a_staff_account(api, client_for, db):
    from django.contrib.auth import get_user_model

    outsider = get_user_model().objects.create_user("outsider", password="pw-Secret-123")
    outsider.auth_token = SimpleNamespace(key=factories.api_token(outsider))
    assert api.post(URL, {"id_number": factories.id_number()}, format="json").status_code == 401
    assert client_for(outsider).post(URL, {"id_number": factories.id_number()}, format="json").status_code == 403


def test_an_id_number_written_into_the_purpose_is_not_stored(client_for, health_user, designated):
    payload, _person = designated
    purpose = f"核查{payload['id_number']}的流调"
    assert client_for(health_user).post(URL, {"id_number": payload["id_number"], "purpose": purpose}, format="json").status_code == 200
    assert StatusAccess.objects.get().purpose == "核查〔证件号已隐去〕的流调"


def test_staff_see_the_recent_declarations_with_the_client_that_made_each(api, client_for, health_user, designated):
    from health.models import ItineraryDeclaration

    payload, person = designated
    # given the resident declares from their phone, then a stranger who knows name and number from elsewhere
    body = {"name": payload["name"], "id_number": payload["id_number"]}
    assert api.post("/api/v1/status/declarations/", {**body, "city_codes": ["110000"]}, format="json", REMOTE_ADDR="10.7.0.1").status_code == 201
    assert api.post("/api/v1/status/declarations/", {**body, "city_codes": ["310000"]}, format="json", REMOTE_ADDR="10.7.0.2").status_code == 201
    assert api.post("/api/v1/status/declarations/", {**body, "city_codes": ["110000"]}, format="json", REMOTE_ADDR="10.7.0.1").status_code == 201
    # when the health department reads the person's status
    declarations = client_for(health_user).post(URL, {"id_number": payload["id_number"]}, format="json").json()["declarations"]
    # then the declarations come newest first, with their cities and a marker of the client
    assert [d["city_codes"] for d in declarations] == [["110000"], ["310000"], ["110000"]]
    clients = [d["client"] for d in declarations]
    assert clients[0] == clients[2] != clients[1] and all(len(c) == 8 for c in clients)
    # and the address itself is stored nowhere
    stored = list(ItineraryDeclaration.objects.filter(person=person).values_list("client_digest", flat=True))
    assert all("10.7.0" not in digest for digest in stored) and len(set(stored)) == 2
    # the person's admin page lists them with the same markers
    from django.test import Client

    page = Client()
    page.force_login(health_user)
    html = page.get(f"/admin/health/person/{person.pk}/change/").content.decode()
    assert f"终端 {clients[1]}" in html and f"终端 {clients[0]}" in html
