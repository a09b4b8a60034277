"""Correcting a person's name: administrators and the health authority only, audited, the person recomputed."""

import pytest
from django.test import Client

from health.identity import id_number_digest
from health.models import ItineraryDeclaration, KeptDeclaration, Person, PersonNameCorrection
from health.services.designations import designation_create
from tests import factories

from .helpers import STRANGER_REASONS, ago, moment

CORRECT = "/api/v1/persons/correct-name/"
ADMIN_ADD = "/admin/health/personnamecorrection/add/"


@pytest.fixture
def misspelt(db, committed):
    """A person stored under a typo (张山) whose true name is 张三."""
    payload = factories.person_payload("张山")
    with committed():
        designation_create(
            actor=None, name="张山", id_number=payload["id_number"], kind="close_contact", designated_at=moment(ago(days=1))
        )
    return Person.objects.get(), payload["id_number"]


@pytest.mark.parametrize("kind", ["hotel", "community", "border", "platform", "police"])
def test_other_roles_may_not_correct_a_name(api, client_for, misspelt, kind):
    person, number = misspelt
    user = factories.staff(organisation=factories.organisation(kind) if kind in ("hotel", "community") else factories.department(kind))
    response = client_for(user).post(CORRECT, {"id_number": number, "name": "张三", "reason": "笔误"}, format="json")
    assert response.status_code == 403
    assert api.post(CORRECT, {"id_number": number, "name": "张三", "reason": "笔误"}, format="json").status_code == 401
    person.refresh_from_db()
    assert person.name == "张山" and not PersonNameCorrection.objects.exists()


@pytest.mark.parametrize("who", ["health", "admin"])
def test_the_health_authority_corrects_a_name_and_later_writes_with_it_succeed(api, client_for, misspelt, health_user, admin_user, who):
    person, number = misspelt
    user = health_user if who == "health" else admin_user
    # before: the true name is a conflict and a stranger on the public query
    body = {"person": {"name": "张三", "id_number": number}, "kind": "close_contact", "designated_at": ago(hours=2)}
    assert client_for(health_user).post("/api/v1/designations/", body, format="json").status_code == 409
    assert api.post("/api/v1/status/query/", {"name": "张三", "id_number": number}, format="json").json()["reasons"] == STRANGER_REASONS
    # when the name is corrected
    response = client_for(user).post(CORRECT, {"id_number": number, "name": " 张三 ", "reason": "录入笔误"}, format="json")
    # then the answer shows the correction and the person's recomputed status, never the number
    assert response.status_code == 200
    answer = response.json()
    assert (answer["old_name"], answer["new_name"], answer["reason"], answer["corrected_by"]) == ("张山", "张三", "录入笔误", user.username)
    assert answer["person"]["name"] == "张三" and answer["status"]["status"] == "centralized_observation"
    assert number not in response.content.decode()
    # and the audit row says who, old, new and why
    audit = PersonNameCorrection.objects.get()
    assert (audit.person, audit.old_name, audit.new_name, audit.reason, audit.corrected_by) == (person, "张山", "张三", "录入笔误", user)
    # and later writes and the public query with the true name are the person's
    assert client_for(health_user).post("/api/v1/designations/", body, format="json").status_code == 201
    assert client_for(health_user).post("/api/v1/designations/", {**body, "person": {"name": "张山", "id_number": number}}, format="json").status_code == 409
    public = api.post("/api/v1/status/query/", {"name": "张三", "id_number": number}, format="json").json()
    assert public["status"] == "centralized_observation"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": "张山", "reason": "x"}, "name"),  # the same name
        ({"name": "   ", "reason": "x"}, "name"),
        ({"name": "张三", "reason": "  "}, "reason"),
        ({"name": "张三"}, "reason"),
        ({"name": "张" * 65, "reason": "x"}, "name"),
    ],
)
def test_a_bad_correction_is_400_and_changes_nothing(client_for, misspelt, health_user, body, field):
    person, number = misspelt
    response = client_for(health_user).post(CORRECT, {"id_number": number, **body}, format="json")
    assert response.status_code == 400
    assert field in response.json()
    person.refresh_from_db()
    assert person.name == "张山" and not PersonNameCorrection.objects.exists()


def test_an_unknown_number_is_404(client_for, health_user):
    response = client_for(health_user).post(CORRECT, {"id_number": factories.id_number(), "name": "张三", "reason": "x"}, format="json")
    assert response.status_code == 404


def test_a_declaration_kept_under_the_true_name_becomes_the_person_s(api, client_for, misspelt, health_user):
    person, number = misspelt
    api.post("/api/v1/status/declarations/", {"name": "张三", "id_number": number, "city_codes": ["110000"]}, format="json")
    assert KeptDeclaration.objects.count() == 1
    client_for(health_user).post(CORRECT, {"id_number": number, "name": "张三", "reason": "笔误"}, format="json")
    assert not KeptDeclaration.objects.exists()
    assert ItineraryDeclaration.objects.get().person == person


def browser(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_the_admin_action_corrects_through_the_service(misspelt, health_user, committed):
    person, number = misspelt
    with committed():
        response = browser(health_user).post(ADMIN_ADD, {"id_number": number, "new_name": "张三", "reason": "户籍核对"})
    assert response.status_code == 302
    person.refresh_from_db()
    assert person.name == "张三"
    audit = PersonNameCorrection.objects.get()
    assert (audit.old_name, audit.new_name, audit.reason, audit.corrected_by) == ("张山", "张三", "户籍核对", health_user)
    assert person.health_status.dirty is False
    # the list shows the record, never the number
    page = browser(health_user).get("/admin/health/personnamecorrection/")
    assert page.status_code == 200 and "户籍核对" in page.content.decode() and number not in page.content.decode()
    assert id_number_digest(number) not in page.content.decode()


def test_the_admin_form_refuses_the_same_name_and_an_unknown_number(misspelt, health_user):
    person, number = misspelt
    same = browser(health_user).post(ADMIN_ADD, {"id_number": number, "new_name": "张山", "reason": "x"})
    unknown = browser(health_user).post(ADMIN_ADD, {"id_number": factories.id_number(), "new_name": "张三", "reason": "x"})
    assert same.status_code == unknown.status_code == 200
    assert "新姓名与原姓名相同。" in same.content.decode() and same.content.decode().count(number) == 1  # in its field only
    assert "没有该身份证号的人员。" in unknown.content.decode()
    assert not PersonNameCorrection.objects.exists()


@pytest.mark.parametrize("kind", ["hotel", "platform"])
def test_other_roles_have_no_admin_correction(misspelt, kind):
    user = factories.staff(organisation=factories.organisation(kind) if kind == "hotel" else factories.department(kind))
    assert browser(user).get(ADMIN_ADD).status_code == 403
    assert browser(user).post(ADMIN_ADD, {"id_number": misspelt[1], "new_name": "张三", "reason": "x"}).status_code == 403
    assert not PersonNameCorrection.objects.exists()


def test_the_person_page_leads_to_the_correction_of_that_person(misspelt, health_user, committed):
    person, number = misspelt
    # given the person's page, with its link to the correction
    page = browser(health_user).get(f"/admin/health/person/{person.pk}/change/").content.decode()
    link = f"{ADMIN_ADD}?person={person.pk}"
    assert link in page
    # when the form it opens is sent without the number
    assert browser(health_user).get(link).status_code == 200
    with committed():
        response = browser(health_user).post(link, {"person": person.pk, "new_name": "张三", "reason": "核对户籍"})
    # then that person is corrected
    assert response.status_code == 302
    person.refresh_from_db()
    assert person.name == "张三"
    assert PersonNameCorrection.objects.get().corrected_by == health_user


def test_neither_a_person_nor_a_number_is_refused_on_the_form(misspelt, health_user):
    response = browser(health_user).post(ADMIN_ADD, {"new_name": "张三", "reason": "x"})
    assert response.status_code == 200
    assert "请填写身份证号。" in response.content.decode()
    assert not PersonNameCorrection.objects.exists()
