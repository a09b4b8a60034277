"""Faults with real processes on PostgreSQL + Redis: a worker killed mid-recomputation, the broker stopped
while changes are committed, a writer killed between commit and enqueue. After each, every person's
status converges to the engine's answer on the current data within the stated bound."""
import json
import signal
import time
import uuid
from datetime import timedelta

import psycopg
import pytest
import redis
from django.db import connection, transaction
from django.utils import timezone

from health.models import Designation, HealthStatus
from health.services.persons import person_resolve
from health.services.statuses import persons_mark_dirty, statuses_recompute, statuses_sweep
from tests import factories
from tests.reliability.helpers import (
    RedisServer,
    Worker,
    actor_env,
    actor_start,
    broker,
    current_database_url,
    eager_off,
    engine_mismatches,
    free_port,
    queue_purge,
    wait_until,
)

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True, serialized_rollback=True)]

GRACE = 1  # STATUS_SWEEP_GRACE_SECONDS in these tests
SWEEP_EVERY = 0.5  # seconds between sweeps (beat's role; 5 s in production)
# Stated bounds, from the moment a worker and the broker are available again, with the grace and sweep
# interval above: grace + one sweep interval + the worker's reconnection + the recompute itself.
KILLED_WORKER_BOUND = 10.0
BROKER_RESTART_BOUND = 20.0  # includes the worker's own reconnection back-off
LOST_ENQUEUE_BOUND = 5.0
WRITE_BOUND = 3.0


@pytest.fixture
def queue(settings):
    name = f"statuses-faults-{uuid.uuid4().hex[:10]}"
    settings.STATUS_RECOMPUTE_QUEUE = name
    settings.STATUS_SWEEP_GRACE_SECONDS = GRACE
    return name


def persons_computed(count: int) -> list[int]:
    ids = [person_resolve(name=f"人员{i}", id_number=factories.id_number(serial=i)).pk for i in range(count)]
    statuses_recompute(ids, cause="person_created")
    return ids


def designations_committed(person_ids, *, one_transaction: bool = True) -> list[float]:
    """A close-contact designation for each person, with the dirty mark; returns each commit's duration."""
    at = timezone.now() - timedelta(hours=1)
    groups = [person_ids] if one_transaction else [[pk] for pk in person_ids]
    durations = []
    for group in groups:
        started = time.monotonic()
        with transaction.atomic():
            Designation.objects.bulk_create(Designation(person_id=pk, kind="close_contact", designated_at=at) for pk in group)
            persons_mark_dirty(group, cause="designation")
        durations.append(time.monotonic() - started)
    return durations


def converge(*, timeout: float) -> tuple[float | None, list[dict]]:
    """Sweep every SWEEP_EVERY seconds (as beat would) until every status matches the engine."""
    sweeps: list[dict] = []
    elapsed = wait_until(lambda: not engine_mismatches(), timeout=timeout, interval=SWEEP_EVERY, between=lambda: sweeps.append(statuses_sweep()))
    return elapsed, sweeps


def backends_waiting_on_a_lock() -> int:
    with connection.cursor() as cursor:
        cursor.execute(
            "select count(*) from pg_stat_activity where datname = current_database() and wait_event_type = 'Lock'"
        )
        return cursor.fetchone()[0]


def test_a_worker_killed_in_the_middle_of_a_recomputation_loses_nothing(worker_services, settings, queue):
    # given 60 persons computed as popup, recomputed in chunks of 20, and a first worker
    settings.STATUS_RECOMPUTE_BATCH_SIZE = 20
    ids = persons_computed(60)
    queue_purge(settings.CELERY_BROKER_URL, queue)
    first = Worker(broker_url=settings.CELERY_BROKER_URL, queue=queue, extra_env={"STATUS_RECOMPUTE_BATCH_SIZE": "20"})
    second = Worker(broker_url=settings.CELERY_BROKER_URL, queue=queue, extra_env={"STATUS_RECOMPUTE_BATCH_SIZE": "20"})
    # and another session holding the lock of the 11th person's status row: the first chunk's write
    # transaction will stop there, with the rows before it locked and its decisions made
    holder = psycopg.connect(current_database_url().replace("postgres://", "postgresql://"))
    try:
        with eager_off():
            # when a change to all 60 is committed (three tasks published) and the worker starts on them
            designations_committed(ids)
            holder.execute("select 1 from health_healthstatus where person_id = %s for update", [ids[10]])
            first.start()
            blocked = wait_until(lambda: backends_waiting_on_a_lock() > 0, timeout=15, interval=0.05)
            assert blocked is not None, f"the worker never reached the write; log:\n{first.log()}"

            # and the worker is killed with SIGKILL while inside its write transaction
            first.kill()
            killed_at = time.monotonic()
            holder.rollback()
            still_dirty = HealthStatus.objects.filter(person_id__in=ids, dirty=True).count()

            # and a new worker starts, with the sweep running
            second.start()
            restarted = time.monotonic() - killed_at
            elapsed, sweeps = converge(timeout=30)

        # then nothing the killed worker was doing was half-written, and every status converges
        print(f"\nkilled mid-write; {still_dirty} dirty after the kill; new worker after {restarted:.2f} s; "
              f"converged {elapsed} s later; sweeps {sweeps[:6]}")
        assert first.process.returncode == -signal.SIGKILL
        assert still_dirty == 60
        assert elapsed is not None, f"never converged: {engine_mismatches()[:5]}\n{second.log()}"
        assert elapsed < KILLED_WORKER_BOUND
        assert set(HealthStatus.objects.filter(person_id__in=ids).values_list("status", flat=True)) == {"centralized_observation"}
        assert any(sweep["dirty"] > 0 for sweep in sweeps)
        # and the workers' logs hold no plain ID number (privacy: only person ids travel in tasks)
        logs = "\n".join(first.lines + second.lines)
        assert "statuses_recompute_task" in logs
        assert [n for n in (factories.id_number(serial=i) for i in range(60)) if n[:17] in logs] == []
    finally:
        holder.close()
        first.stop()
        second.stop()


def test_the_broker_stopped_while_changes_are_committed_and_started_again(worker_services, settings, queue):
    # given a private broker with a worker on it, through which a first change has propagated
    redis_server = RedisServer(free_port())
    redis_server.start()
    worker = Worker(broker_url=redis_server.url, queue=queue)
    ids = persons_computed(31)
    try:
        worker.start()
        with broker(redis_server.url), eager_off():
            designations_committed(ids[:1])
            assert wait_until(lambda: not HealthStatus.objects.filter(pk=ids[0], dirty=True).exists(), timeout=10) is not None

            # when the broker stops, and 30 changes are committed one by one while it is down
            redis_server.stop()
            writes = designations_committed(ids[1:], one_transaction=False)
            dirty_while_down = HealthStatus.objects.filter(person_id__in=ids[1:], dirty=True).count()

            # and it starts again (empty: whatever it held is gone), with the sweep running
            redis_server.start()
            elapsed, sweeps = converge(timeout=40)

        # then every write returned fast, nothing was lost, and all statuses converge within the bound
        print(f"\n30 writes with the broker down: slowest {max(writes) * 1000:.0f} ms; "
              f"converged {elapsed} s after it came back; sweeps {sweeps[:8]}")
        assert max(writes) < WRITE_BOUND
        assert dirty_while_down == 30
        assert Designation.objects.filter(person_id__in=ids).count() == 31
        assert elapsed is not None, f"never converged: {engine_mismatches()[:5]}\n{worker.log()}"
        assert elapsed < BROKER_RESTART_BOUND
    finally:
        worker.stop()
        redis_server.stop()


def test_a_writer_killed_between_commit_and_enqueue_is_repaired_by_the_sweep(worker_services, settings, queue):
    # given a person computed as popup
    (person_id,) = persons_computed(1)
    queue_purge(settings.CELERY_BROKER_URL, queue)
    env = actor_env(CELERY_BROKER_URL=settings.CELERY_BROKER_URL, STATUS_RECOMPUTE_QUEUE=queue)

    # when a process commits a designation and is killed (SIGKILL) before its on-commit publish runs
    process = actor_start("commit-then-die", person_id, env=env)
    out, err = process.communicate(timeout=60)

    # then the change and its dirty mark are committed, and no task was ever published
    assert process.returncode == -signal.SIGKILL, err
    assert out == ""
    assert Designation.objects.filter(person_id=person_id).count() == 1
    status = HealthStatus.objects.get(person_id=person_id)
    assert (status.status, status.dirty) == ("popup", True)
    assert redis.Redis.from_url(settings.CELERY_BROKER_URL).llen(queue) == 0

    # when a worker and the sweep run
    worker = Worker(broker_url=settings.CELERY_BROKER_URL, queue=queue)
    try:
        worker.start()
        started = time.monotonic()
        with eager_off():
            elapsed, sweeps = converge(timeout=20)
        print(f"\nlost enqueue repaired {elapsed} s after the worker was ready ({time.monotonic() - started:.2f} s); sweeps {sweeps[:4]}")
        # then the status converges through the sweep
        assert elapsed is not None, f"never converged: {engine_mismatches()}\n{worker.log()}"
        assert elapsed < LOST_ENQUEUE_BOUND
        assert HealthStatus.objects.get(person_id=person_id).status == "centralized_observation"
    finally:
        worker.stop()


def test_many_processes_racing_on_one_person_end_on_the_engine_s_answer(worker_services):
    # given one person, six writers designating and clearing them, and two processes recomputing them
    (person_id,) = persons_computed(1)
    env = actor_env(CELERY_BROKER_URL="")  # no broker: each writer recomputes in-process after its commit
    started = time.monotonic()
    processes = [actor_start("race-writer", person_id, 15, seed, env=env) for seed in range(6)]
    processes += [actor_start("recompute-loop", person_id, 4, env=env) for _ in range(2)]
    results = []
    for process in processes:
        out, err = process.communicate(timeout=120)
        assert process.returncode == 0, err[-2000:]
        results.append(json.loads(out.strip().splitlines()[-1]))
    duration = time.monotonic() - started

    # then the stored status is the engine's answer on the final data, with no sweep and no extra recompute
    from health.models import StatusEvent
    from tests.reliability.helpers import status_events_monotonic

    events = StatusEvent.objects.filter(person_id=person_id).count()
    print(f"\nrace: {results} in {duration:.1f} s; {events} status events")
    assert sum(r.get("created", 0) + r.get("cleared", 0) for r in results) >= 60
    assert engine_mismatches() == []
    # and no older computation ever overwrote a newer one
    assert status_events_monotonic() == []
    status = HealthStatus.objects.get(person_id=person_id)
    assert status.computed_version == status.inputs_version
