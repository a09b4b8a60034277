"""Fan-out: from one change of a region's risk, or of the policy, to every person it can touch.

Marks them dirty (status_marking); the recompute tasks then decide each of them.
"""
from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import datetime

from django.conf import settings
from django.db import transaction

from health import registry
from health.engine.regions import risk_reach
from health.models import HealthStatus
from health.services.status_inputs import policy_current
from health.services.status_marking import (
    _eager,
    persons_mark_dirty,
    persons_mark_dirty_range,
    statuses_enqueue_ranges,
)
from health.services.status_recompute import person_id_ranges

logger = logging.getLogger(__name__)


def persons_at_region(region_code: str, *, home_region: str | None = None) -> set[int]:
    """Persons with any place (stay, hotel, origin) that a risk designation of this region can reach.

    The places are the engine's own answer (regions.risk_reach), the one the rules judge risk by,
    so a person whose decision a designation can change is never left out.
    """
    reach = risk_reach(region_code, home_region or policy_current().home_region)
    person_ids: set[int] = set()
    for source in registry.sources():
        if source.persons_at is not None:
            person_ids.update(source.persons_at(reach))
    return person_ids


def region_risk_changed(region_code: str, *, cause: str = "risk_area") -> int:
    """Inside the caller's transaction: mark everyone the region's risk can touch dirty."""
    person_ids = persons_at_region(region_code)
    persons_mark_dirty(person_ids, cause=cause)
    return len(person_ids)


def statuses_recompute_all(*, cause: str = "policy_change", chunk_size: int | None = None) -> int:
    """Mark every person dirty and enqueue them, one id range per transaction (a new policy, or an operator).

    Keyset id ranges of `STATUS_RECOMPUTE_CHUNK_SIZE` persons: each is marked by one `UPDATE` of the
    range and, once committed, sent as one range task (`statuses_recompute_range_task`, read in
    batches of `STATUS_RECOMPUTE_BATCH_SIZE`), so the workers start on the first range while the
    next ones are marked. Each range is durable once committed, so an interrupted run loses
    nothing: the sweep finishes it.
    """
    chunk_size = chunk_size or settings.STATUS_RECOMPUTE_CHUNK_SIZE
    broker = {"up": True}

    def enqueue(first: int, last: int) -> None:
        # A broker that refuses one range is not asked for the next ones: they stay dirty for the sweep.
        if not broker["up"]:
            return
        try:
            statuses_enqueue_ranges([(first, last)], cause=cause)
        except Exception as error:  # noqa: BLE001 - any broker failure: the sweep repairs it
            if _eager():
                raise
            broker["up"] = False
            logger.warning("status recompute ranges not enqueued from person %s on: %s", first, type(error).__name__)

    count = 0
    for first, last in person_id_ranges(size=chunk_size):
        with transaction.atomic():
            count += persons_mark_dirty_range(first, last, cause=cause)
            transaction.on_commit(lambda first=first, last=last: enqueue(first, last))
    return count


def person_id_chunks(*, chunk_size: int, dirty: bool | None = None, due_at: datetime | None = None) -> Iterator[list[int]]:
    """Person ids in ascending keyset chunks; optionally only dirty ones, or only clean ones due at `due_at`."""
    rows = HealthStatus.objects.all()
    if dirty is not None:
        rows = rows.filter(dirty=dirty)
    if due_at is not None:
        rows = rows.filter(valid_until__lte=due_at)
    last = 0
    while True:
        ids = list(rows.filter(person_id__gt=last).order_by("person_id").values_list("person_id", flat=True)[:chunk_size])
        if not ids:
            return
        yield ids
        last = ids[-1]
