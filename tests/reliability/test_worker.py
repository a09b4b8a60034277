"""A real Celery worker on the test database: a committed change reaches the status within a second,
and a write made while the broker is down loses nothing (the dirty mark and the sweep converge it)."""
import time
import uuid
from datetime import timedelta

import pytest
from django.db import transaction
from django.utils import timezone

from health.models import HealthStatus, ItineraryDeclaration, ItineraryStay
from health.services.persons import person_resolve
from health.services.statuses import persons_mark_dirty, statuses_recompute, statuses_sweep
from tests import factories
from tests.reliability.helpers import RedisServer, Worker, broker, eager_off, free_port, queue_purge, wait_until

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True, serialized_rollback=True)]

PROPAGATION_BOUND = 1.0  # seconds, commit -> status visible (status-rules.md: "within a second")
WRITE_BOUND = 3.0  # seconds a write may take when the broker is down
CONVERGENCE_BOUND = 5.0  # seconds from the broker's return to the status, with a sweep every 0.5 s


def person_with_computed_status(name: str):
    person = person_resolve(name=name, id_number=factories.id_number())
    statuses_recompute([person.pk], cause="person_created")
    assert HealthStatus.objects.get(person=person).status == "popup"
    return person


def verified_itinerary_written(person) -> None:
    """The platform's stay and the person's declaration, committed with the dirty mark (G3 when recomputed)."""
    now = timezone.now()
    with transaction.atomic():
        ItineraryStay.objects.create(
            person=person, region_id="110105", arrived_at=now - timedelta(days=3), left_at=now - timedelta(days=1)
        )
        ItineraryDeclaration.objects.create(person=person, declared_at=now, region_codes=["110000"])
        persons_mark_dirty([person.pk], cause="itinerary")


def status_is(person, code: str):
    return lambda: HealthStatus.objects.filter(person=person, status=code, dirty=False).exists()


@pytest.fixture
def queue(settings):
    """A queue of this run's own: no stale message from another run can be consumed, none is left for one."""
    name = f"statuses-test-{uuid.uuid4().hex[:10]}"
    settings.STATUS_RECOMPUTE_QUEUE = name
    return name


def test_a_committed_change_reaches_the_status_through_the_worker_within_a_second(worker_services, settings, queue):
    # given a worker on the configured broker and this test's database, and a person computed as popup
    worker = Worker(broker_url=settings.CELERY_BROKER_URL, queue=queue)
    queue_purge(settings.CELERY_BROKER_URL, queue)
    person = person_with_computed_status("张三")
    try:
        startup = worker.start()
        with eager_off():
            # when a writer commits a change and the dirty mark (the task is published on commit)
            committed = time.monotonic()
            verified_itinerary_written(person)
            publish = time.monotonic() - committed

            # then the worker recomputes it within the bound
            delay = wait_until(status_is(person, "no_abnormality"), timeout=10)
        print(f"\nworker ready in {startup:.2f} s; publish {publish * 1000:.1f} ms; propagation {delay} s")
        assert delay is not None, f"status never changed; worker log:\n{worker.log()}"
        assert delay < PROPAGATION_BOUND, f"propagation took {delay:.3f} s"
        status = HealthStatus.objects.get(person=person)
        assert (status.reasons, status.computed_version) == (["G3", "itinerary_verified"], status.inputs_version)
    finally:
        worker.stop()


def test_a_write_while_the_broker_is_down_is_fast_and_converges_once_it_is_back(worker_services, settings, queue):
    # given this process pointed at a broker port nothing listens on yet, and a person computed as popup
    settings.STATUS_SWEEP_GRACE_SECONDS = 1
    redis = RedisServer(free_port())
    worker = Worker(broker_url=redis.url, queue=queue)
    person = person_with_computed_status("李四")
    try:
        with broker(redis.url), eager_off():
            # when a writer commits a change while the broker is unreachable
            started = time.monotonic()
            verified_itinerary_written(person)
            write = time.monotonic() - started

            # then the write returned quickly, and the person is still dirty with the old status
            print(f"\nwrite with the broker down: {write * 1000:.1f} ms")
            assert write < WRITE_BOUND
            status = HealthStatus.objects.get(person=person)
            assert (status.status, status.dirty, status.dirty_cause) == ("popup", True, "itinerary")
            assert status.inputs_version == status.computed_version + 1

            # when the broker comes back with a worker, and the sweep runs as beat would (here every 0.5 s)
            redis.start()
            worker.start()
            sweeps = []
            converged = wait_until(
                status_is(person, "no_abnormality"), timeout=30, interval=0.5, between=lambda: sweeps.append(statuses_sweep())
            )

        # then the status converges within the bound, through the sweep
        print(f"converged {converged} s after the broker came back; sweeps: {sweeps}")
        assert converged is not None, f"never converged; sweeps {sweeps}; worker log:\n{worker.log()}"
        assert converged < CONVERGENCE_BOUND
        assert any(sweep["dirty"] == 1 for sweep in sweeps)
        assert HealthStatus.objects.get(person=person).reasons == ["G3", "itinerary_verified"]
    finally:
        worker.stop()
        redis.stop()
