"""Who can act on a status (where a correction request goes), as data: facts in, the deciding rule and one organisation out."""
from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import pytest

from health.engine import (
    CheckInFact,
    DesignationFact,
    InboundCaseFact,
    NatTestFact,
    PersonFacts,
    Policy,
    QuarantineFact,
    StayFact,
)
from health.engine.rules import Responsible, responsible

BEIJING = timezone(timedelta(hours=8))
NOW = datetime(2022, 5, 20, 12, 0, tzinfo=BEIJING)
TODAY = date(2022, 5, 20)


def ago(days: float = 0, hours: float = 0) -> datetime:
    return NOW - timedelta(days=days, hours=hours)


def quarantine(community, *, started_days_ago=3, lifted=None, kind="home"):
    return QuarantineFact(kind, ago(started_days_ago), lifted, community=community)


def case(*, days_ago=5, managing=None, released=None, ended=None, entered_city=None):
    return InboundCaseFact(TODAY - timedelta(days=days_ago), ended, entered_city, managing, released)


CASES = [
    # (name, facts, expected)
    ("nothing known: health", PersonFacts(), Responsible("P", department="health")),
    ("R1 wins over an active quarantine: health",
     PersonFacts(designations=(DesignationFact("close_contact", ago(1)),), quarantines=(quarantine("C-1"),)),
     Responsible("R1", department="health")),
    ("R1 with an old, lifted quarantine elsewhere: health, not that community",
     PersonFacts(designations=(DesignationFact("confirmed", ago(1)),), quarantines=(quarantine("C-1", started_days_ago=20, lifted=ago(10)),)),
     Responsible("R1", department="health")),
    ("R2: the community of the active quarantine",
     PersonFacts(quarantines=(quarantine("C-2"),)), Responsible("R2", community="C-2")),
    ("R2 with two active: the one that started last",
     PersonFacts(quarantines=(quarantine("C-1", started_days_ago=5), quarantine("C-3", started_days_ago=1))),
     Responsible("R2", community="C-3")),
    ("R2 with a lifted one elsewhere: the active one",
     PersonFacts(quarantines=(quarantine("C-1", started_days_ago=1, lifted=ago(0.5)), quarantine("C-4", started_days_ago=2))),
     Responsible("R2", community="C-4")),
    ("R2 without a community named: health",
     PersonFacts(quarantines=(quarantine(None),)), Responsible("R2", department="health")),
    ("R3: health",
     PersonFacts(checkins=(CheckInFact("110105", ago(2), "110105", True, None, (NatTestFact(ago(1), "positive", "hotel"),)),)),
     Responsible("R3", department="health")),
    ("R4 managed: the managing community", PersonFacts(inbound_cases=(case(managing="C-9"),)),
     Responsible("R4", community="C-9")),
    ("R4 unmanaged: border control", PersonFacts(inbound_cases=(case(),)), Responsible("R4", department="border")),
    ("R4, a released managed case and an unmanaged one: border",
     PersonFacts(inbound_cases=(case(managing="C-9", released=ago(1)), case(days_ago=3))),
     Responsible("R4", department="border")),
    ("G1 released from a quarantine: health (nothing to correct in the records)",
     PersonFacts(quarantines=(quarantine("C-1", started_days_ago=10, lifted=ago(1)),)),
     Responsible("G1", department="health")),
    ("P on a stay outside JJJ: the platform",
     PersonFacts(stays=(StayFact("310100", ago(5), ago(3)),)), Responsible("P", department="platform")),
    ("P with no platform stay (unverifiable): health",
     PersonFacts(stays=()), Responsible("P", department="health")),
    ("G3 territory but nothing declared, stays in JJJ: health (not the platform's data)",
     PersonFacts(stays=(StayFact("110100", ago(5), ago(3)),)), Responsible("P", department="health")),
]


@pytest.mark.parametrize(("name", "facts", "expected"), CASES, ids=[case[0] for case in CASES])
def test_who_can_act_on_the_status(name, facts, expected):
    assert responsible(facts, now=NOW, policy=Policy()) == expected
