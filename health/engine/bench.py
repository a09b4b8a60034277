"""Engine throughput: `python -m health.engine.bench [persons]` evaluates typical persons and prints evaluations/s.

A typical person: three itinerary stays (one still going on), one declaration, against fifty risk
areas spread over a few provinces; one in ten also has a closed hotel check-in with tests.
Pure: no Django, no database; the numbers are the engine's alone.
"""
from __future__ import annotations

import random
import sys
import time
from datetime import datetime, timedelta, timezone

from . import (
    CheckInFact,
    DeclarationFact,
    NatTestFact,
    PersonFacts,
    Policy,
    RiskAreas,
    RiskFact,
    StayFact,
    evaluate,
)

BEIJING = timezone(timedelta(hours=8))
NOW = datetime(2022, 5, 20, 12, 0, tzinfo=BEIJING)
PLACES = ["110105", "110108", "110000", "120101", "120000", "130102", "130100", "130203", "310101", "429004"]
RISK_PLACES = ["110106", "120104", "130104", "130602", "310104", "310115", "420102", "440305", "320506", "330106"]


def typical_persons(count: int, rng: random.Random) -> list[PersonFacts]:
    persons = []
    for index in range(count):
        start = NOW - timedelta(hours=rng.randint(24, 13 * 24))
        stays = []
        for leg in range(3):
            region = rng.choice(PLACES)
            left = None if leg == 2 else start + timedelta(hours=rng.randint(2, 48))
            stays.append(StayFact(region, start, left))
            start = left if left is not None else start
        declaration = DeclarationFact(NOW - timedelta(hours=rng.randint(1, 20)), tuple({s.region for s in stays}))
        checkins = ()
        if index % 10 == 0:
            checked_in = NOW - timedelta(days=3)
            checkins = (
                CheckInFact(
                    "110105", checked_in, "130100", True, NOW - timedelta(days=1),
                    (NatTestFact(checked_in - timedelta(days=1), "negative", "certificate"),),
                ),
            )
        persons.append(PersonFacts(stays=tuple(stays), declarations=(declaration,), checkins=checkins))
    return persons


def risk_areas(rng: random.Random) -> RiskAreas:
    risks = []
    for _ in range(50):
        begin = NOW - timedelta(days=rng.randint(0, 30))
        end = None if rng.random() < 0.5 else begin + timedelta(days=rng.randint(1, 20))
        risks.append(RiskFact(rng.choice(RISK_PLACES), rng.choice(["medium", "high"]), begin, end))
    return RiskAreas(risks)


def main(count: int = 100_000) -> None:
    rng = random.Random(2022)
    persons = typical_persons(count, rng)
    areas = risk_areas(rng)
    policy = Policy()
    # CPU time of this process: other work on a shared machine does not count against the engine.
    started, wall = time.process_time(), time.perf_counter()
    statuses: dict[str, int] = {}
    for facts in persons:
        decision = evaluate(facts, now=NOW, policy=policy, risk_areas=areas)
        statuses[decision.reasons[0]] = statuses.get(decision.reasons[0], 0) + 1
    elapsed, wall = time.process_time() - started, time.perf_counter() - wall
    print(
        f"{count} persons in {elapsed:.2f} s CPU ({wall:.2f} s wall): {count / elapsed:,.0f} evaluations/s; "
        f"rules: {statuses}"
    )


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 100_000)
