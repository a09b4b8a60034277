"""How instants and dates are written for staff: Beijing time, one format, on every page, title, message and export."""
from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

# The rules count Beijing days (status-rules.md); staff read the same clock, whatever TIME_ZONE a
# process runs with.
BEIJING = ZoneInfo("Asia/Shanghai")
EMPTY = "—"


def beijing(moment: datetime) -> datetime:
    """The instant on Beijing's clock (a naive value is taken as already written in Beijing time)."""
    return moment if moment.tzinfo is None else moment.astimezone(BEIJING)


def beijing_time(moment: datetime | None, *, seconds: bool = False) -> str:
    """"2026-12-03 07:34" (Beijing time), or "—"."""
    if moment is None:
        return EMPTY
    return beijing(moment).strftime("%Y-%m-%d %H:%M:%S" if seconds else "%Y-%m-%d %H:%M")


def beijing_day(value: datetime | date | None) -> str:
    """"2026-12-03": the Beijing date of an instant, or a calendar date as it is; "—" for none."""
    if value is None:
        return EMPTY
    if isinstance(value, datetime):
        value = beijing(value).date()
    return value.strftime("%Y-%m-%d")
