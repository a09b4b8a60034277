"""Properties of the status engine over random facts around a fixed clock (hypothesis).

Order never matters, valid_until lies ahead, facts after now change nothing, the decision holds
unchanged from now until valid_until, and the engine never raises.
"""
from __future__ import annotations

import os
import random
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta, timezone

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from health.engine import (
    CheckInFact,
    DeclarationFact,
    DesignationFact,
    InboundCaseFact,
    NatTestFact,
    PersonFacts,
    Policy,
    QuarantineFact,
    RiskAreas,
    RiskFact,
    StayFact,
    evaluate,
    explain,
)
from health.engine.rules import REASON_CODES, RULE_IDS

BEIJING = timezone(timedelta(hours=8))
NOW = datetime(2022, 5, 20, 12, 0, tzinfo=BEIJING)
TODAY = date(2022, 5, 20)
POLICY = Policy()
# ENGINE_EXAMPLES=5000 for a deeper search than the default run's.
SETTINGS = settings(
    max_examples=int(os.environ.get("ENGINE_EXAMPLES", "200")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)

# Beijing (home) and its synonyms and districts, Tianjin, Hebei cities and districts, Shanghai,
# a county-level city governed by its province (429004) and its neighbours.
REGIONS = (
    "110000", "110100", "110200", "110105", "110108",
    "120000", "120100", "120101", "120104",
    "130000", "130100", "130102", "130104", "130200", "130203",
    "310000", "310101", "310104",
    "420000", "420100", "429004", "429005",
)

# Offsets that sit exactly on, or one step beside, the boundaries of the rules.
DAY = timedelta(days=1)
HOUR = timedelta(hours=1)
EDGES = [
    timedelta(0), timedelta(microseconds=1), timedelta(seconds=1), timedelta(minutes=1),
    4 * HOUR, 4 * HOUR - timedelta(minutes=1), 3 * HOUR, 7 * DAY, 14 * DAY, 28 * DAY,
    12 * HOUR, 12 * HOUR + timedelta(minutes=1),  # NOW is noon: Beijing midnights and 23:59
]
SPECIAL_OFFSETS = sorted({sign * edge for edge in EDGES for sign in (1, -1)} | {-14 * DAY - timedelta(seconds=1)})
DURATIONS = [timedelta(0), 3 * HOUR, 4 * HOUR, 4 * HOUR - timedelta(minutes=1), 6 * HOUR, DAY, 7 * DAY, 14 * DAY]

offsets = st.one_of(
    st.sampled_from(SPECIAL_OFFSETS),
    st.integers(min_value=-40 * 24 * 60, max_value=5 * 24 * 60).map(lambda minutes: timedelta(minutes=minutes)),
)
durations = st.one_of(
    st.sampled_from(DURATIONS),
    st.integers(min_value=0, max_value=20 * 24 * 60).map(lambda minutes: timedelta(minutes=minutes)),
)
# The same instant in Beijing or in UTC: the engine compares instants.
zones = st.sampled_from([BEIJING, UTC])
moments = st.builds(lambda offset, zone: (NOW + offset).astimezone(zone), offsets, zones)
regions = st.sampled_from(REGIONS)
dates = st.integers(min_value=-45, max_value=3).map(lambda days: TODAY + timedelta(days=days))
communities = st.sampled_from([None, "C1", "C2"])


@st.composite
def ending(draw, start: datetime) -> datetime | None:
    """No end, an end a random duration after `start`, or an end on one of the clock's edges."""
    choice = draw(st.integers(0, 2))
    if choice == 0:
        return None
    if choice == 1:
        return start + draw(durations)
    end = draw(moments)
    return end if end >= start else None


@st.composite
def designations(draw) -> DesignationFact:
    kind = draw(st.sampled_from(["confirmed", "suspected", "asymptomatic", "close_contact", "secondary_contact"]))
    at = draw(moments)
    return DesignationFact(kind, at, draw(ending(at)))


@st.composite
def quarantines(draw) -> QuarantineFact:
    kind = draw(st.sampled_from(["home", "centralized", "hospital"]))
    at = draw(moments)
    return QuarantineFact(kind, at, draw(ending(at)), draw(communities))


results = st.sampled_from(["negative", "negative", "positive"])
nat_tests = st.builds(NatTestFact, moments, results, st.sampled_from(["certificate", "hotel"]))
# Samples around a check-in: at it, a minute either side, the certificate's 7-day edge, random.
SAMPLE_OFFSETS = [timedelta(0), timedelta(minutes=1), -timedelta(minutes=1), -7 * DAY, -7 * DAY - timedelta(minutes=1),
                  -DAY, HOUR, DAY]
sample_offsets = st.one_of(
    st.sampled_from(SAMPLE_OFFSETS),
    st.integers(min_value=-9 * 24 * 60, max_value=9 * 24 * 60).map(lambda minutes: timedelta(minutes=minutes)),
)


@st.composite
def checkins(draw) -> CheckInFact:
    at = draw(moments)
    tests = tuple(
        NatTestFact(
            draw(st.one_of(sample_offsets.map(lambda offset: at + offset), moments)),
            draw(results),
            draw(st.sampled_from(["certificate", "hotel"])),
        )
        for _ in range(draw(st.integers(0, 3)))
    )
    return CheckInFact(draw(regions), at, draw(regions), draw(st.booleans()), draw(ending(at)), tests)


def beijing_day(moment: datetime) -> date:
    return moment.astimezone(BEIJING).date()


@st.composite
def inbound_cases(draw) -> InboundCaseFact:
    ended = draw(st.one_of(st.none(), moments))
    if ended is not None and draw(st.booleans()):
        # Entering the city around the end of quarantine: before, same day, within grace, late.
        city_on = beijing_day(ended) + timedelta(days=draw(st.integers(-1, 3)))
    else:
        city_on = draw(st.one_of(st.none(), dates))
    return InboundCaseFact(draw(dates), ended, city_on, draw(communities), draw(st.one_of(st.none(), moments)))


@st.composite
def stays(draw) -> StayFact:
    at = draw(moments)
    return StayFact(draw(regions), at, draw(ending(at)))


@st.composite
def declarations(draw, known: tuple[str, ...] = ()) -> DeclarationFact:
    pool = st.one_of(regions, st.sampled_from(known)) if known else regions
    return DeclarationFact(draw(moments), tuple(draw(st.lists(pool, min_size=1, max_size=3))))


@st.composite
def risks(draw, places: tuple[str, ...] = ()) -> RiskFact:
    at = draw(moments)
    end = draw(ending(at))
    region = draw(st.one_of(regions, st.sampled_from(places)) if places else regions)
    # A designation ends strictly after it begins (a database constraint).
    return RiskFact(region, draw(st.sampled_from(["medium", "high"])), at, end if end is None or end > at else None)


KINDS = ("designations", "quarantines", "checkins", "inbound_cases", "stays", "declarations")


JJJ_REGIONS = tuple(code for code in REGIONS if code[:2] in ("11", "12", "13"))
past_offsets = st.one_of(
    st.sampled_from([offset for offset in SPECIAL_OFFSETS if -14 * DAY - HOUR < offset < timedelta(0)]),
    st.integers(min_value=-14 * 24 * 60, max_value=-1).map(lambda minutes: timedelta(minutes=minutes)),
)


@st.composite
def itinerary_stays(draw) -> StayFact:
    """A stay in JJJ that began within the window: the material of a verified itinerary."""
    at = NOW + draw(past_offsets)
    left = None if draw(st.integers(0, 3)) == 0 else at + draw(durations)
    return StayFact(draw(st.sampled_from(JJJ_REGIONS)), at, left)


@st.composite
def persons(draw) -> PersonFacts:
    """A few kinds of facts at a time, so that each rule and each boundary gets to decide now and then."""
    if draw(st.integers(0, 2)) == 0:
        # A plausible itinerary, declared after it, perhaps with one other kind of fact: the risk
        # areas, the window and the 4 h length then decide.
        person_stays = tuple(draw(st.lists(itinerary_stays(), min_size=1, max_size=3)))
        declared_at = max(stay.arrived_at for stay in person_stays) + draw(durations)
        declaration = DeclarationFact(min(declared_at, NOW), tuple(stay.region for stay in person_stays))
        other = draw(st.sampled_from(KINDS[:4] + ("nothing",)))
        facts = PersonFacts(stays=person_stays, declarations=(declaration,))
        if other == "nothing":
            return facts
        strategy = {"designations": designations, "quarantines": quarantines, "checkins": checkins}.get(
            other, inbound_cases
        )
        return replace(facts, **{other: (draw(strategy()),)})
    kinds = draw(st.sets(st.sampled_from(KINDS), max_size=4))
    if draw(st.booleans()):
        kinds |= {"stays", "declarations"}  # an itinerary to verify, alone or with other facts
    person_stays = tuple(draw(st.lists(stays(), min_size=1, max_size=4))) if "stays" in kinds else ()
    person_checkins = tuple(draw(st.lists(checkins(), min_size=1, max_size=2))) if "checkins" in kinds else ()
    # Declarations name mostly the places the person was at, so that G3 holds now and then.
    known = tuple(s.region for s in person_stays) + tuple(c.hotel_region for c in person_checkins)
    return PersonFacts(
        designations=tuple(draw(st.lists(designations(), min_size=1, max_size=2))) if "designations" in kinds else (),
        quarantines=tuple(draw(st.lists(quarantines(), min_size=1, max_size=2))) if "quarantines" in kinds else (),
        checkins=person_checkins,
        inbound_cases=(
            tuple(draw(st.lists(inbound_cases(), min_size=1, max_size=2))) if "inbound_cases" in kinds else ()
        ),
        stays=person_stays,
        declarations=draw(declaration_lists(known)) if "declarations" in kinds else (),
    )


@st.composite
def declaration_lists(draw, known: tuple[str, ...]) -> tuple[DeclarationFact, ...]:
    found = draw(st.lists(declarations(known), min_size=1, max_size=2))
    if len(found) == 2 and draw(st.booleans()):
        found[1] = replace(found[1], declared_at=found[0].declared_at)  # two at the same instant
    return tuple(found)


@st.composite
def scenarios(draw) -> tuple[PersonFacts, list[RiskFact]]:
    """A person and the risk areas, which are often of the places the person was at."""
    facts = draw(persons())
    places = tuple(s.region for s in facts.stays) + tuple(
        region for c in facts.checkins for region in (c.hotel_region, c.origin_region)
    )
    return facts, draw(st.lists(risks(places), max_size=4))




def decide(facts: PersonFacts, risk_list, now: datetime = NOW):
    decision = evaluate(facts, now=now, policy=POLICY, risk_areas=RiskAreas(risk_list))
    return decision


def shuffled(facts: PersonFacts, rng: random.Random) -> PersonFacts:
    def mix(items):
        items = list(items)
        rng.shuffle(items)
        return tuple(items)

    return PersonFacts(
        designations=mix(facts.designations),
        quarantines=mix(facts.quarantines),
        checkins=mix(replace(c, nat_tests=mix(c.nat_tests)) for c in facts.checkins),
        inbound_cases=mix(facts.inbound_cases),
        stays=mix(facts.stays),
        declarations=mix(replace(d, regions=mix(d.regions)) for d in facts.declarations),
    )


@SETTINGS
@given(scenario=scenarios(), rng=st.randoms(use_true_random=False))
def test_order_of_facts_never_matters(scenario, rng):
    # given the same facts and risk areas in another order
    facts, risk_list = scenario
    shuffled_facts = shuffled(facts, rng)
    shuffled_risks = list(risk_list)
    rng.shuffle(shuffled_risks)

    # when both are decided
    first = decide(facts, risk_list)
    second = decide(shuffled_facts, shuffled_risks)

    # then the decisions are identical, valid_until included
    assert first == second


@SETTINGS
@given(scenario=scenarios())
def test_valid_until_is_none_or_ahead(scenario):
    # given any person and risk areas
    facts, risk_list = scenario

    # when the person is decided (totality: this never raises)
    decision = decide(facts, risk_list)

    # then valid_until lies after now, and the reasons start with a rule id
    assert decision.valid_until is None or decision.valid_until > NOW
    assert decision.reasons[0] in {"R1", "R2", "R3", "R4", "G1", "G2", "G3", "P"}
    assert len(decision.reasons) >= 2


# Reasons that are the absence of a fact: nothing to point at.
FACT_FREE_REASONS = {"itinerary_unverifiable", "itinerary_not_declared"}


@SETTINGS
@given(scenario=scenarios())
def test_explain_gives_the_same_decision_with_evidence_for_every_reason(scenario):
    # given any person and risk areas
    facts, risk_list = scenario

    # when the person is decided, and explained
    decision, evidence = explain(facts, now=NOW, policy=POLICY, risk_areas=RiskAreas(risk_list))

    # then the decision is evaluate's, every reason is a known code, every piece of evidence
    # belongs to a reason of the decision, and every reason that stands on a fact has its fact
    assert decision == decide(facts, risk_list)
    assert decision.reasons[0] in RULE_IDS
    assert all(code in REASON_CODES or code.startswith("designation_") for code in decision.reasons[1:])
    assert {item.reason for item in evidence} <= set(decision.reasons[1:])
    for code in decision.reasons[1:]:
        if code not in FACT_FREE_REASONS:
            assert any(item.reason == code for item in evidence), code
    risky = [item for item in evidence if item.fact in ("stay", "origin", "hotel") and item.reason != "itinerary_outside_jjj"]
    assert all(item.risk is not None for item in risky if item.reason != "itinerary_mismatch")


future_moments = st.integers(min_value=1, max_value=10 * 24 * 3600 * 10**6).map(
    lambda micros: NOW + timedelta(microseconds=micros)
)
future_dates = st.integers(min_value=1, max_value=10).map(lambda days: TODAY + timedelta(days=days))


@st.composite
def future_fact(draw, facts: PersonFacts):
    """A fact that starts after NOW (anything may follow its start), and the facts with it added."""
    kind = draw(st.sampled_from(["designation", "quarantine", "checkin", "inbound", "stay", "declaration", "test"]))
    at = draw(future_moments)
    if kind == "designation":
        return replace(facts, designations=facts.designations + (replace(draw(designations()), designated_at=at),))
    if kind == "quarantine":
        return replace(facts, quarantines=facts.quarantines + (replace(draw(quarantines()), started_at=at),))
    if kind == "checkin":
        # Its tests are sampled after now too: a test sampled before now has happened (R3 reads sampled_at only).
        checkin = draw(checkins())
        tests = tuple(replace(test, sampled_at=draw(future_moments)) for test in checkin.nat_tests)
        return replace(facts, checkins=facts.checkins + (replace(checkin, checked_in_at=at, nat_tests=tests),))
    if kind == "inbound":
        case = replace(draw(inbound_cases()), entered_country_on=draw(future_dates))
        return replace(facts, inbound_cases=facts.inbound_cases + (case,))
    if kind == "stay":
        return replace(facts, stays=facts.stays + (replace(draw(stays()), arrived_at=at),))
    if kind == "declaration":
        return replace(facts, declarations=facts.declarations + (replace(draw(declarations()), declared_at=at),))
    if not facts.checkins:
        return facts
    # A test sampled after now, added to one of the person's check-ins.
    index = draw(st.integers(min_value=0, max_value=len(facts.checkins) - 1))
    test = replace(draw(nat_tests), sampled_at=at)
    checkin = facts.checkins[index]
    changed = replace(checkin, nat_tests=checkin.nat_tests + (test,))
    return replace(facts, checkins=facts.checkins[:index] + (changed,) + facts.checkins[index + 1 :])


@SETTINGS
@given(data=st.data(), scenario=scenarios())
def test_a_fact_dated_after_now_changes_nothing_now(data, scenario):
    # given the same person with one more fact that starts after now
    facts, risk_list = scenario
    more = data.draw(future_fact(facts))

    # when both are decided at now
    before = decide(facts, risk_list)
    after = decide(more, risk_list)

    # then the status, the reasons and the review flags are the same (valid_until may come earlier)
    assert (after.status, after.reasons, after.review_flags) == (before.status, before.reasons, before.review_flags)
    if before.valid_until is not None:
        assert after.valid_until is not None and after.valid_until <= before.valid_until


@SETTINGS
@given(data=st.data(), scenario=scenarios())
def test_a_positive_counts_by_its_sampled_at_whatever_its_checkins_time(data, scenario):
    # given the same person with each check-in recorded at another time (often a few minutes ahead of now)
    facts, risk_list = scenario
    skewed = st.one_of(st.integers(min_value=1, max_value=5 * 60 * 10**6).map(lambda us: NOW + timedelta(microseconds=us)), moments)
    moved = replace(facts, checkins=tuple(replace(c, checked_in_at=data.draw(skewed)) for c in facts.checkins))

    # when both are decided
    before, after = decide(facts, risk_list), decide(moved, risk_list)

    # then the positive-test flag is the same, and so is R3 whenever it decides the first
    assert before.review_flags == after.review_flags
    window_start = NOW - timedelta(days=POLICY.window_days)
    positive = any(
        t.result == "positive" and window_start <= t.sampled_at <= NOW for c in facts.checkins for t in c.nat_tests
    )
    assert ("nat_positive" in after.review_flags) == positive
    if before.reasons[0] == "R3":
        assert after.reasons == ("R3", "nat_positive")


def probe_instants(facts: PersonFacts, risk_list) -> set[datetime]:
    """Instants at which a decision could change: every recorded time, shifted by the rules' spans.

    Derived from the facts broadly (not from the engine's own boundaries): each time t gives t,
    t + 1 µs, t + 4 h, t + 14 d and t + 14 d + 1 µs; each date its Beijing midnight, and the
    midnights 1 and 29 days later.
    """
    times: list[datetime] = []
    days: list[date] = []
    for d in facts.designations:
        times += [d.designated_at, d.cleared_at]
    for q in facts.quarantines:
        times += [q.started_at, q.lifted_at]
    for c in facts.checkins:
        times += [c.checked_in_at, c.checked_out_at] + [t.sampled_at for t in c.nat_tests]
    for case in facts.inbound_cases:
        times += [case.quarantine_ended_at, case.released_at]
        days += [case.entered_country_on, case.entered_city_on]
    for stay in facts.stays:
        times += [stay.arrived_at, stay.left_at]
    times += [d.declared_at for d in facts.declarations]
    for r in risk_list:
        times += [r.effective_from, r.effective_to]
    tick = timedelta(microseconds=1)
    spans = [timedelta(0), tick, 4 * HOUR, 14 * DAY, 14 * DAY + tick]
    found = {t + span for t in times if t is not None for span in spans}
    found |= {
        datetime(d.year, d.month, d.day, tzinfo=BEIJING) + timedelta(days=shift)
        for d in days
        if d is not None
        for shift in (0, 1, 29)
    }
    return found


@SETTINGS
@given(scenario=scenarios(), rng=st.randoms(use_true_random=False))
def test_decision_holds_until_valid_until(scenario, rng):
    # given a person decided at NOW, at random instants, and at every instant where a change could
    # happen (a sweep recomputes exactly at a valid_until, which is one of them), and one tick
    # before each of those decisions' valid_until
    facts, risk_list = scenario
    instants = probe_instants(facts, risk_list) | {NOW}
    instants |= {NOW + timedelta(microseconds=rng.randrange(60 * 24 * 3600 * 10**6)) for _ in range(3)}
    valid_untils = {decide(facts, risk_list, now=t).valid_until for t in instants}
    instants |= {moment - timedelta(microseconds=1) for moment in valid_untils if moment is not None}
    clocks = sorted(instants)
    decisions = [decide(facts, risk_list, now=clock) for clock in clocks]

    # when the decision at each clock is compared with the decisions at the later clocks
    for index, (clock, decision) in enumerate(zip(clocks, decisions, strict=True)):
        horizon = decision.valid_until
        assert horizon is None or horizon > clock
        for later, again in zip(clocks[index + 1 :], decisions[index + 1 :], strict=True):
            if horizon is not None and later >= horizon:
                break
            # then nothing changes before valid_until: no decision is ever stale
            assert (again.status, again.reasons, again.review_flags) == (
                decision.status,
                decision.reasons,
                decision.review_flags,
            ), (clock, later)


@SETTINGS
@given(scenario=scenarios())
def test_the_decision_at_valid_until_is_a_fresh_one_that_holds_too(scenario):
    # given a decision and the recomputation a sweep would do at its valid_until
    facts, risk_list = scenario
    decision = decide(facts, risk_list)
    if decision.valid_until is None:
        return
    recomputed = decide(facts, risk_list, now=decision.valid_until)

    # then the recomputation again looks ahead, never at or before its own clock
    assert recomputed.valid_until is None or recomputed.valid_until > decision.valid_until
