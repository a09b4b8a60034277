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


def beijing_short(value: datetime | date | None, *, today: date | None = None) -> str:
    """A list cell's time: "12-03 07:34" (a date: "12-03") within the current Beijing year, else with
    the year ("2025-12-03 07:34"); "—" for none. Lists at 1366 px have no room for the year on every row."""
    if value is None:
        return EMPTY
    today = today or datetime.now(BEIJING).date()
    if isinstance(value, datetime):
        moment = beijing(value)
        return moment.strftime("%m-%d %H:%M" if moment.year == today.year else "%Y-%m-%d %H:%M")
    return value.strftime("%m-%d" if value.year == today.year else "%Y-%m-%d")
