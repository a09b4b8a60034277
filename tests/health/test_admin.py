"""The core admin: ID-number search by digest, no plain number in any page, audited status views, scoping,
and saves that go through the services."""
import pytest
from django.test import Client

from health.identity import id_number_digest
from health.models import Designation, HealthStatus, Person, Policy, StatusAccess
from health.services.designations import designation_create
from health.services.persons import person_resolve
from tests import factories

from .helpers import ago, moment

PERSONS = "/admin/health/person/"


def browser(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def person_with_number(db, committed):
    payload = factories.person_payload("张三")
    with committed():
        designation_create(
            actor=None, name=payload["name"], id_number=payload["id_number"], kind="confirmed", designated_at=moment(ago(days=1))
        )
    return Person.objects.get(id_digest=id_number_digest(payload["id_number"])), payload["id_number"]


def test_searching_by_id_number_finds_the_person_and_the_number_appears_nowhere(admin_user, person_with_number):
    person, number = person_with_number
    factories_other = person_resolve(**factories.person_payload("李四"))
    client = browser(admin_user)
    # when the administrator types the full number into the (posting) search box
    posted = client.post(PERSONS, {"q": number, "_hashed_search": "1"})
    # then they are sent to the digest search, whose page lists the person only and never shows the number
    assert posted.status_code == 302
    assert number not in posted["Location"]
    page = client.get(posted["Location"])
    html = page.content.decode()
    assert page.status_code == 200
    assert f"/admin/health/person/{person.pk}/change/" in html
    assert f"/admin/health/person/{factories_other.pk}/change/" not in html
    assert number not in html
    assert person.id_masked in html
    # and a number put into the URL by hand is redirected the same way
    by_url = client.get(PERSONS, {"q": number})
    assert by_url.status_code == 302 and number not in by_url["Location"]


def test_get_search_results_hashes_what_is_typed(admin_user, person_with_number, rf):
    from django.contrib import admin as django_admin

    person, number = person_with_number
    model_admin = django_admin.site._registry[Person]
    request = rf.get(PERSONS)
    request.user = admin_user
    found, _duplicates = model_admin.get_search_results(request, Person.objects.all(), f" {number} ")
    assert list(found) == [person]
    by_name, _duplicates = model_admin.get_search_results(request, Person.objects.all(), "张")
    assert list(by_name) == [person]


def test_name_search_still_works(admin_user, person_with_number):
    person, number = person_with_number
    page = browser(admin_user).get(PERSONS, {"q": "张三"})
    assert page.status_code == 200
    assert f"/admin/health/person/{person.pk}/change/" in page.content.decode()


def test_viewing_a_person_shows_the_status_and_history_and_is_audited(health_user, person_with_number):
    person, number = person_with_number
    # when the health department opens the person
    page = browser(health_user).get(f"{PERSONS}{person.pk}/change/")
    html = page.content.decode()
    # then the status, its reasons and history show, without the number, and the view is on record
    assert page.status_code == 200
    assert "集中观察" in html
    assert "<strong>确诊病例</strong>：卫健部门认定为确诊病例，尚未解除。" in html
    assert "designation_confirmed" not in html
    assert number not in html
    access = StatusAccess.objects.get()
    assert (access.user, access.person, access.channel) == (health_user, person, "admin")


def test_a_hotel_clerk_does_not_see_everyone(hotel_user, person_with_number):
    person, _number = person_with_number
    client = browser(hotel_user)
    listing = client.get(PERSONS)
    detail = client.get(f"{PERSONS}{person.pk}/change/")
    assert listing.status_code == 200
    assert f"/admin/health/person/{person.pk}/change/" not in listing.content.decode()
    assert detail.status_code == 302  # "does not exist" redirect to the index
    assert StatusAccess.objects.count() == 0
    # and the health records' pages are not theirs at all
    assert client.get("/admin/health/designation/").status_code == 403
    assert client.get("/admin/health/statusaccess/").status_code == 403


def test_the_access_log_is_for_administrators_only(health_user, admin_user, db):
    assert browser(health_user).get("/admin/health/statusaccess/").status_code == 403
    assert browser(admin_user).get("/admin/health/statusaccess/").status_code == 200


def test_admin_pages_render_for_administrators_without_plain_numbers(admin_user, person_with_number):
    person, number = person_with_number
    client = browser(admin_user)
    for url in [
        "/admin/",
        PERSONS,
        f"{PERSONS}{person.pk}/change/",
        "/admin/health/designation/",
        f"/admin/health/designation/{Designation.objects.get().pk}/change/",
        "/admin/health/designation/add/",
        "/admin/health/riskarea/",
        "/admin/health/riskarea/add/",
        "/admin/health/region/?q=北京",
        "/admin/health/itinerarystay/",
        "/admin/health/itinerarydeclaration/",
        "/admin/health/policy/",
        "/admin/health/policy/add/",
        "/admin/health/statusevent/",
        "/admin/health/statusaccess/",
        "/admin/health/organisation/",
        "/admin/health/staffmembership/",
    ]:
        page = client.get(url)
        assert page.status_code == 200, url
        assert number not in page.content.decode(), url


def test_adding_a_designation_in_the_admin_goes_through_the_service(health_user, committed, db):
    payload = factories.person_payload("王五")
    with committed():
        response = browser(health_user).post(
            "/admin/health/designation/add/",
            {
                "person_name": payload["name"],
                "id_number": payload["id_number"],
                "kind": "suspected",
                "designated_at_0": moment(ago(hours=3)).astimezone().strftime("%Y-%m-%d"),
                "designated_at_1": moment(ago(hours=3)).astimezone().strftime("%H:%M:%S"),
            },
        )
    assert response.status_code == 302
    designation = Designation.objects.get()
    assert designation.created_by == health_user
    assert designation.person.name == "王五"
    assert HealthStatus.objects.get(person=designation.person).status == "centralized_observation"


def test_a_name_that_contradicts_the_number_is_refused_on_the_admin_form(health_user, person_with_number):
    person, number = person_with_number
    response = browser(health_user).post(
        "/admin/health/designation/add/",
        {"person_name": "李四", "id_number": number, "kind": "suspected", "designated_at_0": "2022-05-01", "designated_at_1": "08:00:00"},
    )
    assert response.status_code == 200
    assert "该身份证号码已登记为另一姓名。" in response.content.decode()
    assert response.content.decode().count(number) == 1  # kept in its field, nowhere else
    assert Designation.objects.count() == 1


def test_publishing_a_policy_version_recomputes_everyone(admin_user, person_with_number, committed):
    person, _number = person_with_number
    before = HealthStatus.objects.get(person=person).inputs_version
    form = {
        "window_days": 7,
        "min_stay_hours": 4,
        "nat_valid_days": 7,
        "inbound_observation_days": 28,
        "inbound_arrival_grace_days": 1,
        "eligible_provinces": "11, 12，13",
        "home_region": "110000",
        "comment": "七天",
    }
    # the first save shows the impact preview and publishes nothing
    preview = browser(admin_user).post("/admin/health/policy/add/", form)
    assert preview.status_code == 200 and 'id="impact-preview"' in preview.content.decode()
    assert Policy.objects.count() == 1
    with committed():
        response = browser(admin_user).post("/admin/health/policy/add/", form | {"_impact_confirmed": "1"})
    assert response.status_code == 302
    latest = Policy.objects.order_by("-version").first()
    assert (latest.version, latest.window_days, latest.eligible_provinces, latest.created_by) == (2, 7, ["11", "12", "13"], admin_user)
    status = HealthStatus.objects.get(person=person)
    assert status.inputs_version == before + 1
    assert (status.policy_version, status.dirty) == (2, False)
    # and versions are never edited
    assert browser(admin_user).post(f"/admin/health/policy/{latest.pk}/change/", {"window_days": 1}).status_code == 403
