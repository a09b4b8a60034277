"""Dirty marking and enqueueing: the first half of the write path of every status.

A change to a person's facts calls `persons_mark_dirty` inside its own transaction: the durable
dirty mark and the inputs version are bumped with the change, and a recompute task is enqueued only
after commit. The tasks are sent by name (health.tasks registers them), so that this module does not
import the tasks that import the services: no import circle.
"""
from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence

from django.conf import settings
from django.db import transaction
from django.db.models import F, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from config.celery_app import app
from health import bulk
from health.models import HealthStatus
from health.services.status_inputs import chunked

logger = logging.getLogger(__name__)

RECOMPUTE_TASK = "health.tasks.statuses_recompute_task"
RECOMPUTE_RANGE_TASK = "health.tasks.statuses_recompute_range_task"


def persons_mark_dirty(person_ids: Iterable[int], *, cause: str) -> None:
    """Inside the caller's transaction: bump inputs, keep a durable dirty mark, enqueue after commit."""
    ids = sorted(set(person_ids))
    if not ids:
        return
    now = timezone.now()
    # One array parameter per 20,000 persons: a risk area's 100,000 persons are five statements.
    for chunk in chunked(ids, 20_000):
        HealthStatus.objects.filter(person_id__any_of=bulk.IdArray(chunk)).update(
            dirty=True,
            dirty_since=Coalesce(F("dirty_since"), Value(now)),
            dirty_cause=cause[:64],
            inputs_version=F("inputs_version") + 1,
        )
    transaction.on_commit(lambda: statuses_enqueue(ids), robust=True)


def statuses_enqueue(person_ids: Sequence[int]) -> bool:
    """Send recomputation tasks; False if the broker refused (the dirty mark remains for the sweep).

    Called after commit. With a broker that is down the publish fails within the broker's
    connect/socket timeouts (settings: CELERY_BROKER_TRANSPORT_OPTIONS) and is dropped here on
    purpose: the persons stay dirty and `statuses_sweep` enqueues them again once it can.
    """
    # Read at call time so that a deployment (or a test) can route status work to its own queue.
    queue = getattr(settings, "STATUS_RECOMPUTE_QUEUE", "") or None
    try:
        for chunk in chunked(list(person_ids), settings.STATUS_RECOMPUTE_BATCH_SIZE):
            _task(RECOMPUTE_TASK).apply_async((chunk,), queue=queue)
    except Exception as error:  # noqa: BLE001 - any broker failure: the sweep repairs it
        if _eager():
            raise
        logger.warning("status recompute not enqueued (%s persons): %s", len(person_ids), type(error).__name__)
        return False
    return True


def _eager() -> bool:
    return bool(app.conf.task_always_eager)


def _task(name: str):
    """A task of health.tasks by its name (registered when the app is ready: health/apps.py)."""
    return app.tasks[name]


def statuses_enqueue_ranges(ranges: Iterable[tuple[int, int]], *, cause: str = "") -> int:
    """Send one task per id range (after a policy change, or an operator's full run); the number sent."""
    queue = getattr(settings, "STATUS_RECOMPUTE_QUEUE", "") or None
    sent = 0
    for first, last in ranges:
        _task(RECOMPUTE_RANGE_TASK).apply_async((first, last, cause), queue=queue)
        sent += 1
    return sent


def persons_mark_dirty_range(first_id: int, last_id: int, *, cause: str) -> int:
    """Inside the caller's transaction: mark every status with first_id <= person <= last_id dirty (one UPDATE)."""
    return HealthStatus.objects.filter(person_id__gte=first_id, person_id__lte=last_id).update(
        dirty=True,
        dirty_since=Coalesce(F("dirty_since"), Value(timezone.now())),
        dirty_cause=cause[:64],
        inputs_version=F("inputs_version") + 1,
    )
