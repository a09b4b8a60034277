"""Lifting 500 quarantines at once: one transaction, one dirty mark, one recompute batch."""
from datetime import date, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from communities.models import QuarantineRecord
from communities.services import quarantines_lift
from health import tasks
from health.models import HealthStatus, StatusEvent
from health.services.statuses import statuses_recompute
from tests import factories
from tests.communities.helpers import community, register

pytestmark = pytest.mark.django_db


def quarantined(here, count: int, *, born: date) -> list[QuarantineRecord]:
    started = timezone.now() - timedelta(days=3)
    records = [
        register(here, name=f"隔离{n}", number=factories.id_number(born=born, serial=n), started_at=started)
        for n in range(count)
    ]
    statuses_recompute([r.person_id for r in records])
    return records


def lift_counting(monkeypatch, django_capture_on_commit_callbacks, records, actor):
    """Lift the records; the SQL queries (lift + recompute) and the recompute task runs."""
    sent: list[list[int]] = []
    recompute = tasks.statuses.statuses_recompute

    def counting_recompute(person_ids, *args, **kwargs):
        sent.append(list(person_ids))
        return recompute(person_ids, *args, **kwargs)

    # Counts the recompute task runs (the task calls this); the database is the real one.
    with monkeypatch.context() as patched:
        patched.setattr(tasks.statuses, "statuses_recompute", counting_recompute)
        with CaptureQueriesContext(connection) as queries, django_capture_on_commit_callbacks(execute=True) as callbacks:
            lifted = quarantines_lift(actor=actor, records_or_ids=[r.pk for r in records])
    return lifted, len(queries), sent, callbacks


def test_bulk_lift_of_500_recomputes_all_500_in_one_batch(monkeypatch, django_capture_on_commit_callbacks):
    # given 500 persons in home observation in one community, and 50 in another
    big, small = community("C-BIG"), community("C-SMALL")
    worker = factories.staff(organisation=big)
    records = quarantined(big, 500, born=date(1980, 1, 1))
    few = quarantined(small, 50, born=date(1985, 1, 1))
    assert set(HealthStatus.objects.values_list("status", flat=True)) == {"home_observation"}
    events_before = StatusEvent.objects.count()
    # when a worker lifts all 500 at once (and, for comparison, the 50 are lifted)
    lifted, queries, sent, callbacks = lift_counting(monkeypatch, django_capture_on_commit_callbacks, records, worker)
    _, queries_for_50, _, _ = lift_counting(monkeypatch, django_capture_on_commit_callbacks, few, None)
    # then all 500 are lifted, with one on-commit enqueue of one task carrying all 500 persons
    assert sorted(lifted) == sorted(r.pk for r in records)
    assert len(callbacks) == 1
    assert [len(batch) for batch in sent] == [500]
    # and the query count does not grow per person: 10x the persons, a handful more (SQLite bulk_update batches)
    print(f"queries: 500 lifts -> {queries}, 50 lifts -> {queries_for_50}")
    assert queries <= queries_for_50 + 12, (queries, queries_for_50)
    assert queries < 50
    # and every one of the 500 statuses is recomputed: released, no longer in home observation
    statuses = HealthStatus.objects.filter(person_id__in=[r.person_id for r in records])
    assert list(statuses.values_list("status", "reasons", "dirty").distinct()) == [
        ("no_abnormality", ["G1", "released_quarantine"], False)
    ]
    assert StatusEvent.objects.count() == events_before + 550
    assert QuarantineRecord.objects.filter(lifted_at__isnull=True).count() == 0
    assert QuarantineRecord.objects.filter(community=big, lifted_by=worker).count() == 500


def test_a_worker_cannot_bulk_lift_another_communitys_records():
    from health.errors import NotVisible

    here, there = community("C-1"), community("C-2")
    mine, theirs = register(here), register(there)
    worker = factories.staff(organisation=here)
    with pytest.raises(NotVisible):
        quarantines_lift(actor=worker, records_or_ids=[mine.pk, theirs.pk])
    assert QuarantineRecord.objects.filter(lifted_at__isnull=False).count() == 0
