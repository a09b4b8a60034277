"""The bounds every recorded time is checked against (api.md "Times"), shared by services, API and admin.

One set of bounds and messages for every entry point: the API's fields, the admin's forms and the
feeds call these functions, so a time refused by one is refused by all, in the same words.
"""
from datetime import date, datetime, timedelta

from django.utils import timezone
from django.utils.translation import gettext_lazy as _

# A few minutes of clock skew are tolerated for times that must have happened.
CLOCK_SKEW = timedelta(minutes=5)
# Nothing this product records predates the pandemic; far-off planned times are typing errors.
EARLIEST = datetime(2019, 12, 1, tzinfo=timezone.get_fixed_timezone(480))
PLANNING_HORIZON = timedelta(days=3 * 365)

IN_THE_FUTURE = _("该时间不能晚于当前时间。")
TOO_EARLY = _("该时间过早。")
TOO_LATE = _("该时间过晚。")
DATE_IN_THE_FUTURE = _("该日期不能晚于今天。")
DATE_TOO_EARLY = _("该日期过早。")


def past_time_errors(moment: datetime, *, now: datetime | None = None) -> list:
    """Why a time of something that has happened is refused: after now (beyond the skew), or too early."""
    now = now or timezone.now()
    if moment > now + CLOCK_SKEW:
        return [IN_THE_FUTURE]
    if moment < EARLIEST:
        return [TOO_EARLY]
    return []


def planned_time_errors(moment: datetime, *, now: datetime | None = None) -> list:
    """Why a planned time (an end, a clearance, a start of force) is refused: too early, or too far ahead."""
    now = now or timezone.now()
    if moment < EARLIEST:
        return [TOO_EARLY]
    if moment > now + PLANNING_HORIZON:
        return [TOO_LATE]
    return []


def past_date_errors(day: date, *, now: datetime | None = None) -> list:
    """Why a Beijing calendar date of something that has happened is refused.

    Today is the Beijing date; in its last hour tomorrow is accepted too (a clock a little ahead).
    """
    local = timezone.localtime(now or timezone.now())
    if day > local.date() + timedelta(days=1 if local.hour == 23 else 0):
        return [DATE_IN_THE_FUTURE]
    if day < EARLIEST.date():
        return [DATE_TOO_EARLY]
    return []
