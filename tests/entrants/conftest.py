"""Fixtures of the entrants tests: the border department, communities and their staff, committed writes."""

from datetime import UTC, date, datetime, time, timedelta

import pytest
from django.utils import timezone

from tests import factories

BEIJING = timezone.get_fixed_timezone(480)


def beijing(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=BEIJING)


def utc(moment: datetime) -> datetime:
    return moment.astimezone(UTC)


def today() -> date:
    return timezone.localdate()


def days_ago(days: int) -> date:
    return today() - timedelta(days=days)


@pytest.fixture
def border(db):
    return factories.department("border")


@pytest.fixture
def border_staff(border):
    return factories.staff(organisation=border)


@pytest.fixture
def community(db):
    return factories.organisation("community", "chaoyang-01", name="朝阳一社区")


@pytest.fixture
def community_staff(community):
    return factories.staff(organisation=community)


@pytest.fixture
def other_community(db):
    return factories.organisation("community", "haidian-02", name="海淀二社区")


@pytest.fixture
def other_community_staff(other_community):
    return factories.staff(organisation=other_community)


@pytest.fixture
def hotel_staff(db):
    return factories.staff(organisation=factories.organisation("hotel", "hotel-01"))


@pytest.fixture
def committed(django_capture_on_commit_callbacks):
    """`with committed(): ...` runs what is enqueued on commit (the real recomputation), as in production."""

    def make():
        return django_capture_on_commit_callbacks(execute=True)

    return make


def bad_id_number() -> str:
    """A well-formed number whose check character is wrong."""
    good = factories.id_number()
    wrong = "0" if good[-1] != "0" else "1"
    return good[:-1] + wrong
