"""The communities services: register, change the planned end, lift one, many, or a person's."""
from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from communities.models import PlannedEndChange, QuarantineRecord
from communities.services import (
    AlreadyLifted,
    quarantine_change_planned_end,
    quarantine_lift,
    quarantines_lift,
    quarantines_lift_for_person,
)
from health.models import HealthStatus, Person
from health.services.statuses import person_status_fresh
from tests import factories
from tests.communities.helpers import community, register

pytestmark = pytest.mark.django_db


def test_register_puts_the_person_in_home_observation(django_capture_on_commit_callbacks):
    # given a community
    home = community()
    # when a home quarantine is registered and committed
    with django_capture_on_commit_callbacks(execute=True):
        record = register(home, name="李四")
    # then the person is in home observation, already recomputed (eager on commit)
    status = HealthStatus.objects.get(person=record.person)
    assert (status.status, status.reasons, status.dirty) == ("home_observation", ["R2", "quarantine_home"], False)


def test_lift_for_person_lifts_every_active_quarantine_of_that_person_in_that_community_only():
    # given a person with a home and a centralized quarantine here, and one in another community
    here, there = community("C-1"), community("C-2")
    number = factories.id_number()
    home = register(here, number=number, kind="home")
    centralized = register(here, number=number, kind="centralized")
    elsewhere = register(there, number=number, kind="home")
    released_at = timezone.now() - timedelta(minutes=1)
    # when the community releases the person
    lifted = quarantines_lift_for_person(actor=None, person=home.person, community=here, lifted_at=released_at)
    # then both of this community's records are lifted at the release, the other community's is not
    assert sorted(lifted) == sorted([home.pk, centralized.pk])
    assert QuarantineRecord.objects.get(pk=home.pk).lifted_at == released_at
    assert QuarantineRecord.objects.get(pk=centralized.pk).lifted_at == released_at
    assert QuarantineRecord.objects.get(pk=elsewhere.pk).lifted_at is None
    assert person_status_fresh(home.person_id).reasons == ["R2", "quarantine_home"]


def test_lift_for_person_leaves_a_quarantine_started_after_the_release():
    here = community()
    record = register(here, started_at=timezone.now() - timedelta(hours=1))
    lifted = quarantines_lift_for_person(
        actor=None, person=record.person, community=here, lifted_at=timezone.now() - timedelta(hours=2)
    )
    assert lifted == []
    assert QuarantineRecord.objects.get(pk=record.pk).lifted_at is None


def test_lifting_twice_is_refused_and_changes_nothing(django_capture_on_commit_callbacks):
    # given a lifted quarantine, its status recomputed
    here = community()
    with django_capture_on_commit_callbacks(execute=True):
        record = register(here)
        first = quarantine_lift(actor=None, record=record, lifted_at=timezone.now() - timedelta(hours=1))
    before = HealthStatus.objects.get(person=record.person)
    events = record.person.status_events.count()
    # when it is lifted again
    with django_capture_on_commit_callbacks(execute=True) as callbacks, pytest.raises(AlreadyLifted):
        quarantine_lift(actor=None, record=record)
    assert callbacks == []
    # then nothing changed: same lift time, same status row, no new event, not dirty
    after = HealthStatus.objects.get(person=record.person)
    assert QuarantineRecord.objects.get(pk=record.pk).lifted_at == first.lifted_at
    assert (after.inputs_version, after.status, after.dirty) == (before.inputs_version, before.status, False)
    assert record.person.status_events.count() == events


def test_bulk_lift_skips_records_already_lifted():
    here = community()
    records = [register(here) for _ in range(3)]
    quarantine_lift(actor=None, record=records[0])
    lifted = quarantines_lift(actor=None, records_or_ids=[r.pk for r in records])
    assert sorted(lifted) == sorted([records[1].pk, records[2].pk])


def test_planned_end_changes_are_kept_with_who_when_old_new_and_why():
    # given a quarantine planned to end in 7 days, and a worker of its community
    here = community()
    worker = factories.staff(organisation=here)
    started = timezone.now() - timedelta(days=1)
    first_end = started + timedelta(days=7)
    record = register(here, actor=worker, started_at=started, planned_end_at=first_end)
    # when it is extended, then shortened
    quarantine_change_planned_end(actor=worker, record=record, planned_end_at=first_end + timedelta(days=7), comment="复查阳性，延长")
    quarantine_change_planned_end(actor=worker, record=record, planned_end_at=first_end + timedelta(days=3), comment="复核后缩短")
    # then the record carries the last one, and both changes are in the history, newest first
    assert QuarantineRecord.objects.get(pk=record.pk).planned_end_at == first_end + timedelta(days=3)
    history = list(
        PlannedEndChange.objects.filter(record=record).values_list(
            "old_planned_end_at", "new_planned_end_at", "changed_by", "comment"
        )
    )
    assert history == [
        (first_end + timedelta(days=7), first_end + timedelta(days=3), worker.pk, "复核后缩短"),
        (first_end, first_end + timedelta(days=7), worker.pk, "复查阳性，延长"),
    ]


def test_planned_end_change_needs_a_comment_and_an_end_after_start_and_writes_nothing_otherwise():
    here = community()
    started = timezone.now() - timedelta(days=1)
    record = register(here, started_at=started, planned_end_at=started + timedelta(days=7))
    with pytest.raises(ValidationError) as error:
        quarantine_change_planned_end(actor=None, record=record, planned_end_at=started - timedelta(days=1), comment=" ")
    assert set(error.value.message_dict) == {"planned_end_at", "comment"}
    assert QuarantineRecord.objects.get(pk=record.pk).planned_end_at == started + timedelta(days=7)
    assert PlannedEndChange.objects.count() == 0


def test_register_refuses_bad_input_and_writes_nothing():
    here = community()
    with pytest.raises(ValidationError) as error:
        register(
            here,
            number="110105199001010000",
            started_at=timezone.now() + timedelta(hours=1),
            planned_end_at=timezone.now(),
        )
    assert set(error.value.message_dict) == {"id_number", "started_at", "planned_end_at"}
    assert (Person.objects.count(), QuarantineRecord.objects.count()) == (0, 0)


def test_register_refuses_a_second_active_quarantine_of_the_same_kind():
    here = community()
    number = factories.id_number()
    register(here, number=number)
    with pytest.raises(ValidationError) as error:
        register(here, number=number)
    assert list(error.value.message_dict) == ["kind"]
    assert QuarantineRecord.objects.count() == 1


# --- the time bounds every entry point shares (health.timebounds) -----------------------------------
IN_2002 = timezone.datetime(2002, 5, 1, 8, 0, tzinfo=timezone.get_fixed_timezone(480))
IN_2202 = timezone.datetime(2202, 5, 1, 8, 0, tzinfo=timezone.get_fixed_timezone(480))


@pytest.mark.parametrize(
    ("times", "field", "message"),
    [
        ({"started_at": IN_2002}, "started_at", "该时间过早。"),
        ({"planned_end_at": IN_2202}, "planned_end_at", "该时间过晚。"),
    ],
)
def test_register_refuses_times_outside_the_shared_bounds(times, field, message):
    # when a quarantine is registered from the shell with a start in 2002 or a planned end in 2202
    with pytest.raises(ValidationError) as refused:
        register(community(), **times)
    # then the service refuses it as the API and the admin do, and writes nothing
    assert refused.value.message_dict == {field: [message]}
    assert not QuarantineRecord.objects.exists()


def test_planned_end_change_refuses_2202_and_changes_nothing():
    record = register(community())
    with pytest.raises(ValidationError) as refused:
        quarantine_change_planned_end(actor=None, record=record, planned_end_at=IN_2202, comment="延长")
    assert refused.value.message_dict == {"planned_end_at": ["该时间过晚。"]}
    assert QuarantineRecord.objects.get(pk=record.pk).planned_end_at is None
    assert not PlannedEndChange.objects.exists()


def test_lift_in_2002_is_refused():
    record = register(community())
    with pytest.raises(ValidationError) as refused:
        quarantine_lift(actor=None, record=record, lifted_at=IN_2002)
    assert refused.value.message_dict == {"lifted_at": ["该时间过早。"]}
    assert QuarantineRecord.objects.get(pk=record.pk).lifted_at is None
