"""Which fact decided: the engine's evidence for each reason, as a table of cases with their boundaries."""
from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from health.engine import CheckInFact, DeclarationFact, NatTestFact, PersonFacts, Policy, RiskFact, StayFact, explain
from health.engine.rules import BEIJING

NOW = datetime(2026, 12, 3, 12, 0, tzinfo=BEIJING)
CHECKED_IN = NOW - timedelta(hours=2)
DAY = timedelta(days=1)
SECOND = timedelta(seconds=1)
POLICY = Policy()


def guest(*tests, origin="110105", accepted=False) -> PersonFacts:
    return PersonFacts(
        checkins=(
            CheckInFact(
                hotel_region="110101",
                checked_in_at=CHECKED_IN,
                origin_region=origin,
                health_management_accepted=accepted,
                nat_tests=tuple(NatTestFact(at, result, source) for at, result, source in tests),
            ),
        )
    )


def found(facts, risks=(), policy=POLICY):
    decision, evidence = explain(facts, now=NOW, policy=policy, risk_areas=risks)
    return decision.reasons, [(e.reason, e.fact, e.detail, e.region, e.interval) for e in evidence]


UNMET = "hotel_requirements_unmet"
PUDONG_MEDIUM = RiskFact("310115", "medium", datetime(2026, 11, 28, tzinfo=BEIJING))

CASES = [
    # (id, facts, risks, policy, reasons after the rule id start with, evidence of hotel_requirements_unmet)
    ("certificate_exactly_7_days", guest((CHECKED_IN - 7 * DAY, "negative", "certificate")), (), Policy(),
     ("hotel_stay",), []),
    ("certificate_7_days_and_1s", guest((CHECKED_IN - 7 * DAY - SECOND, "negative", "certificate")), (), Policy(),
     (UNMET,), [(UNMET, "test", "certificate_too_old", None, 7 * DAY + SECOND)]),
    ("certificate_9_days", guest((CHECKED_IN - 9 * DAY, "negative", "certificate")), (), Policy(),
     (UNMET,), [(UNMET, "test", "certificate_too_old", None, 9 * DAY)]),
    ("certificate_9_days_valid_for_10", guest((CHECKED_IN - 9 * DAY, "negative", "certificate")), (),
     Policy(nat_valid_days=10), ("hotel_stay",), []),
    ("certificate_1s_after_checkin", guest((CHECKED_IN + SECOND, "negative", "certificate")), (), Policy(),
     (UNMET,), [(UNMET, "test", "certificate_after_checkin", None, None)]),
    ("hotel_test_1s_before_checkin", guest((CHECKED_IN - SECOND, "negative", "hotel"), accepted=True), (), Policy(),
     (UNMET,), [(UNMET, "test", "hotel_test_before_checkin", None, None)]),
    ("hotel_test_at_checkin", guest((CHECKED_IN, "negative", "hotel"), accepted=True), (), Policy(),
     ("hotel_stay",), []),
    ("hotel_test_without_management", guest((CHECKED_IN, "negative", "hotel")), (), Policy(),
     (UNMET,), [(UNMET, "test", "hotel_test_without_management", None, None)]),
    ("no_test", guest(), (), Policy(), (UNMET,), [(UNMET, "checkin", "no_test", None, None)]),
    ("one_test_counts_the_other_not", guest((CHECKED_IN, "negative", "hotel"),
                                            (CHECKED_IN - 9 * DAY, "negative", "certificate"), accepted=True),
     (), Policy(), ("hotel_stay",), []),
    ("origin_risky", guest((CHECKED_IN - DAY, "negative", "certificate"), origin="310115"), (PUDONG_MEDIUM,), Policy(),
     (UNMET,), [(UNMET, "origin", None, "310115", None)]),
    ("origin_risk_starts_now", guest((CHECKED_IN - DAY, "negative", "certificate"), origin="310115"),
     (RiskFact("310115", "high", NOW),), Policy(), (UNMET,), [(UNMET, "origin", None, "310115", None)]),
    ("origin_risk_ended_at_window_start", guest((CHECKED_IN - DAY, "negative", "certificate"), origin="310115"),
     (RiskFact("310115", "high", NOW - 30 * DAY, NOW - 14 * DAY),), Policy(), ("hotel_stay",), []),
]


@pytest.mark.parametrize(("facts", "risks", "policy", "reasons", "evidence"),
                         [case[1:] for case in CASES], ids=[case[0] for case in CASES])
def test_the_evidence_of_a_check_in_names_the_fact_that_failed(facts, risks, policy, reasons, evidence):
    decided, found_evidence = found(facts, risks, policy)
    assert decided[1 : 1 + len(reasons)] == reasons
    assert [item for item in found_evidence if item[0] == UNMET] == evidence


def test_a_risky_origin_carries_the_designation_that_made_it_risky():
    _decision, evidence = explain(
        guest((CHECKED_IN - DAY, "negative", "certificate"), origin="310115"), now=NOW, policy=Policy(),
        risk_areas=[RiskFact("310000", "high", NOW - 2 * DAY), PUDONG_MEDIUM],
    )
    # the earliest designation in force is named (the whole city's high risk came later)
    assert [item.risk for item in evidence if item.fact == "origin"] == [PUDONG_MEDIUM]


def test_an_undeclared_stay_is_named_and_a_declared_one_is_not():
    facts = PersonFacts(
        stays=(
            StayFact("120000", NOW - 3 * DAY, NOW - 2 * DAY),
            StayFact("110105", NOW - 2 * DAY),
        ),
        declarations=(DeclarationFact(NOW - DAY, ("110000",)),),
    )
    reasons, evidence = found(facts)
    assert reasons[:2] == ("P", "itinerary_mismatch")
    assert evidence == [("itinerary_mismatch", "stay", None, "120000", None)]
