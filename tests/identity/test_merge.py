"""Merging two persons who are one: every record of all three apps moves, both documents lead to the
kept person, the merge is audited and the status recomputed; admin and health only; no undo."""
from datetime import timedelta

import pytest
from django.utils import timezone

from communities.models import QuarantineRecord
from communities.services import community_create
from entrants.models import InboundCase
from health.models import (
    Designation,
    HealthStatus,
    ItineraryStay,
    Person,
    PersonAlias,
    PersonMerge,
    StatusAccess,
    StatusEvent,
)
from health.services.merge import merge_suggestions
from hotels.models import CheckIn
from hotels.services import hotel_create
from tests import factories
from tests.identity.documents import person

pytestmark = pytest.mark.django_db
MERGE, READ, QUERY = "/api/v1/persons/merge/", "/api/v1/persons/status/", "/api/v1/status/query/"


def ago(**kwargs) -> str:
    return (timezone.now() - timedelta(**kwargs)).isoformat()


@pytest.fixture
def world(db, client_for, admin_user):
    community = community_create(code="C-1", name="社区一", region_code="110105")
    hotel_create(code="H-1", name="饭店一", region_code="110101")
    staff = {
        "community": factories.staff(organisation=community),
        "hotel": factories.staff(organisation=hotel_create(code="H-2", name="饭店二", region_code="110101")),
        "border": factories.staff(organisation=factories.department("border")),
        "health": factories.staff(organisation=factories.department("health")),
        "admin": admin_user,
    }
    staff["hotel_1"] = factories.staff(organisation=factories.organisation("hotel", "H-1"))
    return {key: client_for(user) for key, user in staff.items()}


def two_registrations(world):
    """One citizen: registered by border control under a CHN passport (with a birth date), managed by
    community C-1, and checked in at hotel H-1 under the resident ID."""
    resident = {"name": "张三", "id_number": factories.id_number(born=timezone.datetime(1980, 1, 1).date())}
    passport = {"name": "张三", "document_type": "passport", "document_number": "E12345678",
                "nationality": "CHN", "birth_date": "1980-01-01"}
    entered = (timezone.localdate() - timedelta(days=20)).isoformat()
    assert world["border"].post("/api/v1/entrants/", {
        "person": passport, "entered_country_on": entered, "port": "首都机场", "origin_country": "GB",
        "community_code": "C-1"}, format="json").status_code == 201
    assert world["community"].post("/api/v1/communities/C-1/quarantines/", {
        "person": passport, "kind": "home", "started_at": ago(days=2)}, format="json").status_code == 201
    assert world["hotel_1"].post("/api/v1/hotels/H-1/checkins/", {
        "person": resident, "checked_in_at": ago(hours=3), "origin_region_code": "310104",
        "health_management_accepted": True, "nat_tests": []}, format="json").status_code == 201
    return resident, passport


def test_the_dashboard_suggests_them_and_a_merge_moves_every_record_and_recomputes(world, api):
    resident, passport = two_registrations(world)
    kept = Person.objects.get(document_type="resident_id")
    merged = Person.objects.get(document_type="passport")
    assert [[p.pk for p in group["persons"]] for group in merge_suggestions()] == [[merged.pk, kept.pk]]
    assert HealthStatus.objects.get(person=kept).status != "home_observation"  # the hotel does not know

    response = world["health"].post(MERGE, {
        "keep": {"id_number": resident["id_number"]},
        "merge": {k: v for k, v in passport.items() if k not in ("name", "birth_date")},
        "reason": "同一人：护照与身份证"}, format="json")

    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["kept"]["id"] == kept.pk and body["merged"]["id"] == merged.pk
    assert body["moved"]["communities.QuarantineRecord"] == 1
    assert body["moved"]["entrants.InboundCase"] == 1
    assert resident["id_number"] not in response.content.decode()
    assert passport["document_number"] not in response.content.decode()
    # every record is the kept person's; the merged person is no more
    assert not Person.objects.filter(pk=merged.pk).exists()
    for model in (InboundCase, QuarantineRecord, CheckIn):
        assert model.objects.get().person_id == kept.pk
    # the audited event: who, why, what moved
    event = PersonMerge.objects.get()
    assert (event.kept, event.merged_by.username, event.reason) == (kept, event.merged_by.username, "同一人：护照与身份证")
    assert event.merged_by.membership.organisation.kind == "health"
    # recomputed: the community's home quarantine now shows on the resident ID
    status = HealthStatus.objects.get(person=kept)
    assert (status.status, status.dirty) == ("home_observation", False)
    assert StatusEvent.objects.filter(person=kept, cause="persons_merged").exists()
    # both documents lead to the kept person: the query by passport (with the passport's name) ...
    by_passport = api.post(QUERY, {k: v for k, v in passport.items() if k != "birth_date"}, format="json")
    assert by_passport.json()["status"] == "home_observation"
    # ... a later record under the passport lands there, and the staff read by passport finds them
    assert world["health"].post("/api/v1/designations/", {
        "person": passport, "kind": "close_contact", "designated_at": ago(hours=1)}, format="json").status_code == 201
    assert Designation.objects.get().person_id == kept.pk
    read = world["health"].post(READ, {k: v for k, v in passport.items() if k not in ("name", "birth_date")},
                                format="json")
    assert read.json()["person"]["id"] == kept.pk
    assert PersonAlias.objects.get().person_id == kept.pk
    assert merge_suggestions() == []


def test_only_administrators_and_health_may_merge_and_bad_requests_change_nothing(world):
    two_registrations(world)
    kept = Person.objects.get(document_type="resident_id")
    merged = Person.objects.get(document_type="passport")
    body = {"keep": kept.pk, "merge": merged.pk, "reason": "同一人"}
    for who in ("community", "hotel", "border"):
        assert world[who].post(MERGE, body, format="json").status_code == 403
    assert world["health"].post(MERGE, {**body, "merge": kept.pk}, format="json").status_code == 400
    assert world["health"].post(MERGE, {**body, "reason": " "}, format="json").status_code == 400
    assert world["health"].post(MERGE, {**body, "merge": 999999}, format="json").status_code == 404
    for hostile in (10**30, -1, True, "1", [1], None):
        assert world["health"].post(MERGE, {**body, "merge": hostile}, format="json").status_code == 400
    bad = world["health"].post(MERGE, {**body, "merge": {"document_type": "visa", "document_number": "1"}},
                               format="json")
    assert bad.status_code == 400
    assert bad.json()["merge"]["document_type"] == ["未知的证件类型。"]
    assert Person.objects.count() == 2 and not PersonMerge.objects.exists()
    # the administrator may
    assert world["admin"].post(MERGE, body, format="json").status_code == 200
    assert Person.objects.count() == 1


def test_the_same_stay_under_both_documents_is_kept_once_and_a_conflict_refuses_the_merge(world):
    resident = person("id_number")
    passport = person("passport", name="张三")
    stay = {"city_code": "110000", "arrived_at": ago(days=3), "left_at": ago(days=1)}
    assert world["health"].post("/api/v1/designations/", {"person": resident, "kind": "close_contact",
                                                          "designated_at": ago(days=1)}, format="json").status_code == 201
    platform = factories.staff(organisation=factories.department("platform"))
    from tests.conftest import CommittingClient

    client = CommittingClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {platform.auth_token.key}")
    assert client.post("/api/v1/itinerary/stays/", {"stays": [{"person": resident, **stay}, {"person": passport, **stay}]},
                       format="json").status_code == 201
    kept, merged = Person.objects.get(document_type="resident_id"), Person.objects.get(document_type="passport")
    StatusAccess.objects.create(person=merged, user=platform, channel="api")
    response = world["health"].post(MERGE, {"keep": kept.pk, "merge": merged.pk, "reason": "同一人"}, format="json")
    assert response.status_code == 200
    assert ItineraryStay.objects.get().person_id == kept.pk
    assert StatusAccess.objects.get().person_id == kept.pk
    # two open quarantines in one community cannot be one person's: refused, nothing changed
    a, b = person("id_number", name="李四"), person("taiwan_permit", name="李四")
    for who in (a, b):
        assert world["community"].post("/api/v1/communities/C-1/quarantines/", {
            "person": who, "kind": "home", "started_at": ago(days=2)}, format="json").status_code == 201
    first, second = QuarantineRecord.objects.order_by("pk").values_list("person_id", flat=True)
    refused = world["health"].post(MERGE, {"keep": first, "merge": second, "reason": "同一人"}, format="json")
    assert refused.status_code == 400
    assert "冲突" in refused.json()["merge"][0]
    assert set(QuarantineRecord.objects.values_list("person_id", flat=True)) == {first, second}
    assert PersonMerge.objects.count() == 1
