"""The purge never changes a decision: what `stays_unseen` gives up is invisible to every evaluation, now and later.

Random histories around the purge's horizon (stay records that touch, overlap and chain across it,
open ones, ones recorded a little ahead of the clock, declarations before and after the horizon,
quarantines lifted, inbound releases, check-ins, risk areas of the person's places): the decision
and `valid_until` are identical with and without the records given up, at the purge's `now` and at
later instants, under any window the retention allows.
"""
from __future__ import annotations

import os
from datetime import date, datetime, timedelta, timezone

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from health.engine import (
    CheckInFact,
    DeclarationFact,
    InboundCaseFact,
    NatTestFact,
    PersonFacts,
    Policy,
    QuarantineFact,
    RiskFact,
    StayFact,
    evaluate,
)
from health.engine.regions import normalize
from health.engine.rules import stays_unseen

BEIJING = timezone(timedelta(hours=8))
NOW = datetime(2022, 5, 20, 12, 0, tzinfo=BEIJING)
RETENTION_DAYS = 28
MARGIN = timedelta(days=2)
HORIZON = NOW - timedelta(days=RETENTION_DAYS) - MARGIN
# A few places: two districts of one city, a synonym pair, a place outside JJJ.
PLACES = ["130102", "130104", "110000", "110100", "310101"]
SETTINGS = settings(
    max_examples=int(os.environ.get("ENGINE_EXAMPLES", "300")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)


def moments_near(*anchors: datetime):
    """Instants on the edges of the anchors (exactly, ±1 µs, ±1 s, ±hours, ±days) as often as anywhere."""
    offsets = st.sampled_from(
        [timedelta(0), timedelta(microseconds=1), -timedelta(microseconds=1), timedelta(seconds=1), -timedelta(seconds=1)]
    ) | st.timedeltas(min_value=-timedelta(days=20), max_value=timedelta(days=20))
    return st.builds(lambda anchor, offset: anchor + offset, st.sampled_from(anchors), offsets)


TIMES = moments_near(HORIZON, NOW - timedelta(days=14), NOW - timedelta(days=45), NOW, NOW - timedelta(hours=4))


@st.composite
def stay_chains(draw):
    """Records of one place, often touching or overlapping the previous one (a merged stay across the horizon)."""
    region = draw(st.sampled_from(PLACES))
    arrived = draw(TIMES)
    records = []
    for _ in range(draw(st.integers(1, 4))):
        length = draw(st.sampled_from([timedelta(hours=1), timedelta(hours=4), timedelta(days=3)]) | st.timedeltas(timedelta(0), timedelta(days=30)))
        left = arrived + length
        open_ended = draw(st.integers(0, 9)) == 0
        records.append(StayFact(region, arrived, None if open_ended else left))
        # The next record touches (exactly), overlaps, or starts after a gap.
        arrived = left + draw(st.sampled_from([timedelta(0), -timedelta(hours=1), timedelta(microseconds=1), timedelta(days=2)]))
    return records


checkins = st.builds(
    CheckInFact,
    hotel_region=st.sampled_from(PLACES),
    checked_in_at=TIMES,
    origin_region=st.sampled_from(PLACES),
    health_management_accepted=st.booleans(),
    checked_out_at=st.none() | TIMES,
    nat_tests=st.lists(
        st.builds(NatTestFact, TIMES, st.sampled_from(["negative", "positive"]), st.sampled_from(["certificate", "hotel"])),
        max_size=2,
    ).map(tuple),
)
histories = st.builds(
    PersonFacts,
    quarantines=st.lists(
        st.builds(QuarantineFact, st.sampled_from(["home", "centralized"]), TIMES, st.none() | TIMES, st.just("c-1")), max_size=2
    ).map(tuple),
    checkins=st.lists(checkins, max_size=2).map(tuple),
    inbound_cases=st.lists(
        st.builds(
            InboundCaseFact,
            entered_country_on=st.dates(date(2022, 3, 1), date(2022, 5, 20)),
            quarantine_ended_at=st.none() | TIMES,
            entered_city_on=st.none() | st.dates(date(2022, 3, 1), date(2022, 5, 20)),
            managing_community=st.none() | st.just("c-1"),
            released_at=st.none() | TIMES,
        ),
        max_size=1,
    ).map(tuple),
    stays=st.lists(stay_chains(), max_size=3).map(lambda chains: tuple(record for chain in chains for record in chain)),
    declarations=st.lists(
        st.builds(DeclarationFact, TIMES, st.lists(st.sampled_from(PLACES), min_size=1, max_size=2).map(tuple)), max_size=2
    ).map(tuple),
)
risks = st.lists(st.builds(RiskFact, st.sampled_from(PLACES), st.just("high"), TIMES, st.none() | TIMES), max_size=2)


def decided(facts: PersonFacts, at: datetime, policy: Policy, risk_areas) -> tuple:
    decision = evaluate(facts, now=at, policy=policy, risk_areas=risk_areas)
    return decision.status, decision.reasons, decision.valid_until, decision.review_flags


@SETTINGS
@given(
    facts=histories,
    risk_areas=risks,
    window_days=st.sampled_from([1, 7, 14, 21, RETENTION_DAYS]),
    later=st.lists(st.timedeltas(timedelta(0), timedelta(days=60)), max_size=4),
)
@example(
    # the case: an old record touching a recent one of the same place, and a declaration
    # made between the two records' arrivals that does not cover the place (核验失败)
    facts=PersonFacts(
        stays=(
            StayFact("130102", NOW - timedelta(days=40), NOW - timedelta(days=31)),
            StayFact("130102", NOW - timedelta(days=31), NOW - timedelta(days=1)),
        ),
        declarations=(DeclarationFact(NOW - timedelta(days=35), ("110105",)),),
    ),
    risk_areas=[],
    window_days=14,
    later=[timedelta(days=1)],
)
@example(
    # a stay long gone, at a place whose designation ends ahead: its end is no boundary of anyone's
    # decision any more (the stay can never qualify again), with or without the record
    facts=PersonFacts(
        stays=(
            StayFact("310101", NOW - timedelta(days=50), NOW - timedelta(days=45)),
            StayFact("130102", NOW - timedelta(days=3), NOW - timedelta(days=2)),
        ),
        declarations=(DeclarationFact(NOW - timedelta(hours=1), ("130100", "310101")),),
    ),
    risk_areas=[RiskFact("310101", "high", NOW - timedelta(days=60), NOW + timedelta(days=5))],
    window_days=14,
    later=[],
)
def test_the_records_given_up_change_no_decision_now_or_later(facts, risk_areas, window_days, later):
    # given a history and the records the purge gives up at NOW
    unseen = stays_unseen(facts.stays, now=NOW, horizon=HORIZON)
    kept = [stay for stay in facts.stays if stay not in unseen]
    purged = PersonFacts(
        designations=facts.designations,
        quarantines=facts.quarantines,
        checkins=facts.checkins,
        inbound_cases=facts.inbound_cases,
        stays=tuple(kept),
        declarations=facts.declarations,
    )
    policy = Policy(window_days=window_days)
    # then every evaluation, at NOW, at later instants and around the first valid_until, is the same
    instants = [NOW] + [NOW + delta for delta in later]
    first = evaluate(facts, now=NOW, policy=policy, risk_areas=risk_areas).valid_until
    if first is not None:
        instants += [first, first - timedelta(microseconds=1)]
    for at in instants:
        if at < NOW:
            continue
        assert decided(purged, at, policy, risk_areas) == decided(facts, at, policy, risk_areas), at


@SETTINGS
@given(facts=histories)
def test_only_records_of_stays_that_ended_before_the_horizon_are_given_up(facts):
    # every record given up ended before the horizon, and every record of its place that touches it went too
    unseen = stays_unseen(facts.stays, now=NOW, horizon=HORIZON)
    for record in unseen:
        assert record.left_at is not None and record.left_at < HORIZON
    for record in facts.stays:
        if record in unseen or record.arrived_at > NOW:
            continue
        end = record.left_at if record.left_at is not None and record.left_at <= NOW else NOW
        for gone in unseen:
            if normalize(gone.region) == normalize(record.region):
                # a kept record neither touches nor overlaps a record given up of the same place
                assert max(end, record.arrived_at) < gone.arrived_at or max(gone.left_at, gone.arrived_at) < record.arrived_at
