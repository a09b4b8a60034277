"""The recomputation pipeline through its services: dirty mark, on-commit recompute, versions, sweep, fan-out."""
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from health import registry
from health.engine import RiskAreas, RiskFact, evaluate
from health.models import Designation, HealthStatus, ItineraryDeclaration, ItineraryStay, Person, RiskArea, StatusEvent
from health.services.persons import person_resolve
from health.services.statuses import (
    _statuses_write,
    person_status_fresh,
    persons_at_region,
    persons_mark_dirty,
    policy_current,
    region_risk_changed,
    risk_areas_current,
    statuses_recompute,
    statuses_recompute_all,
    statuses_sweep,
)
from tests import factories

pytestmark = pytest.mark.django_db

POPUP_NO_DATA = ["P", "itinerary_unverifiable", "itinerary_not_declared"]


class Rollback(Exception):
    pass


def computed_person(name: str = "张三") -> Person:
    """A person whose first status is already computed (popup, no data), clean."""
    person = person_resolve(name=name, id_number=factories.id_number())
    statuses_recompute([person.pk], cause="person_created")
    return person


def status_of(person: Person) -> HealthStatus:
    return HealthStatus.objects.get(person=person)


def designate(person: Person, **times) -> Designation:
    now = timezone.now()
    return Designation.objects.create(
        person=person, kind=Designation.Kind.CLOSE_CONTACT, designated_at=times.get("at", now - timedelta(hours=1)),
        cleared_at=times.get("cleared_at"),
    )


def stay(person: Person, region: str, *, days_ago: int = 3) -> ItineraryStay:
    now = timezone.now()
    return ItineraryStay.objects.create(
        person=person, region_id=region, arrived_at=now - timedelta(days=days_ago), left_at=now - timedelta(days=1)
    )


# --- dirty mark and on-commit recompute ----------------------------------------------------------
def test_marking_happens_in_the_writers_transaction_and_recompute_after_commit(django_capture_on_commit_callbacks):
    # given a person with a computed status
    person = computed_person()
    before = status_of(person)
    assert (before.status, before.reasons, before.dirty) == ("popup", POPUP_NO_DATA, False)

    # when a writer records a designation and marks the person dirty in its transaction
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        with transaction.atomic():
            designate(person)
            persons_mark_dirty([person.pk], cause="designation")
            during = status_of(person)
        after_commit_before_callbacks = status_of(person)

    # then the dirty mark and the version were written with the change, the status was not yet
    assert (during.dirty, during.dirty_cause, during.inputs_version) == (True, "designation", before.inputs_version + 1)
    assert (during.status, during.computed_version) == ("popup", before.computed_version)
    assert after_commit_before_callbacks.status == "popup"
    assert len(callbacks) == 1
    # and right after commit the status was recomputed from the new inputs
    after = status_of(person)
    assert (after.status, after.reasons) == ("centralized_observation", ["R1", "designation_close_contact"])
    assert (after.dirty, after.dirty_since, after.computed_version) == (False, None, after.inputs_version)
    event = StatusEvent.objects.get(person=person, new_status="centralized_observation")
    assert (event.old_status, event.old_reasons, event.cause) == ("popup", POPUP_NO_DATA, "designation")
    assert event.inputs_version == after.inputs_version


def test_a_rolled_back_write_leaves_status_version_and_history_untouched(django_capture_on_commit_callbacks):
    # given a person with a computed status and its history
    person = computed_person()
    before = status_of(person)
    events_before = StatusEvent.objects.filter(person=person).count()

    # when the writer marks the person dirty and then fails
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        with pytest.raises(Rollback), transaction.atomic():
            designate(person)
            persons_mark_dirty([person.pk], cause="designation")
            raise Rollback

    # then nothing was enqueued, nothing recomputed, nothing written
    assert callbacks == []
    after = status_of(person)
    assert (after.status, after.reasons, after.dirty) == ("popup", POPUP_NO_DATA, False)
    assert (after.inputs_version, after.computed_version, after.computed_at) == (
        before.inputs_version,
        before.computed_version,
        before.computed_at,
    )
    assert StatusEvent.objects.filter(person=person).count() == events_before
    assert not Designation.objects.filter(person=person).exists()


def test_an_older_computation_never_overwrites_a_newer_one(django_capture_on_commit_callbacks):
    # given a computation started from the person's current inputs (popup, no data)
    person = computed_person()
    now = timezone.now()
    policy = policy_current()
    stale_versions = dict(HealthStatus.objects.filter(person=person).values_list("person_id", "inputs_version"))
    stale_decision = evaluate(
        registry.facts_for([person.pk])[person.pk], now=now, policy=policy, risk_areas=risk_areas_current(now=now, policy=policy)
    )
    # and, before it writes, a change is committed and recomputed
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        designate(person)
        persons_mark_dirty([person.pk], cause="designation")
    newer = status_of(person)
    assert newer.status == "centralized_observation"
    events = StatusEvent.objects.filter(person=person).count()

    # when the old computation finally writes, even with a later clock
    result = _statuses_write({person.pk: stale_decision}, stale_versions, now=timezone.now(), cause="late")

    # then it is skipped: the newer status, its version and the history stand
    assert (result.skipped_newer, result.written, result.changed) == (1, 0, 0)
    after = status_of(person)
    assert (after.status, after.reasons) == ("centralized_observation", ["R1", "designation_close_contact"])
    assert (after.computed_version, after.computed_at) == (newer.computed_version, newer.computed_at)
    assert StatusEvent.objects.filter(person=person).count() == events


def test_status_event_only_when_status_or_reasons_change(django_capture_on_commit_callbacks):
    # given a computed person with one event (the first computation)
    person = computed_person()
    assert StatusEvent.objects.filter(person=person).count() == 1
    first = status_of(person)

    # when the person is marked dirty and recomputed with the same facts
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        persons_mark_dirty([person.pk], cause="itinerary")

    # then the row is recomputed (newer version, clean) but no event is written
    same = status_of(person)
    assert (same.computed_version, same.dirty) == (first.computed_version + 1, False)
    assert StatusEvent.objects.filter(person=person).count() == 1

    # when a fact changes the status
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        designate(person)
        persons_mark_dirty([person.pk], cause="designation")

    # then exactly one event with the cause, old and new
    events = list(StatusEvent.objects.filter(person=person).order_by("pk"))
    assert [(e.old_status, e.new_status, e.cause) for e in events] == [
        ("", "popup", "person_created"),
        ("popup", "centralized_observation", "designation"),
    ]


# --- sweep ----------------------------------------------------------------------------------------
def test_sweep_reenqueues_old_dirty_and_due_persons_only(settings, django_capture_on_commit_callbacks):
    settings.STATUS_SWEEP_GRACE_SECONDS = 60
    now = timezone.now()
    # given: a person dirty for longer than the grace period (its message was lost)
    lost = computed_person("甲")
    designate(lost)
    HealthStatus.objects.filter(person=lost).update(
        dirty=True, dirty_since=now - timedelta(seconds=61), dirty_cause="designation", inputs_version=5
    )
    # a person dirty within the grace period (its message is still on its way)
    recent = computed_person("乙")
    designate(recent)
    HealthStatus.objects.filter(person=recent).update(
        dirty=True, dirty_since=now - timedelta(seconds=10), dirty_cause="designation", inputs_version=5
    )
    # a person whose status was computed two hours ago and expired an hour ago
    due = computed_person("丙")
    designate(due, at=now - timedelta(days=2), cleared_at=now - timedelta(hours=1))
    persons_mark_dirty([due.pk], cause="designation")
    statuses_recompute([due.pk], now=now - timedelta(hours=2))
    due_before = status_of(due)
    assert (due_before.status, due_before.valid_until) == ("centralized_observation", now - timedelta(hours=1))
    # and a clean person whose status is still valid
    fresh = computed_person("丁")
    designate(fresh, at=now - timedelta(days=2), cleared_at=now + timedelta(days=1))
    persons_mark_dirty([fresh.pk], cause="designation")
    statuses_recompute([fresh.pk], now=now)
    fresh_before = status_of(fresh)

    # when the sweep runs
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        counts = statuses_sweep(now=now)

    # then it selected exactly the lost and the due persons, restarting the grace period of the lost one
    assert counts == {"dirty": 1, "due": 1}
    assert len(callbacks) == 1
    assert status_of(lost).dirty_since == now
    assert status_of(recent).dirty_since == now - timedelta(seconds=10)
    due_marked = status_of(due)
    assert (due_marked.dirty, due_marked.dirty_cause, due_marked.inputs_version) == (
        True,
        "valid_until",
        due_before.inputs_version + 1,
    )

    # and once enqueued they converge, while the others are untouched
    callbacks[0]()
    assert (status_of(lost).status, status_of(lost).dirty) == ("centralized_observation", False)
    assert (status_of(due).status, status_of(due).dirty) == ("popup", False)
    assert StatusEvent.objects.get(person=due, new_status="popup", old_status="centralized_observation").cause == (
        "valid_until"
    )
    assert (status_of(recent).status, status_of(recent).dirty) == ("popup", True)
    fresh_after = status_of(fresh)
    assert (fresh_after.computed_at, fresh_after.inputs_version, fresh_after.dirty) == (
        fresh_before.computed_at,
        fresh_before.inputs_version,
        False,
    )


def test_sweep_picks_up_a_new_person_dirty_without_a_mark_time(settings, django_capture_on_commit_callbacks):
    # given a person just created (dirty, never computed, no dirty_since)
    person = person_resolve(name="戊", id_number=factories.id_number())
    assert (status_of(person).dirty, status_of(person).dirty_since) == (True, None)

    # when the sweep runs
    with django_capture_on_commit_callbacks(execute=True):
        counts = statuses_sweep()

    # then the person is computed
    assert counts == {"dirty": 1, "due": 0}
    assert (status_of(person).status, status_of(person).dirty) == ("popup", False)


def test_person_status_fresh_recomputes_a_status_past_its_valid_until():
    # given a status computed two hours ago that expired an hour ago
    now = timezone.now()
    person = computed_person()
    designate(person, at=now - timedelta(days=2), cleared_at=now - timedelta(hours=1))
    persons_mark_dirty([person.pk], cause="designation")
    statuses_recompute([person.pk], now=now - timedelta(hours=2))
    assert status_of(person).status == "centralized_observation"

    # when it is read
    status = person_status_fresh(person.pk, now=now)

    # then it is recomputed first
    assert (status.status, status.reasons, status.computed_at) == ("popup", POPUP_NO_DATA, now)
    assert StatusEvent.objects.filter(person=person).latest("pk").cause == "valid_until"


def test_person_status_fresh_serves_a_valid_status_without_writing():
    person = computed_person()
    before = status_of(person)

    status = person_status_fresh(person.pk)

    assert (status.computed_at, status.computed_version) == (before.computed_at, before.computed_version)


# --- risk-area fan-out -----------------------------------------------------------------------------
PLACES = [
    "110105", "110108", "110000", "110100", "130102", "130104", "130200", "130000", "130100", "120101",
    "429004", "429000", "429005", "420000", "420100",
]


def persons_with_stays_in(places):
    return {place: stay(computed_person(), place).person_id for place in places}


@pytest.mark.parametrize(
    ("region", "touched"),
    [
        # at home: only places the designated region contains as given
        ("110105", {"110105"}),
        ("110000", {"110105", "110108", "110000", "110100"}),
        # elsewhere: the whole city of the region, and its province coded as a whole
        ("130104", {"130102", "130104", "130100", "130000"}),
        ("130100", {"130102", "130104", "130100", "130000"}),
        ("130000", {"130102", "130104", "130200", "130000", "130100"}),
        ("120101", {"120101"}),
        # a county-level city governed by its province: itself, its province, and the XX9000 grouping
        ("429004", {"429004", "429000", "420000"}),
        ("429000", {"429004", "429005", "429000", "420000"}),
    ],
)
def test_region_risk_changed_marks_exactly_the_persons_with_a_place_it_can_touch(
    region, touched, django_capture_on_commit_callbacks
):
    # given persons with one stay each, all clean
    person_at = persons_with_stays_in(PLACES)
    versions = dict(HealthStatus.objects.values_list("person_id", "inputs_version"))
    assert not HealthStatus.objects.filter(dirty=True).exists()

    # when a risk area is designated and fanned out in the same transaction
    with django_capture_on_commit_callbacks(execute=False), transaction.atomic():
        RiskArea.objects.create(region_id=region, level="high", effective_from=timezone.now() - timedelta(days=1))
        count = region_risk_changed(region)

    # then exactly the persons whose stay the designation can make risky are dirty, with a bumped version
    expected = {person_at[place] for place in touched}
    assert count == len(expected)
    assert set(HealthStatus.objects.filter(dirty=True).values_list("person_id", flat=True)) == expected
    for person_id, version in HealthStatus.objects.values_list("person_id", "inputs_version"):
        assert version == versions[person_id] + (1 if person_id in expected else 0)
        assert HealthStatus.objects.get(person_id=person_id).dirty_cause in ("risk_area", "person_created")


def test_fan_out_is_a_superset_of_what_the_engine_finds_relevant():
    # given persons with stays at many kinds of places
    person_at = persons_with_stays_in(PLACES)
    home = policy_current().home_region
    for region in PLACES + ["130203", "310101", "120000"]:
        risks = RiskAreas([RiskFact(region, "high", timezone.now(), None)])
        relevant = {person_at[place] for place in PLACES if risks.relevant(place, home)}

        # when the region's persons are looked up, then none the engine would judge risky is missed
        assert relevant <= persons_at_region(region), region


def test_a_risk_change_changes_the_status_of_a_verified_traveller(django_capture_on_commit_callbacks):
    # given a traveller verified through Shijiazhuang (G3)
    now = timezone.now()
    person = computed_person()
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        stay(person, "130102")
        ItineraryDeclaration.objects.create(person=person, declared_at=now, region_codes=["130100"])
        persons_mark_dirty([person.pk], cause="itinerary")
    assert status_of(person).reasons == ["G3", "itinerary_verified"]

    # when another district of that city becomes high-risk
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        RiskArea.objects.create(region_id="130104", level="high", effective_from=now - timedelta(days=5))
        region_risk_changed("130104")

    # then the traveller is popped up for the risky area, with the cause recorded
    after = status_of(person)
    assert (after.status, after.reasons) == ("popup", ["P", "itinerary_risky_area"])
    assert StatusEvent.objects.filter(person=person).latest("pk").cause == "risk_area"


# --- everyone, in bounded batches --------------------------------------------------------------------
def test_recompute_all_covers_everyone_in_chunks(django_capture_on_commit_callbacks):
    # given 25 computed persons
    persons = [computed_person(f"人{i}") for i in range(25)]
    versions = dict(HealthStatus.objects.values_list("person_id", "inputs_version"))

    # when everyone is recomputed in chunks of 10
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        count = statuses_recompute_all(cause="policy_change", chunk_size=10)

    # then three chunks were committed and enqueued, and every person was recomputed from new inputs
    assert count == 25
    assert len(callbacks) == 3
    for status in HealthStatus.objects.filter(person__in=persons):
        assert status.inputs_version == versions[status.person_id] + 1
        assert (status.computed_version, status.dirty) == (status.inputs_version, False)


def persons_with_facts(count: int) -> list[int]:
    """`count` fresh persons, each with a stay and a declaration, built in bulk (setup only)."""
    now = timezone.now()
    start = Person.objects.count()
    persons = Person.objects.bulk_create(
        [Person(name="批量", id_digest=f"bulk-{start + i}", id_masked="110105********0000") for i in range(count)]
    )
    HealthStatus.objects.bulk_create([HealthStatus(person=p, dirty=True) for p in persons])
    ItineraryStay.objects.bulk_create(
        [ItineraryStay(person=p, region_id="110105", arrived_at=now - timedelta(days=3), left_at=now) for p in persons]
    )
    ItineraryDeclaration.objects.bulk_create(
        [ItineraryDeclaration(person=p, declared_at=now, region_codes=["110000"]) for p in persons]
    )
    return [p.pk for p in persons]


def test_queries_per_batch_do_not_grow_with_the_number_of_persons(settings, django_assert_max_num_queries):
    # given batches of 50, and 50 then 500 fresh persons with facts
    settings.STATUS_RECOMPUTE_BATCH_SIZE = 50
    small, large = persons_with_facts(50), persons_with_facts(500)
    now = timezone.now()
    policy = policy_current()
    risks = risk_areas_current(now=now, policy=policy)

    # when each group is recomputed
    with django_assert_max_num_queries(25), CaptureQueriesContext(connection) as one_batch:
        statuses_recompute(small, now=now, policy=policy, risk_areas=risks)
    with CaptureQueriesContext(connection) as ten_batches:
        result = statuses_recompute(large, now=now, policy=policy, risk_areas=risks)

    # then ten batches cost exactly ten times one batch: the cost is per batch, not per person
    print(f"queries: 50 persons = {len(one_batch)}, 500 persons = {len(ten_batches)}")
    assert len(ten_batches) == 10 * len(one_batch)
    assert (result.evaluated, result.written, result.changed) == (500, 500, 500)
    assert set(HealthStatus.objects.filter(person_id__in=large).values_list("status", flat=True)) == {"no_abnormality"}


# --- the operator's command ------------------------------------------------------------------------
def test_recompute_statuses_command_recomputes_every_person_in_batches(capsys):
    # given 12 persons, never computed, and one computed
    fresh = persons_with_facts(12)
    computed = computed_person()

    # when the operator recomputes everyone in batches of 5 (eager here: in-process)
    call_command("recompute_statuses", "--all", "--batch-size", "5")

    # then every status is computed and clean, and progress went to stderr
    out, err = capsys.readouterr()
    assert "recomputed 13 persons: 12 changed" in out
    assert "13 persons" in err
    assert set(HealthStatus.objects.filter(person_id__in=fresh).values_list("status", "dirty")) == {
        ("no_abnormality", False)
    }
    assert (status_of(computed).status, status_of(computed).dirty) == ("popup", False)


def test_recompute_statuses_command_due_only_touches_expired_statuses(capsys):
    now = timezone.now()
    expired = computed_person("甲")
    designate(expired, at=now - timedelta(days=2), cleared_at=now - timedelta(hours=1))
    persons_mark_dirty([expired.pk], cause="designation")
    statuses_recompute([expired.pk], now=now - timedelta(hours=2))
    valid = computed_person("乙")
    valid_before = status_of(valid)

    call_command("recompute_statuses", "--due")

    assert status_of(expired).status == "popup"
    assert status_of(valid).computed_at == valid_before.computed_at
    assert "recomputed 1 persons: 1 changed" in capsys.readouterr().out
