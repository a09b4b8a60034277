"""The sweep (every few seconds, beat): dirty persons whose message may be lost, and persons now due.

The repair path of the pipeline: a lost enqueue or a passed valid_until is found here and enqueued
again; a policy version whose planned start has come takes effect first.
"""
from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from health.models import HealthStatus
from health.services.policy import policy_activate_due
from health.services.status_inputs import chunked
from health.services.status_marking import statuses_enqueue


def statuses_sweep(*, now: datetime | None = None, limit: int = 50_000) -> dict[str, int]:
    """Re-enqueue dirty persons whose message may be lost, and persons whose valid_until passed.

    First, a policy version whose planned start has come takes effect (everyone marked, once).
    """
    now = now or timezone.now()
    activated = policy_activate_due(now=now)
    stale = now - timedelta(seconds=settings.STATUS_SWEEP_GRACE_SECONDS)
    with transaction.atomic():
        # A row created dirty without a mark time (a new person) is as old as it gets.
        dirty_ids = list(
            HealthStatus.objects.filter(Q(dirty_since__lt=stale) | Q(dirty_since__isnull=True), dirty=True)
            .order_by(F("dirty_since").asc(nulls_first=True), "person_id")
            .values_list("person_id", flat=True)[:limit]
        )
        # Restart their grace period so that a slow backlog is not enqueued again every sweep.
        for chunk in chunked(dirty_ids, 5000):
            HealthStatus.objects.filter(person_id__in=chunk).update(dirty_since=now)
        due_ids = list(
            HealthStatus.objects.filter(dirty=False, valid_until__lte=now)
            .order_by("valid_until")
            .values_list("person_id", flat=True)[:limit]
        )
        for chunk in chunked(due_ids, 5000):
            HealthStatus.objects.filter(person_id__in=chunk).update(
                dirty=True, dirty_since=now, dirty_cause="valid_until", inputs_version=F("inputs_version") + 1
            )
        ids = dirty_ids + due_ids
        if ids:
            transaction.on_commit(lambda: statuses_enqueue(ids), robust=True)
    counts = {"dirty": len(dirty_ids), "due": len(due_ids)}
    return counts if activated is None else {**counts, "policy_activated": activated}
