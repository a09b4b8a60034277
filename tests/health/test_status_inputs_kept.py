"""The recompute's policy and risk areas, kept per process: the same answers as reading them each time,
and a write to either table (by a service, the ORM or raw SQL) is seen by the very next recompute."""

from datetime import timedelta

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from health import registry
from health.engine import evaluate
from health.models import HealthStatus, ItineraryStay, Policy, RiskArea, StatusInputsStamp
from health.services.persons import person_resolve
from health.services.status_inputs import status_inputs_current, status_inputs_stamp
from health.services.statuses import policy_current, risk_facts_current, statuses_recompute
from tests import factories

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _stamp_row():
    """The migration's row (a database emptied by an earlier transactional test has lost it)."""
    StatusInputsStamp.objects.get_or_create(pk=1)


def same_as_uncached(now):
    """status_inputs_current at `now` against the two queries it replaces."""
    policy, areas = status_inputs_current(now=now)
    expected = policy_current(now=now)
    facts = risk_facts_current(now=now, policy=expected)
    assert policy == expected
    assert sorted(sum(areas._by_province.values(), ()), key=repr) == sorted(facts, key=repr)
    return policy, areas


def person_with_stay(region: str):
    now = timezone.now()
    person = person_resolve(name="张三", id_number=factories.id_number())
    ItineraryStay.objects.create(
        person=person, region_id=region, arrived_at=now - timedelta(days=3), left_at=now - timedelta(days=1)
    )
    statuses_recompute([person.pk], cause="person_created")
    return person


def engine_answer(person, now):
    """What the engine decides from the current rows, read without any kept copy."""
    policy = policy_current(now=now)
    from health.engine import RiskAreas

    areas = RiskAreas(risk_facts_current(now=now, policy=policy))
    return evaluate(registry.facts_for([person.pk])[person.pk], now=now, policy=policy, risk_areas=areas)


def test_a_second_recompute_reads_only_the_stamp_for_its_inputs():
    # given the inputs read once in this process
    now = timezone.now()
    same_as_uncached(now)

    # when they are asked for again with nothing written
    with CaptureQueriesContext(connection) as queries:
        same_policy, _areas = status_inputs_current(now=now + timedelta(seconds=1))

    # then one query was made, the stamp's, and the policy is the one in force
    assert [query["sql"] for query in queries.captured_queries] == [
        "SELECT stamp FROM health_statusinputsstamp WHERE id = 1"
    ]
    assert same_policy == policy_current(now=now)


def test_a_new_risk_area_is_seen_by_the_next_recompute_in_the_same_process():
    # given a person with a stay in 石家庄 (130104), recomputed: the inputs are now kept
    person = person_with_stay("130104")
    before = HealthStatus.objects.get(person=person)
    stamp = status_inputs_stamp()

    # when a high-risk designation of that district is written with the ORM alone (no service, no fan-out)
    RiskArea.objects.create(region_id="130104", level="high", effective_from=timezone.now() - timedelta(days=5))
    statuses_recompute([person.pk], cause="risk_area")

    # then the stamp moved, and the stored decision is the engine's with the new designation
    assert status_inputs_stamp() != stamp
    after = HealthStatus.objects.get(person=person)
    expected = engine_answer(person, timezone.now())
    assert (after.status, after.reasons) == (expected.status, list(expected.reasons))
    assert (after.status, after.reasons) != (before.status, before.reasons)
    same_as_uncached(timezone.now())


def test_an_ended_withdrawn_or_deleted_risk_area_leaves_the_kept_copy_at_once():
    # given a standing designation, kept
    area = RiskArea.objects.create(region_id="130104", level="high", effective_from=timezone.now() - timedelta(days=5))
    assert len(same_as_uncached(timezone.now())[1].candidates("130104")) == 1

    # when it is withdrawn by a raw UPDATE, then deleted by a raw DELETE
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE health_riskarea SET withdrawn_at = %s, withdrawal_reason = 'x' WHERE id = %s",
            [timezone.now(), area.pk],
        )
    withdrawn = same_as_uncached(timezone.now())[1]
    area.withdrawn_at = None
    area.save()
    restored = same_as_uncached(timezone.now())[1]
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM health_riskarea WHERE id = %s", [area.pk])
    deleted = same_as_uncached(timezone.now())[1]

    # then each state is the table's
    assert (len(withdrawn.candidates("130104")), len(restored.candidates("130104"))) == (0, 1)
    assert deleted.candidates("130104") == ()


def test_a_designation_leaves_the_window_with_time_alone():
    # given a designation that ended 13 days 23 hours ago (window 14 days), kept
    now = timezone.now()
    window = policy_current(now=now).window_days
    ended = now - timedelta(days=window) + timedelta(hours=1)
    RiskArea.objects.create(
        region_id="130104", level="high", effective_from=ended - timedelta(days=3), effective_to=ended
    )
    assert len(same_as_uncached(now)[1].candidates("130104")) == 1

    # when two hours pass with nothing written, it is out of the window; asked for an earlier moment, back in
    assert same_as_uncached(now + timedelta(hours=2))[1].candidates("130104") == ()
    assert len(same_as_uncached(now)[1].candidates("130104")) == 1


def test_a_new_policy_version_and_a_planned_one_are_in_force_when_they_should_be():
    # given the version in force, kept
    now = timezone.now()
    current = same_as_uncached(now)[0]

    # when a version is written now and another planned for an hour later (ORM alone, no activation)
    Policy.objects.create(version=current.version + 1, window_days=21, effective_from=now - timedelta(seconds=1))
    Policy.objects.create(version=current.version + 2, window_days=28, effective_from=now + timedelta(hours=1))

    # then the next read has the first at once, and the planned one once its time has come
    assert same_as_uncached(now)[0].window_days == 21
    assert same_as_uncached(now + timedelta(hours=2))[0].window_days == 28


def test_a_rolled_back_write_leaves_the_stamp_and_the_answer_as_they_were():
    # given the inputs kept under the current stamp
    now = timezone.now()
    stamp = status_inputs_stamp()
    same_as_uncached(now)

    # when a designation is written and seen inside a transaction that is rolled back
    with pytest.raises(RuntimeError), transaction.atomic():
        RiskArea.objects.create(region_id="130104", level="high", effective_from=now - timedelta(days=1))
        assert len(same_as_uncached(now)[1].candidates("130104")) == 1
        raise RuntimeError("rolled back")

    # then the stamp is back and the designation is gone from the answer
    assert status_inputs_stamp() == stamp
    assert same_as_uncached(now)[1].candidates("130104") == ()


def test_without_the_stamp_row_nothing_is_kept():
    # given the stamp row gone (a flushed database)
    StatusInputsStamp.objects.all().delete()
    now = timezone.now()
    same_as_uncached(now)

    # when a designation is written, then it is read at once all the same
    RiskArea.objects.create(region_id="130104", level="high", effective_from=now - timedelta(days=1))
    assert len(same_as_uncached(now)[1].candidates("130104")) == 1
