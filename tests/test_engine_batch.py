"""What the engine keeps from one evaluation to the next: only what depends on `now` and the policy, never stale.

A batch evaluates every person with the same `now` and policy objects, so the engine works out the
window, today's date and the eligible provinces once (rules._frame). These tests change the policy or
the clock between two evaluations and check each answer is the one a fresh evaluation gives.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from health.engine import DeclarationFact, PersonFacts, Policy, StayFact, evaluate

BEIJING = timezone(timedelta(hours=8))
NOW = datetime(2022, 5, 20, 12, 0, tzinfo=BEIJING)
# A five-hour stay that ended ten days ago, declared yesterday: inside a 14-day window, outside a 7-day one.
FACTS = PersonFacts(
    stays=(StayFact("110105", NOW - timedelta(days=10), NOW - timedelta(days=10) + timedelta(hours=5)),),
    declarations=(DeclarationFact(NOW - timedelta(days=1), ("110105",)),),
)
WIDE = Policy(version=1, window_days=14)
NARROW = Policy(version=2, window_days=7)


def test_two_policies_interleaved_with_the_same_now_each_get_their_own_window():
    # given one clock object and two policies with different windows
    # when they alternate, as two batches of different policies in one process would
    answers = [evaluate(FACTS, now=NOW, policy=policy) for policy in (WIDE, NARROW, WIDE, NARROW)]
    # then each answer is its own policy's: the stay qualifies in 14 days, not in 7
    assert [(d.status, d.reasons, d.policy_version) for d in answers] == [
        ("no_abnormality", ("G3", "itinerary_verified"), 1),
        ("popup", ("P", "itinerary_unverifiable"), 2),
        ("no_abnormality", ("G3", "itinerary_verified"), 1),
        ("popup", ("P", "itinerary_unverifiable"), 2),
    ]


def test_a_later_clock_with_the_same_policy_moves_the_window():
    # given the same policy object and a clock five days later (the stay ended 15 days before it)
    before = evaluate(FACTS, now=NOW, policy=WIDE)
    later = evaluate(FACTS, now=NOW + timedelta(days=5), policy=WIDE)
    # then the later evaluation no longer counts the stay, and the first one did
    assert before.reasons == ("G3", "itinerary_verified")
    assert later.reasons == ("P", "itinerary_unverifiable")


def test_the_same_instant_in_another_time_zone_decides_the_same():
    # given the same instant written in UTC (another datetime object)
    in_beijing = evaluate(FACTS, now=NOW, policy=WIDE)
    in_utc = evaluate(FACTS, now=NOW.astimezone(UTC), policy=WIDE)
    # then status, reasons and valid_until are the same
    assert (in_utc.status, in_utc.reasons, in_utc.valid_until) == (
        in_beijing.status,
        in_beijing.reasons,
        in_beijing.valid_until,
    )
    assert in_beijing.valid_until == NOW - timedelta(days=10) + timedelta(hours=5) + timedelta(days=14, microseconds=1)
