"""A real worker keeps its database connection across tasks (within CONN_MAX_AGE) and its copy of the
policy and risk areas, and a designation or a policy version written meanwhile is still seen by its
very next recompute (docs/scaling.md, "Fourth round: propagation")."""

import uuid
from datetime import timedelta

import pytest
from django.db import connection, transaction
from django.utils import timezone

from health import registry
from health.engine import RiskAreas, evaluate
from health.models import HealthStatus, ItineraryStay, Policy, Region
from health.services.persons import person_resolve
from health.services.policy import policy_republish
from health.services.risk_areas import risk_area_create
from health.services.statuses import policy_current, risk_facts_current, statuses_recompute
from tests import factories
from tests.reliability.helpers import Worker, eager_off, queue_purge, wait_until
from tests.reliability.test_worker import person_with_computed_status, status_is, verified_itinerary_written

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


@pytest.fixture
def queue(settings):
    name = f"statuses-test-{uuid.uuid4().hex[:10]}"
    settings.STATUS_RECOMPUTE_QUEUE = name
    return name


def engine_answer(person_id: int, *, now):
    """The engine's decision from the rows as they are, read without any kept copy."""
    policy = policy_current(now=now)
    areas = RiskAreas(risk_facts_current(now=now, policy=policy))
    return evaluate(registry.facts_for([person_id])[person_id], now=now, policy=policy, risk_areas=areas)


def worker_backends(application_name: str) -> list[int]:
    """The PostgreSQL backends the worker holds (named by PGAPPNAME, which libpq reads from its environment)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pid FROM pg_stat_activity WHERE application_name = %s ORDER BY pid", [application_name])
        return [row[0] for row in cursor.fetchall()]


def a_worker(settings, queue: str, *, conn_max_age: str) -> tuple[Worker, str]:
    name = f"worker-{uuid.uuid4().hex[:8]}"
    queue_purge(settings.CELERY_BROKER_URL, queue)
    worker = Worker(
        broker_url=settings.CELERY_BROKER_URL, queue=queue, extra_env={"CONN_MAX_AGE": conn_max_age, "PGAPPNAME": name}
    )
    return worker, name


def test_the_worker_keeps_one_database_connection_across_tasks(worker_services, settings, queue):
    # given a worker whose connections may live a minute, and three persons computed as popup
    worker, name = a_worker(settings, queue, conn_max_age="60")
    persons = [person_with_computed_status(name) for name in ("张三", "李四", "王五")]
    seen = []
    try:
        worker.start()
        with eager_off():
            # when each person's change is committed and recomputed by the worker, one after the other
            for person in persons:
                verified_itinerary_written(person)
                assert wait_until(status_is(person, "no_abnormality"), timeout=10) is not None, worker.log()
                seen.append(worker_backends(name))
    finally:
        worker.stop()

    # then the worker held one connection after each task, the same one all three times
    assert len(seen[0]) == 1
    assert seen == [seen[0]] * 3


def test_with_conn_max_age_0_the_worker_closes_its_connection_after_each_task(worker_services, settings, queue):
    # given a worker told to keep no connection, and a person computed as popup
    worker, name = a_worker(settings, queue, conn_max_age="0")
    person = person_with_computed_status("张三")
    try:
        worker.start()
        with eager_off():
            # when the person's change is recomputed by the worker
            verified_itinerary_written(person)
            assert wait_until(status_is(person, "no_abnormality"), timeout=10) is not None, worker.log()
            # then its connection is gone once the task has ended
            assert wait_until(lambda: worker_backends(name) == [], timeout=5) is not None
    finally:
        worker.stop()


def test_a_designation_and_a_policy_version_written_meanwhile_reach_the_worker_s_next_recompute(
    worker_services, settings, queue
):
    # given a person with a stay in 石家庄 (130104) computed, and a worker that has already recomputed
    # someone (so it holds the policy and risk areas of that moment)
    worker, name = a_worker(settings, queue, conn_max_age="60")
    now = timezone.now()
    traveller = person_resolve(name="赵六", id_number=factories.id_number())
    ItineraryStay.objects.create(
        person=traveller, region_id="130104", arrived_at=now - timedelta(days=3), left_at=now - timedelta(days=1)
    )
    statuses_recompute([traveller.pk], cause="person_created")
    before = HealthStatus.objects.get(person=traveller)
    first = person_with_computed_status("张三")
    try:
        worker.start()
        with eager_off():
            verified_itinerary_written(first)
            assert wait_until(status_is(first, "no_abnormality"), timeout=10) is not None, worker.log()
            backend = worker_backends(name)

            # when a high-risk designation of that district is published (the service: fan-out, then tasks)
            with transaction.atomic():
                risk_area_create(
                    actor=None,
                    region=Region.objects.get(code="130104"),
                    level="high",
                    effective_from=now - timedelta(days=5),
                )

            # then the same worker process stores the decision with the designation in it
            def changed():
                row = HealthStatus.objects.get(person=traveller)
                return not row.dirty and (row.status, row.reasons) != (before.status, before.reasons)

            assert wait_until(changed, timeout=10) is not None, worker.log()
            after = HealthStatus.objects.get(person=traveller)
            expected = engine_answer(traveller.pk, now=after.computed_at)
            assert (after.status, after.reasons) == (expected.status, list(expected.reasons))

            # and when a new policy version is published, everyone it recomputes carries that version
            with transaction.atomic():
                version = policy_republish(actor=None, base=Policy.objects.order_by("-version").first()).version

            def all_on_the_new_version():
                return not HealthStatus.objects.exclude(policy_version=version).exists() and not (
                    HealthStatus.objects.filter(dirty=True).exists()
                )

            assert wait_until(all_on_the_new_version, timeout=20) is not None, worker.log()
            assert worker_backends(name) == backend
    finally:
        worker.stop()
