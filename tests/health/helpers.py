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
    """The answer without its time, and its pass as what the pass says beyond its holder (docs/pass.md)."""
    answer = {key: value for key, value in body.items() if key != "computed_at"}
    if answer.get("pass"):
        answer["pass"] = pass_shape(answer["pass"])
    return answer


def pass_shape(issued: dict) -> dict:
    """A pass's keys, its verdict and its claims other than the holder's masked name, number and reference."""
    from health.passes.verify import verify_pass

    verified = verify_pass(issued["text"])
    payload = {key: value for key, value in verified.payload.items() if key not in ("n", "d", "h")}
    return {"keys": sorted(issued), "ok": verified.ok, "iss": verified.claims.get(1), "payload": payload}
