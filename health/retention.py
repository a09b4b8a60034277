"""How long itinerary data is kept, and which windows the data kept can still judge.

The purge keeps at least RETENTION_FLOOR_DAYS, and at least the largest window published in the
last RETENTION_LOOKBACK_DAYS days, whatever the current window: a mistaken narrow window that is
rolled back the next day destroys nothing. A window longer than the data actually kept (since the
latest purge's horizon) cannot be judged truthfully, so publishing it is refused.
"""
from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db.models import Max
from django.utils import timezone
from django.utils.translation import gettext as _

from health.models import Policy, StayPurge

RETENTION_LOOKBACK_DAYS = 60


def retention_days(*, now: datetime | None = None) -> int:
    """Days of itinerary data the purge keeps at `now` (before its safety margin)."""
    now = now or timezone.now()
    recent = Policy.objects.filter(created_at__gte=now - timedelta(days=RETENTION_LOOKBACK_DAYS)).aggregate(
        largest=Max("window_days")
    )["largest"]
    current = Policy.objects.order_by("-version").values_list("window_days", flat=True).first()
    return max(settings.RETENTION_FLOOR_DAYS, recent or 0, current or 0)


def data_kept_since() -> datetime | None:
    """The latest purge's horizon: no record of a stay that ended before it survives. None if never purged."""
    return StayPurge.objects.aggregate(latest=Max("horizon"))["latest"]


def judgeable_window_days(*, now: datetime | None = None) -> int | None:
    """The longest window the data kept can judge at `now` (whole days); None when nothing was ever purged."""
    since = data_kept_since()
    if since is None:
        return None
    now = now or timezone.now()
    return max((now - since) // timedelta(days=1), 0)


def window_days_check(window_days: int, *, now: datetime | None = None) -> None:
    """Refuse a window longer than the data kept: it would answer 未见异常 for want of deleted stays."""
    longest = judgeable_window_days(now=now)
    if longest is not None and window_days > longest:
        raise ValidationError(
            {
                "window_days": [
                    _("行程数据只保留了最近 %(kept)s 天，无法按 %(window)s 天回溯判定；请先提高保留天数（RETENTION_FLOOR_DAYS）并等待数据积累。")
                    % {"kept": longest, "window": window_days}
                ]
            }
        )
