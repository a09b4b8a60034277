"""The staff search box finds a person by the number of any document, typed without its type, and the
number never stands in a URL (the search posts and comes back as digests, as for resident IDs)."""

from datetime import timedelta

import pytest
from django.contrib import admin as django_admin
from django.test import Client
from django.utils import timezone

from communities.services import community_create
from health.identity import document_clean, document_digests
from health.models import Person
from health.services.merge import persons_merge
from health.services.persons import person_resolve
from tests import factories
from tests.identity.documents import KINDS, number_of, person

pytestmark = pytest.mark.django_db
PERSONS, QUARANTINES = "/admin/health/person/", "/admin/communities/quarantinerecord/"


def browser(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def document_of(who: dict):
    if "document_number" not in who:
        return who["id_number"]
    return document_clean(who["document_type"], number=who["document_number"], nationality=who.get("nationality"))


def listed_persons(page) -> list[int]:
    return sorted(row.pk for row in page.context["cl"].result_list)


@pytest.mark.parametrize("kind", KINDS)
def test_a_number_of_any_document_finds_its_person_and_never_stands_in_a_url(admin_user, kind):
    # given a person of this document type and another of the same name with a resident ID
    who = person(kind)
    wanted = person_resolve(name=who["name"], id_number=document_of(who))
    person_resolve(name=who["name"], id_number=factories.id_number())
    number = number_of(who)
    client = browser(admin_user)
    for typed in (number, number.lower(), f" {number} "):
        # when the administrator types the number alone into the (posting) search box
        posted = client.post(PERSONS, {"q": typed, "_hashed_search": "1"})
        # then the list shows that person only, and the number is in no URL and not on the page
        assert posted.status_code == 302
        assert number not in posted["Location"] and number.lower() not in posted["Location"]
        page = client.get(posted["Location"])
        assert listed_persons(page) == [wanted.pk]
        assert number not in page.content.decode()
        assert "（已按证件号码筛选）" in page.content.decode()
    # and a number put into the URL by hand is redirected the same way
    by_url = client.get(PERSONS, {"q": number})
    assert by_url.status_code == 302 and number not in by_url["Location"]
    assert listed_persons(client.get(by_url["Location"])) == [wanted.pk]


def test_a_record_list_finds_records_by_a_passport_number(admin_user):
    # given a home quarantine registered under a passport, and another under a resident ID
    community = community_create(code="C-1", name="社区一", region_code="110105")
    worker = browser(factories.staff(organisation=community))
    who, other = person("passport"), person("id_number")
    for body in (who, other):
        response = worker.post(
            "/api/v1/communities/C-1/quarantines/",
            {"person": body, "kind": "home", "started_at": (timezone.now() - timedelta(days=1)).isoformat()},
            content_type="application/json",
        )
        assert response.status_code == 201
    # when the community worker searches the passport number
    posted = worker.post(QUARANTINES, {"q": who["document_number"], "_hashed_search": "1"})
    page = worker.get(posted["Location"])
    # then only that record is listed
    assert [record.person.name for record in page.context["cl"].result_list] == [who["name"]]
    assert who["document_number"] not in posted["Location"]


def test_a_merged_document_finds_the_kept_person(admin_user):
    resident = factories.id_number()
    kept = person_resolve(name="张三", id_number=resident)
    passport = {"name": "张三", "document_type": "passport", "document_number": "E12345678", "nationality": "CHN"}
    merged = person_resolve(name="张三", id_number=document_of(passport))
    persons_merge(actor=admin_user, keep=kept, merge=merged, reason="同一人")
    client = browser(admin_user)
    posted = client.post(PERSONS, {"q": "E12345678", "_hashed_search": "1"})
    assert listed_persons(client.get(posted["Location"])) == [kept.pk]


def test_the_same_number_under_two_documents_finds_both(admin_user):
    # a Taiwan permit and a passport may share eight digits: the search shows both holders
    permit = person_resolve(name="林志明", id_number=document_clean("taiwan_permit", number="12345678"))
    passport = person_resolve(
        name="John SMITH", id_number=document_clean("passport", number="12345678", nationality="USA")
    )
    client = browser(admin_user)
    posted = client.post(PERSONS, {"q": "12345678", "_hashed_search": "1"})
    assert "12345678" not in posted["Location"]
    assert listed_persons(client.get(posted["Location"])) == sorted([permit.pk, passport.pk])


def test_a_name_is_still_searched_as_a_name_and_an_unknown_number_finds_nobody(admin_user):
    smith = person_resolve(
        name="John SMITH", id_number=document_clean("passport", number="G1234567", nationality="GBR")
    )
    client = browser(admin_user)
    by_name = client.post(PERSONS, {"q": "SMITH", "_hashed_search": "1"})
    assert by_name["Location"] == f"{PERSONS}?q=SMITH"
    assert listed_persons(client.get(by_name["Location"])) == [smith.pk]
    unknown = client.post(PERSONS, {"q": "X9876543", "_hashed_search": "1"})
    assert "X9876543" not in unknown["Location"]
    assert listed_persons(client.get(unknown["Location"])) == []


def test_get_search_results_finds_any_document_in_one_call(admin_user, rf):
    who = person("hk_macao_permit")
    wanted = person_resolve(name=who["name"], id_number=document_of(who))
    model_admin = django_admin.site._registry[Person]
    request = rf.get(PERSONS)
    request.user = admin_user
    found, _duplicates = model_admin.get_search_results(request, Person.objects.all(), f" {who['document_number']} ")
    assert list(found) == [wanted]


def test_the_digests_a_typed_number_may_have():
    # a passport number of every ISO state (the state is in its key), each other document once
    digests = document_digests("G12345678")
    assert len(digests) == len(set(digests)) >= 249
    assert document_clean("passport", number="g12345678", nationality="NZL").digest in digests
    assert document_digests("SMITH") == []  # no digit: a name
    resident = factories.id_number()
    assert document_digests(resident)[0] == document_clean("resident_id", number=resident).digest


@pytest.mark.parametrize("url", ["/admin/health/designation/", "/admin/health/itinerarystay/"])
def test_the_other_person_lists_search_a_number_by_its_digests_too(admin_user, client_for, url):
    # given a passport holder and a resident, each with a designation and a stay
    health = client_for(factories.staff(organisation=factories.department("health")))
    platform = client_for(factories.staff(organisation=factories.department("platform")))
    at = (timezone.now() - timedelta(days=1)).isoformat()
    passport = person("passport")
    for who in (passport, person("id_number")):
        designation = {"person": who, "kind": "close_contact", "designated_at": at}
        assert health.post("/api/v1/designations/", designation, format="json").status_code == 201
        stays = {"stays": [{"person": who, "city_code": "110105", "arrived_at": at}]}
        assert platform.post("/api/v1/itinerary/stays/", stays, format="json").status_code == 201
    client = browser(admin_user)
    # when the administrator searches the passport's number, posted or typed into the URL by hand
    number = passport["document_number"]
    for response in (client.post(url, {"q": number, "_hashed_search": "1"}), client.get(url, {"q": number})):
        # then the list shows the passport holder's record only, and the number is in no URL
        assert response.status_code == 302 and number not in response["Location"]
        page = client.get(response["Location"])
        assert [row.person.name for row in page.context["cl"].result_list] == [passport["name"]]


def test_the_stays_list_still_searches_a_region_code_as_a_code(admin_user, client_for):
    platform = client_for(factories.staff(organisation=factories.department("platform")))
    at = (timezone.now() - timedelta(days=1)).isoformat()
    for city in ("110105", "130102"):
        stays = {"stays": [{"person": person("passport"), "city_code": city, "arrived_at": at}]}
        assert platform.post("/api/v1/itinerary/stays/", stays, format="json").status_code == 201
    client = browser(admin_user)
    posted = client.post("/admin/health/itinerarystay/", {"q": "130102", "_hashed_search": "1"})
    assert posted["Location"] == "/admin/health/itinerarystay/?q=130102"
    assert [row.region_id for row in client.get(posted["Location"]).context["cl"].result_list] == ["130102"]
