"""Keep no itinerary longer than the rules need: stays that ended before the window (plus a margin) are deleted.

A stay that ended more than WINDOW_DAYS + margin ago can no longer qualify (the rules read stays
that end within the window) nor bound a `valid_until` that lies ahead, so it is personal data
without a purpose. It is deleted in small batches, each its own short transaction, so that the
platform's feed (which upserts stays) never waits long behind the purge. The persons concerned
are not marked dirty: what is deleted cannot change a decision taken now or later.
"""
from __future__ import annotations

import time
from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone

from health.models import ItineraryStay, Region

MARGIN_DAYS = 2
BATCH = 5000


def stays_purge_horizon(*, now: datetime | None = None, margin_days: int = MARGIN_DAYS) -> datetime:
    from health.services.statuses import policy_current

    now = now or timezone.now()
    return now - timedelta(days=policy_current().window_days + margin_days)


def stays_purge(
    *,
    now: datetime | None = None,
    margin_days: int = MARGIN_DAYS,
    batch_size: int = BATCH,
    pause: float = 0.0,
    limit: int | None = None,
) -> int:
    """Delete stays with left_at before the horizon, `batch_size` at a time; the number deleted."""
    horizon = stays_purge_horizon(now=now, margin_days=margin_days)
    deleted = 0
    # Found on the (region, left_at) index, region after region (every stay's region is a known one:
    # a foreign key), the oldest first within each; open stays (left_at null) are never touched.
    # left_at has no index of its own: the feed would have to write it for every stay it imports.
    regions = sorted(Region.objects.values_list("code", flat=True))
    old = ItineraryStay.objects.filter(region_id__in=regions, left_at__lt=horizon).order_by("region_id", "left_at")
    while limit is None or deleted < limit:
        size = batch_size if limit is None else min(batch_size, limit - deleted)
        with transaction.atomic():
            ids = list(old.values_list("pk", flat=True)[:size])
            if not ids:
                break
            # Nothing refers to a stay and it sends no signals: Django deletes it with one DELETE.
            deleted += ItineraryStay.objects.filter(pk__in=ids, left_at__lt=horizon).delete()[0]
        if pause:
            time.sleep(pause)
    return deleted
