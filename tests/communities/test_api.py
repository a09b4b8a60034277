"""The communities API: own community, another community (404), another kind (403), bad input (400)."""
from datetime import timedelta

import pytest
from django.utils import timezone

from communities.models import Community, PlannedEndChange, QuarantineRecord
from health.models import HealthStatus, ItineraryStay, Person, StatusEvent
from tests import factories
from tests.communities.helpers import community, register

pytestmark = pytest.mark.django_db


def quarantine_body(**overrides):
    body = {
        "person": factories.person_payload("王五"),
        "kind": "home",
        "started_at": (timezone.now() - timedelta(days=2)).isoformat(),
        "planned_end_at": (timezone.now() + timedelta(days=12)).isoformat(),
    }
    body.update(overrides)
    return body


# --- communities ------------------------------------------------------------------------------
def test_admin_creates_a_community(client_for, admin_user):
    response = client_for(admin_user).post(
        "/api/v1/communities/", {"code": "DC-001", "name": "东城社区", "region_code": "110101"}, format="json"
    )
    assert response.status_code == 201
    community = Community.objects.get(code="DC-001")
    assert response.json() == {"id": community.pk, "code": "DC-001", "name": "东城社区", "region_code": "110101"}
    assert community.kind == "community"


def test_creating_a_community_is_refused_to_a_community_worker_and_checks_its_input(client_for, admin_user):
    worker = factories.staff(organisation=community("C-1"))
    assert client_for(worker).post(
        "/api/v1/communities/", {"code": "C-2", "name": "x", "region_code": "110101"}, format="json"
    ).status_code == 403
    duplicate = client_for(admin_user).post(
        "/api/v1/communities/", {"code": "C-1", "name": "x", "region_code": "999999"}, format="json"
    )
    assert duplicate.status_code == 400
    assert set(duplicate.json()) == {"code", "region_code"}
    assert list(Community.objects.values_list("code", flat=True)) == ["C-1"]


# --- the lift flow ----------------------------------------------------------------------------
def test_worker_registers_and_lifts_and_the_status_goes_from_home_observation_to_no_abnormality(
    client_for, django_capture_on_commit_callbacks
):
    # given a worker of a community
    here = community("C-1")
    worker = factories.staff(organisation=here)
    client = client_for(worker)
    # when they register a home quarantine
    with django_capture_on_commit_callbacks(execute=True):
        created = client.post("/api/v1/communities/C-1/quarantines/", quarantine_body(), format="json")
    # then the answer carries the record and the person's status: home observation
    assert created.status_code == 201
    body = created.json()
    assert body["community"] == "C-1"
    assert body["kind"] == "home"
    assert body["lifted_at"] is None
    assert body["person"]["name"] == "王五"
    assert "id_number" not in body["person"] and body["person"]["id_masked"].count("*") == 8
    assert (body["status"]["status"], body["status"]["label"], body["status"]["reasons"]) == (
        "home_observation", "居家观察", ["R2", "quarantine_home"]
    )
    # when they lift it
    with django_capture_on_commit_callbacks(execute=True):
        lifted = client.post(f"/api/v1/quarantines/{body['id']}/lift/", {}, format="json")
    # then the answer is the recomputed status: released, no abnormality (no stays to contradict it)
    assert lifted.status_code == 200
    assert lifted.json()["lifted_at"] is not None
    assert (lifted.json()["status"]["status"], lifted.json()["status"]["label"], lifted.json()["status"]["reasons"]) == (
        "no_abnormality", "未见异常", ["G1", "released_quarantine"]
    )
    record = QuarantineRecord.objects.get(pk=body["id"])
    assert record.lifted_by == worker
    stored = HealthStatus.objects.get(person=record.person)
    assert (stored.status, stored.dirty) == ("no_abnormality", False)
    assert list(StatusEvent.objects.filter(person=record.person).order_by("pk").values_list("new_status", "cause")) == [
        ("home_observation", "quarantine_registered"),
        ("no_abnormality", "quarantine_lifted"),
    ]


def test_lift_with_a_qualifying_beijing_platform_stay_gives_no_abnormality(client_for, django_capture_on_commit_callbacks):
    # given a person in home quarantine who has been in Beijing (Dongcheng) for 3 days, per the platform
    here = community("C-1")
    worker = factories.staff(organisation=here)
    record = register(here, actor=worker)
    ItineraryStay.objects.create(person=record.person, region_id="110101", arrived_at=timezone.now() - timedelta(days=3))
    # when the quarantine is lifted an hour ago
    lifted_at = timezone.now() - timedelta(hours=1)
    with django_capture_on_commit_callbacks(execute=True):
        response = client_for(worker).post(
            f"/api/v1/quarantines/{record.pk}/lift/", {"lifted_at": lifted_at.isoformat()}, format="json"
        )
    # then the stay is eligible and G1 releases the person
    assert response.status_code == 200
    assert response.json()["status"]["reasons"] == ["G1", "released_quarantine"]
    assert QuarantineRecord.objects.get(pk=record.pk).lifted_at == lifted_at


def test_lift_with_a_stay_outside_jjj_after_the_release_gives_popup(client_for, django_capture_on_commit_callbacks):
    # given a person in home quarantine who went to Shanghai after the lift time
    here = community("C-1")
    worker = factories.staff(organisation=here)
    record = register(here, actor=worker)
    ItineraryStay.objects.create(
        person=record.person, region_id="310101", arrived_at=timezone.now() - timedelta(hours=20), left_at=None
    )
    # when the quarantine is lifted a day ago
    with django_capture_on_commit_callbacks(execute=True):
        response = client_for(worker).post(
            f"/api/v1/quarantines/{record.pk}/lift/",
            {"lifted_at": (timezone.now() - timedelta(days=1)).isoformat()},
            format="json",
        )
    # then G1 does not apply: the stay outside JJJ goes on after the release
    assert response.status_code == 200
    assert response.json()["status"]["status"] == "popup"
    assert "itinerary_outside_jjj" in response.json()["status"]["reasons"]


def test_lifting_twice_answers_400_and_changes_nothing(client_for, django_capture_on_commit_callbacks):
    here = community("C-1")
    worker = factories.staff(organisation=here)
    record = register(here, actor=worker)
    client = client_for(worker)
    with django_capture_on_commit_callbacks(execute=True):
        assert client.post(f"/api/v1/quarantines/{record.pk}/lift/", {}, format="json").status_code == 200
    first = QuarantineRecord.objects.get(pk=record.pk)
    status_before = HealthStatus.objects.get(person=record.person)
    events_before = StatusEvent.objects.count()
    # when it is lifted again
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        again = client.post(f"/api/v1/quarantines/{record.pk}/lift/", {}, format="json")
    # then 400, same lift, same status, nothing enqueued, no new event
    assert again.status_code == 400
    assert again.json() == {"detail": "该隔离记录已解除，不能重复解除。"}
    after = QuarantineRecord.objects.get(pk=record.pk)
    assert (after.lifted_at, after.lifted_by_id, after.updated_at) == (first.lifted_at, first.lifted_by_id, first.updated_at)
    status_after = HealthStatus.objects.get(person=record.person)
    assert (status_after.inputs_version, status_after.status) == (status_before.inputs_version, status_before.status)
    assert StatusEvent.objects.count() == events_before
    assert callbacks == []


# --- scoping ----------------------------------------------------------------------------------
def test_another_communitys_worker_gets_404_everywhere_and_changes_nothing(client_for):
    # given a record of community C-1, and a worker of C-2
    here, there = community("C-1"), community("C-2")
    record = register(here)
    stranger = client_for(factories.staff(organisation=there))
    # then every path to C-1's records is "not found"
    assert stranger.get("/api/v1/communities/C-1/quarantines/").status_code == 404
    assert stranger.post("/api/v1/communities/C-1/quarantines/", quarantine_body(), format="json").status_code == 404
    assert stranger.get(f"/api/v1/quarantines/{record.pk}/").status_code == 404
    assert stranger.post(f"/api/v1/quarantines/{record.pk}/lift/", {}, format="json").status_code == 404
    assert stranger.patch(
        f"/api/v1/quarantines/{record.pk}/", {"planned_end_at": None, "comment": "x"}, format="json"
    ).status_code == 404
    # and nothing changed
    assert QuarantineRecord.objects.get(pk=record.pk).lifted_at is None
    assert QuarantineRecord.objects.count() == 1
    assert PlannedEndChange.objects.count() == 0
    # while their own list is empty, not an error
    assert stranger.get("/api/v1/communities/C-2/quarantines/").json()["count"] == 0


def test_a_hotel_clerk_gets_403_and_an_anonymous_caller_401(client_for, api):
    here = community("C-1")
    record = register(here)
    clerk = client_for(factories.staff(organisation=factories.organisation("hotel", "H-1")))
    assert clerk.get("/api/v1/communities/C-1/quarantines/").status_code == 403
    assert clerk.post("/api/v1/communities/C-1/quarantines/", quarantine_body(), format="json").status_code == 403
    assert clerk.post(f"/api/v1/quarantines/{record.pk}/lift/", {}, format="json").status_code == 403
    assert clerk.post("/api/v1/quarantines/999999/lift/", {}, format="json").status_code == 403
    assert api.post(f"/api/v1/quarantines/{record.pk}/lift/", {}, format="json").status_code == 401
    assert QuarantineRecord.objects.get(pk=record.pk).lifted_at is None


def test_admin_may_act_for_any_community(client_for, admin_user, django_capture_on_commit_callbacks):
    here = community("C-1")
    client = client_for(admin_user)
    with django_capture_on_commit_callbacks(execute=True):
        created = client.post("/api/v1/communities/C-1/quarantines/", quarantine_body(kind="centralized"), format="json")
    assert created.status_code == 201
    assert created.json()["status"]["reasons"] == ["R2", "quarantine_centralized"]
    assert client.post(f"/api/v1/quarantines/{created.json()['id']}/lift/", {}, format="json").status_code == 200
    assert client.get("/api/v1/communities/NOPE/quarantines/").status_code == 404
    assert QuarantineRecord.objects.get().community == here


# --- listing ----------------------------------------------------------------------------------
def test_list_filters_active_and_paginates(client_for):
    here = community("C-1")
    worker = factories.staff(organisation=here)
    records = [register(here, actor=worker, started_at=timezone.now() - timedelta(days=5 - i)) for i in range(3)]
    client = client_for(worker)
    client.post(f"/api/v1/quarantines/{records[0].pk}/lift/", {}, format="json")
    everything = client.get("/api/v1/communities/C-1/quarantines/").json()
    assert everything["count"] == 3
    assert [row["id"] for row in everything["results"]] == [records[2].pk, records[1].pk, records[0].pk]
    active = client.get("/api/v1/communities/C-1/quarantines/?active=true").json()
    assert [row["id"] for row in active["results"]] == [records[2].pk, records[1].pk]
    lifted = client.get("/api/v1/communities/C-1/quarantines/?active=false").json()
    assert [row["id"] for row in lifted["results"]] == [records[0].pk]
    page = client.get("/api/v1/communities/C-1/quarantines/?limit=1&offset=1").json()
    assert (page["count"], [row["id"] for row in page["results"]]) == (3, [records[1].pk])
    assert client.get("/api/v1/communities/C-1/quarantines/?active=maybe").status_code == 400


# --- bad input --------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"person": {"name": "王五", "id_number": "110105199001010000"}}, "person"),
        ({"started_at": (timezone.now() + timedelta(days=1)).isoformat()}, "started_at"),
        (
            {
                "started_at": (timezone.now() - timedelta(days=2)).isoformat(),
                "planned_end_at": (timezone.now() - timedelta(days=3)).isoformat(),
            },
            "planned_end_at",
        ),
        ({"kind": "hotel"}, "kind"),
    ],
)
def test_bad_input_answers_400_with_the_field_and_writes_nothing(client_for, overrides, field):
    here = community("C-1")
    response = client_for(factories.staff(organisation=here)).post(
        "/api/v1/communities/C-1/quarantines/", quarantine_body(**overrides), format="json"
    )
    assert response.status_code == 400
    assert list(response.json()) == [field]
    assert (Person.objects.count(), QuarantineRecord.objects.count()) == (0, 0)


def test_a_known_id_number_with_another_name_answers_409_and_writes_nothing(client_for):
    here = community("C-1")
    number = factories.id_number()
    register(here, name="赵六", number=number)
    response = client_for(factories.staff(organisation=here)).post(
        "/api/v1/communities/C-1/quarantines/",
        quarantine_body(person={"name": "钱七", "id_number": number}, kind="centralized"),
        format="json",
    )
    assert response.status_code == 409
    assert QuarantineRecord.objects.count() == 1


def test_lift_before_start_or_in_the_future_answers_400_and_lifts_nothing(client_for):
    here = community("C-1")
    worker = factories.staff(organisation=here)
    record = register(here, actor=worker, started_at=timezone.now() - timedelta(days=1))
    client = client_for(worker)
    before = client.post(
        f"/api/v1/quarantines/{record.pk}/lift/", {"lifted_at": (timezone.now() - timedelta(days=2)).isoformat()}, format="json"
    )
    future = client.post(
        f"/api/v1/quarantines/{record.pk}/lift/", {"lifted_at": (timezone.now() + timedelta(days=1)).isoformat()}, format="json"
    )
    assert (before.status_code, list(before.json())) == (400, ["lifted_at"])
    assert (future.status_code, list(future.json())) == (400, ["lifted_at"])
    assert QuarantineRecord.objects.get(pk=record.pk).lifted_at is None


# --- planned end ------------------------------------------------------------------------------
def test_patch_planned_end_keeps_the_history(client_for):
    here = community("C-1")
    worker = factories.staff(organisation=here)
    started = timezone.now() - timedelta(days=1)
    record = register(here, actor=worker, started_at=started, planned_end_at=started + timedelta(days=7))
    client = client_for(worker)
    response = client.patch(
        f"/api/v1/quarantines/{record.pk}/",
        {"planned_end_at": (started + timedelta(days=14)).isoformat(), "comment": "同住人转阳，延长"},
        format="json",
    )
    assert response.status_code == 200
    changes = response.json()["planned_end_changes"]
    assert len(changes) == 1
    assert (changes[0]["changed_by"], changes[0]["comment"]) == (worker.username, "同住人转阳，延长")
    assert QuarantineRecord.objects.get(pk=record.pk).planned_end_at == started + timedelta(days=14)
    missing_comment = client.patch(
        f"/api/v1/quarantines/{record.pk}/", {"planned_end_at": started.isoformat()}, format="json"
    )
    assert (missing_comment.status_code, list(missing_comment.json())) == (400, ["comment"])
    assert PlannedEndChange.objects.count() == 1
