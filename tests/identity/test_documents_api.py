"""Every endpoint that names a person, with every identity document of api.md ("A person in a request")."""
from datetime import timedelta

import pytest
from django.utils import timezone

from communities.models import QuarantineRecord
from communities.services import community_create
from entrants.models import InboundCase
from health.models import (
    Designation,
    HealthStatus,
    ItineraryDeclaration,
    ItineraryStay,
    KeptDeclaration,
    Person,
    StatusCorrectionRequest,
)
from hotels.models import CheckIn
from hotels.services import hotel_create
from tests import factories
from tests.health.helpers import without_computed_at
from tests.identity.documents import KINDS, NON_RESIDENT, number_of, person

pytestmark = pytest.mark.django_db

QUERY, DECLARE, CORRECT = "/api/v1/status/query/", "/api/v1/status/declarations/", "/api/v1/status/corrections/"
READ = "/api/v1/persons/status/"


def ago(**kwargs) -> str:
    return (timezone.now() - timedelta(**kwargs)).isoformat()


@pytest.fixture
def world(db, client_for, admin_user):
    """One organisation of each kind that names persons, with a client for each."""
    community = community_create(code="C-1", name="社区一", region_code="110105")
    hotel = hotel_create(code="H-1", name="饭店一", region_code="110101")
    staff = {
        "community": factories.staff(organisation=community),
        "hotel": factories.staff(organisation=hotel),
        "border": factories.staff(organisation=factories.department("border")),
        "health": factories.staff(organisation=factories.department("health")),
        "platform": factories.staff(organisation=factories.department("platform")),
    }
    return {"community": community, "hotel": hotel, **{k: client_for(v) for k, v in staff.items()}}


def writes(world, who: dict):
    """(client, url, body) of every staff write that names a person, all naming `who`."""
    return [
        (world["border"], "/api/v1/entrants/", {
            "person": who, "entered_country_on": (timezone.localdate() - timedelta(days=20)).isoformat(),
            "port": "首都机场", "origin_country": "GB", "community_code": "C-1"}),
        (world["hotel"], "/api/v1/hotels/H-1/checkins/", {
            "person": who, "checked_in_at": ago(hours=2), "origin_region_code": "310104",
            "health_management_accepted": True, "nat_tests": []}),
        (world["community"], "/api/v1/communities/C-1/quarantines/", {
            "person": who, "kind": "home", "started_at": ago(days=2)}),
        (world["health"], "/api/v1/designations/", {
            "person": who, "kind": "close_contact", "designated_at": ago(days=1)}),
        (world["platform"], "/api/v1/itinerary/stays/", {
            "stays": [{"person": who, "city_code": "110000", "arrived_at": ago(days=3), "left_at": ago(days=1)}]}),
    ]


RECORDS = (InboundCase, CheckIn, QuarantineRecord, Designation, ItineraryStay)


@pytest.mark.parametrize("kind", KINDS)
def test_every_staff_endpoint_names_the_person_by_any_document(world, kind):
    who = person(kind)
    for client, url, body in writes(world, who):
        response = client.post(url, body, format="json")
        assert response.status_code == 201, (url, response.json())
        assert number_of(who) not in response.content.decode()
        person_answer = response.json().get("person")
        if person_answer is not None and kind in NON_RESIDENT:
            assert person_answer["document_type"] == who["document_type"]
            assert person_answer["id_masked"] == Person.objects.get().id_masked
    # one person, holding a record of every app
    stored = Person.objects.get()
    assert all(model.objects.filter(person=stored).count() == 1 for model in RECORDS)
    assert stored.document_type == who.get("document_type", "resident_id")
    assert stored.nationality == who.get("nationality", "")
    # and the staff read finds them by the same document
    body = {key: value for key, value in who.items() if key != "name"}
    read = world["health"].post(READ, body, format="json")
    assert read.status_code == 200, read.json()
    assert read.json()["person"]["id"] == stored.pk
    assert number_of(who) not in read.content.decode()


@pytest.mark.parametrize("kind", NON_RESIDENT)
def test_a_document_known_under_another_name_is_409_and_changes_nothing(world, kind):
    who = person(kind)
    assert world["health"].post(*writes(world, who)[3][1:], format="json").status_code == 201
    other = {**who, "name": "李四"}
    for client, url, body in writes(world, other):
        response = client.post(url, body, format="json")
        assert response.status_code == 409, url
    assert Person.objects.count() == 1
    assert sum(model.objects.count() for model in RECORDS) == 1


def test_latin_names_match_whatever_the_case_and_spacing(world):
    who = person("passport", name="John SMITH")
    client, url, body = writes(world, who)[1]
    assert client.post(url, body, format="json").status_code == 201
    again = {**who, "name": "  john   smith "}
    client, url, body = writes(world, again)[3]
    assert client.post(url, body, format="json").status_code == 201
    assert Person.objects.count() == 1
    assert world["health"].post(READ, {k: v for k, v in again.items() if k != "name"}, format="json").status_code == 200


@pytest.mark.parametrize(
    "change, field, message",
    [
        ({"document_type": "visa"}, "document_type", "未知的证件类型。"),
        ({"nationality": "XYZ"}, "nationality", "未知的国籍（应为 ISO 3166-1 三位字母代码，如 GBR）。"),
        ({"nationality": None}, "nationality", "请填写国籍（ISO 3166-1 三位字母代码，如 GBR）。"),
        ({"document_number": "G-1"}, "document_number", "护照号码应为5至20位字母或数字。"),
    ],
)
def test_a_bad_document_is_a_400_in_chinese_on_every_endpoint_and_writes_nothing(world, change, field, message):
    who = {key: value for key, value in {**person("passport"), **change}.items() if value is not None}
    for client, url, body in writes(world, who):
        response = client.post(url, body, format="json")
        assert response.status_code == 400, url
        errors = response.json()
        found = errors["stays"]["0"]["person"] if "stays" in errors else errors["person"]
        assert found[field] == [message], url
    for url in (QUERY, DECLARE):
        response = world["border"].post(url, {**who, "city_codes": ["110000"]}, format="json")
        assert response.status_code == 400
        assert response.json()[field] == [message]
    assert not Person.objects.exists()
    assert not KeptDeclaration.objects.exists()
    assert sum(model.objects.count() for model in RECORDS) == 0


def test_a_person_object_without_any_number_is_refused_as_before(world):
    client, url, body = writes(world, {"name": "张三"})[3]
    response = client.post(url, body, format="json")
    assert response.status_code == 400
    assert list(response.json()["person"]) == ["id_number"]


# --- the public endpoints ----------------------------------------------------------------------
def stranger_answer(api, **body):
    response = api.post(QUERY, body, format="json")
    assert response.status_code == 200, response.json()
    # Without its time, and its pass as what the pass says beyond its holder (tests/health/helpers.py).
    return without_computed_at(response.json())


@pytest.mark.parametrize("kind", KINDS)
def test_strangers_get_the_same_answer_whatever_their_document(world, api, kind):
    known = person(kind)
    world["health"].post(*writes(world, known)[3][1:], format="json")  # a known person of this type
    baseline = stranger_answer(api, **person("id_number"))
    unknown = stranger_answer(api, **person(kind))
    wrong_name = stranger_answer(api, **{**known, "name": "王五"})
    assert unknown == wrong_name == baseline
    assert baseline["reasons"] == ["P", "itinerary_unverifiable", "itinerary_not_declared"]


@pytest.mark.parametrize("kind", NON_RESIDENT)
def test_the_public_query_declaration_and_correction_take_any_document(world, api, kind):
    who = person(kind)
    # a declaration before the person is known is kept, and becomes theirs when they appear
    early = api.post(DECLARE, {**who, "city_codes": ["110000"]}, format="json")
    assert early.status_code == 201
    assert KeptDeclaration.objects.count() == 1
    client, url, body = writes(world, who)[2]  # home quarantine in community C-1
    assert client.post(url, body, format="json").status_code == 201
    stored = Person.objects.get()
    assert ItineraryDeclaration.objects.filter(person=stored).count() == 1
    # the query by the document answers the person's own status, in any case of the Latin name
    query = api.post(QUERY, {**who, "name": who["name"].lower()}, format="json")
    assert query.status_code == 200
    assert query.json()["status"] == HealthStatus.objects.get(person=stored).status == "home_observation"
    declared = api.post(DECLARE, {**who, "city_codes": ["310000"]}, format="json")
    assert declared.status_code == 201
    assert ItineraryDeclaration.objects.filter(person=stored).count() == 2
    corrected = api.post(CORRECT, {**who, "message": "已解除隔离"}, format="json")
    assert corrected.status_code == 202
    assert StatusCorrectionRequest.objects.get().person == stored
    for response in (early, query, declared, corrected):
        assert number_of(who) not in response.content.decode()


def test_the_public_throttles_count_a_document_per_person(world, api, settings):
    # the owner's budget is per document and name: a passport's third query in the window is refused,
    # another passport (or the same number from another state) is counted apart
    import copy

    from django.test import override_settings

    config = copy.deepcopy(settings.REST_FRAMEWORK)
    config["DEFAULT_THROTTLE_RATES"] = {**config["DEFAULT_THROTTLE_RATES"], "public_person": "2/minute"}
    config["DEFAULT_THROTTLE_RATES"]["public_address"] = "100/minute"
    config["DEFAULT_THROTTLE_RATES"]["public_id_number"] = "100/minute"
    who = person("passport")
    with override_settings(REST_FRAMEWORK=config):
        answers = [api.post(QUERY, who, format="json").status_code for _ in range(3)]
        other_state = api.post(QUERY, {**who, "nationality": "USA"}, format="json").status_code
    assert answers == [200, 200, 429]
    assert other_state == 200
