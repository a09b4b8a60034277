"""Helpers of the core app's tests: times relative to now, and the stranger's answer."""
from datetime import datetime, timedelta

from django.utils import timezone

STRANGER_REASONS = ["P", "itinerary_unverifiable", "itinerary_not_declared"]


def ago(**kwargs) -> str:
    return (timezone.now() - timedelta(**kwargs)).isoformat()


def ahead(**kwargs) -> str:
    return (timezone.now() + timedelta(**kwargs)).isoformat()


def moment(text: str) -> datetime:
    return datetime.fromisoformat(text)


def without_computed_at(body: dict) -> dict:
    return {key: value for key, value in body.items() if key != "computed_at"}
