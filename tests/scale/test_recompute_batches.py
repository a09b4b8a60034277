"""Recomputing many persons costs a bounded number of queries per batch, never per person."""
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from devtools.population import population_generate
from health.models import HealthStatus, StatusEvent
from health.services.statuses import (
    person_id_ranges,
    policy_current,
    risk_areas_current,
    statuses_enqueue_ranges,
    statuses_recompute,
    statuses_recompute_range,
)

pytestmark = pytest.mark.django_db

# Per batch: versions, six loader queries at most (stays, declarations, designations, quarantines,
# check-ins and their tests, inbound cases), the locking read, and the writes (a temporary table,
# COPY, UPDATE, COPY of events on PostgreSQL; UPDATE and INSERT on SQLite), plus savepoints.
QUERIES_PER_BATCH = 20


def test_recompute_of_many_persons_issues_a_bounded_number_of_queries_per_batch(settings):
    settings.STATUS_RECOMPUTE_BATCH_SIZE = 50
    # given 1,000 generated persons with every kind of record, statuses not computed yet
    population_generate(persons=1000, seed=7, compute=False)
    ids = list(HealthStatus.objects.order_by("person_id").values_list("person_id", flat=True))
    assert len(ids) == 1000
    now = timezone.now()
    policy = policy_current()
    risks = risk_areas_current(now=now, policy=policy)

    # when 100 persons are recomputed in batches of 50, then 900 in batches of 50
    with CaptureQueriesContext(connection) as two_batches:
        small = statuses_recompute(ids[:100], now=now, policy=policy, risk_areas=risks, cause="test")
    with CaptureQueriesContext(connection) as eighteen_batches:
        first, last = ids[100], ids[-1]
        large = statuses_recompute_range(first, last, now=now, policy=policy, risk_areas=risks, batch_size=50)

    # then every person was evaluated and written once, with an event for each first status
    assert (small.evaluated, small.written, small.changed) == (100, 100, 100)
    assert (large.evaluated, large.written, large.changed) == (900, 900, 900)
    assert not HealthStatus.objects.filter(computed_at__isnull=True).exists()
    assert StatusEvent.objects.count() == 1000
    # and the queries are bounded per batch: 900 persons cost about nine times 100, far below one per person
    print(f"queries: 100 persons = {len(two_batches)}, 900 persons = {len(eighteen_batches)}")
    assert len(two_batches) <= 2 * QUERIES_PER_BATCH
    assert len(eighteen_batches) <= 18 * QUERIES_PER_BATCH + 1
    assert len(eighteen_batches) < 900 / 2


def test_a_second_recompute_from_the_same_inputs_writes_nothing(settings):
    # given computed statuses (computed twice: a first computation at the generator's own moment
    # may end one second later, when a generated time equals that moment)
    settings.STATUS_RECOMPUTE_BATCH_SIZE = 100
    population_generate(persons=200, seed=3)
    statuses_recompute(list(HealthStatus.objects.values_list("person_id", flat=True)))
    before = dict(HealthStatus.objects.values_list("person_id", "computed_at"))
    events = StatusEvent.objects.count()

    # when everyone is recomputed again with the same facts and policy
    result = statuses_recompute(list(before))

    # then nothing is rewritten: same computation times, no new event
    assert (result.evaluated, result.written, result.unchanged, result.changed) == (200, 0, 200, 0)
    assert dict(HealthStatus.objects.values_list("person_id", "computed_at")) == before
    assert StatusEvent.objects.count() == events


def test_id_ranges_cover_every_person_once_in_order():
    population_generate(persons=230, seed=1, compute=False)
    ids = list(HealthStatus.objects.order_by("person_id").values_list("person_id", flat=True))

    ranges = list(person_id_ranges(size=100))

    assert [len([pk for pk in ids if first <= pk <= last]) for first, last in ranges] == [100, 100, 30]
    assert (ranges[0][0], ranges[-1][1]) == (ids[0], ids[-1])


def test_range_tasks_recompute_everyone_once_each():
    # given 250 generated persons, none computed
    population_generate(persons=250, seed=4, compute=False)

    # when everyone is sent as range tasks of 100 (run in-process here, as without a broker)
    sent = statuses_enqueue_ranges(person_id_ranges(size=100), cause="policy_change")

    # then three tasks covered everyone, each person computed once, with the cause on its event
    assert sent == 3
    assert not HealthStatus.objects.filter(computed_at__isnull=True).exists()
    assert not HealthStatus.objects.filter(dirty=True).exists()
    assert StatusEvent.objects.count() == 250
    assert set(StatusEvent.objects.values_list("cause", flat=True)) == {"generated"}
