"""What survives without a worker: a publish that raises after commit, and the Celery settings that make redelivery safe."""
from datetime import timedelta

import pytest
from django.conf import settings
from django.db import DatabaseError, transaction
from django.utils import timezone

from config.celery_app import app
from health import tasks
from health.models import Designation, HealthStatus
from health.services import status_marking
from health.services.persons import person_resolve
from health.services.statuses import persons_mark_dirty, statuses_recompute, statuses_sweep
from tests import factories
from tests.reliability.helpers import engine_mismatches


@pytest.mark.django_db
def test_an_enqueue_that_raises_after_commit_keeps_the_change_and_the_sweep_repairs_it(monkeypatch, settings, django_capture_on_commit_callbacks):
    # given a person computed as popup, and an enqueue that fails after the commit (a crash in the publish)
    settings.STATUS_SWEEP_GRACE_SECONDS = 0
    person = person_resolve(name="赵六", id_number=factories.id_number())
    statuses_recompute([person.pk], cause="person_created")

    def broken(person_ids):
        raise ConnectionError("the process died while publishing")

    monkeypatch.setattr(status_marking, "statuses_enqueue", broken)
    # when a designation is committed
    with django_capture_on_commit_callbacks(execute=True):
        with transaction.atomic():
            Designation.objects.create(person=person, kind="confirmed", designated_at=timezone.now() - timedelta(hours=2))
            persons_mark_dirty([person.pk], cause="designation")
    # then the write stands and the person is dirty with the old status
    status = HealthStatus.objects.get(person=person)
    assert (status.status, status.dirty) == ("popup", True)
    assert Designation.objects.filter(person=person).count() == 1

    # when the enqueue works again and the sweep runs (tasks in-process here)
    monkeypatch.undo()
    with django_capture_on_commit_callbacks(execute=True):
        swept = statuses_sweep(now=timezone.now() + timedelta(seconds=1))
    # then the status converges to the engine's answer
    assert swept == {"dirty": 1, "due": 0}
    assert HealthStatus.objects.get(person=person).status == "centralized_observation"
    assert engine_mismatches() == []


def test_celery_is_configured_for_redelivery_and_retries():
    # acknowledged after the task, rejected (requeued) when its worker dies, one task at a time
    assert app.conf.task_acks_late is True
    assert app.conf.task_reject_on_worker_lost is True
    assert app.conf.worker_prefetch_multiplier == 1
    assert app.conf.worker_cancel_long_running_tasks_on_connection_loss is True
    # a message is never handed to a second worker while the first may still run it
    assert app.conf.broker_transport_options["visibility_timeout"] > app.conf.task_time_limit
    # publisher confirms on RabbitMQ; publishing gives up within seconds, never hangs a request
    assert app.conf.broker_transport_options["confirm_publish"] is True
    assert app.conf.broker_transport_options["socket_timeout"] <= 2
    assert settings.CELERY_TASK_PUBLISH_RETRY_POLICY["max_retries"] <= 1
    # every status task is retried with backoff on database errors, and acknowledged late itself
    for task in (tasks.statuses_recompute_task, tasks.statuses_sweep, tasks.statuses_recompute_all_task):
        assert task.acks_late is True
        assert DatabaseError in task.autoretry_for
        assert task.retry_backoff and task.retry_backoff_max <= 60
        assert task.max_retries >= 5
