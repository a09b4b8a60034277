"""The status rules as data: facts, clock, policy and risk areas in; status, reasons and valid_until out.

Every case is one row of CASES (status-rules.md and the decisions in docs/rules.md); one test runs them all.
Times are Beijing times around a fixed NOW unless a case says otherwise.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta, timezone

import pytest

from health.engine import (
    CheckInFact,
    DeclarationFact,
    DesignationFact,
    InboundCaseFact,
    NatTestFact,
    PersonFacts,
    Policy,
    QuarantineFact,
    RiskFact,
    StayFact,
    evaluate,
)

BEIJING = timezone(timedelta(hours=8))
NOW = datetime(2022, 5, 20, 12, 0, tzinfo=BEIJING)
TODAY = date(2022, 5, 20)
TICK = timedelta(microseconds=1)
SECOND = timedelta(seconds=1)
WINDOW = timedelta(days=14)

NO = "no_abnormality"
POPUP = "popup"
HOME = "home_observation"
CENTRAL = "centralized_observation"
UNCHECKED = object()  # a case that does not pin valid_until


# --- constructors: one short call per fact ------------------------------------------------------
def ago(days: float = 0, hours: float = 0, minutes: float = 0, seconds: float = 0) -> datetime:
    return NOW - timedelta(days=days, hours=hours, minutes=minutes, seconds=seconds)


def ahead(days: float = 0, hours: float = 0, minutes: float = 0, seconds: float = 0) -> datetime:
    return NOW + timedelta(days=days, hours=hours, minutes=minutes, seconds=seconds)


def bj(month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    """A Beijing wall-clock time in 2022."""
    return datetime(2022, month, day, hour, minute, tzinfo=BEIJING)


def utc(month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(2022, month, day, hour, minute, tzinfo=UTC)


def day(days_ago: int) -> date:
    return TODAY - timedelta(days=days_ago)


def midnight(on: date) -> datetime:
    return datetime(on.year, on.month, on.day, tzinfo=BEIJING)


def stay(region: str, arrived: datetime, left: datetime | None = None) -> StayFact:
    return StayFact(region, arrived, left)


def declared(at: datetime, *regions: str) -> DeclarationFact:
    return DeclarationFact(at, regions)


def designation(kind: str, at: datetime, cleared: datetime | None = None) -> DesignationFact:
    return DesignationFact(kind, at, cleared)


def quarantine(kind: str, started: datetime, lifted: datetime | None = None, community: str | None = None):
    return QuarantineFact(kind, started, lifted, community)


def inbound(country_on: date, ended: datetime | None = None, city_on: date | None = None,
            community: str | None = None, released: datetime | None = None) -> InboundCaseFact:
    return InboundCaseFact(country_on, ended, city_on, community, released)


def checkin(hotel: str, at: datetime, *tests: NatTestFact, origin: str = "130100", accepted: bool = False,
            out: datetime | None = None) -> CheckInFact:
    return CheckInFact(hotel, at, origin, accepted, out, tests)


def cert(at: datetime, result: str = "negative") -> NatTestFact:
    return NatTestFact(at, result, "certificate")


def hotel_test(at: datetime, result: str = "negative") -> NatTestFact:
    return NatTestFact(at, result, "hotel")


def positive(at: datetime) -> NatTestFact:
    return NatTestFact(at, "positive", "hotel")


def risk(region: str, start: datetime, end: datetime | None = None, level: str = "high") -> RiskFact:
    return RiskFact(region, level, start, end)


def facts(*items) -> PersonFacts:
    """PersonFacts from a flat list of facts of any kind."""
    by_field: dict[str, list] = {}
    for item in items:
        name = {
            DesignationFact: "designations",
            QuarantineFact: "quarantines",
            CheckInFact: "checkins",
            InboundCaseFact: "inbound_cases",
            StayFact: "stays",
            DeclarationFact: "declarations",
        }[type(item)]
        by_field.setdefault(name, []).append(item)
    return PersonFacts(**{name: tuple(values) for name, values in by_field.items()})


# A verified itinerary: a day in Shijiazhuang two to three days ago, declared yesterday.
SJZ_STAY = stay("130100", ago(3), ago(2))
SJZ_DECLARED = declared(ago(1), "130100")
VERIFIED = (SJZ_STAY, SJZ_DECLARED)
VERIFIED_UNTIL = ago(2) + WINDOW + TICK  # the stay leaves the window
NOT_DECLARED = ("P", "itinerary_unverifiable", "itinerary_not_declared")


@dataclass(frozen=True)
class Case:
    id: str
    description: str
    facts: PersonFacts
    status: str
    reasons: tuple[str, ...]
    valid_until: object = UNCHECKED
    now: datetime = NOW
    policy: dict = field(default_factory=dict)
    risks: tuple[RiskFact, ...] = ()
    review_flags: tuple[str, ...] = ()


def case(id, description, items, status, reasons, **options) -> Case:
    return Case(id, description, facts(*items), status, tuple(reasons), **options)


CASES = [
    # --- nothing known ------------------------------------------------------------------------
    case("empty", "no facts at all: nothing to verify, nothing declared", [], POPUP, NOT_DECLARED, valid_until=None),
    # --- R1 designations ----------------------------------------------------------------------
    case("r1_confirmed", "an active confirmed designation", [designation("confirmed", ago(1))],
         CENTRAL, ("R1", "designation_confirmed"), valid_until=None),
    case("r1_kind_order", "all four kinds, recorded in another order, are listed in the spec's order",
         [designation("close_contact", ago(1)), designation("asymptomatic", ago(2)),
          designation("suspected", ago(3)), designation("confirmed", ago(4))],
         CENTRAL, ("R1", "designation_confirmed", "designation_suspected", "designation_asymptomatic",
                   "designation_close_contact")),
    case("r1_unknown_kind", "an unknown kind still counts, after the known ones",
         [designation("secondary_contact", ago(1)), designation("close_contact", ago(1))],
         CENTRAL, ("R1", "designation_close_contact", "designation_secondary_contact")),
    case("r1_unknown_kind_alone", "an unknown kind alone is still a designation",
         [designation("secondary_contact", ago(1))], CENTRAL, ("R1", "designation_secondary_contact")),
    case("r1_cleared_ahead", "a planned clearing ahead: active until then",
         [designation("close_contact", ago(5), ahead(hours=2))],
         CENTRAL, ("R1", "designation_close_contact"), valid_until=ahead(hours=2)),
    case("r1_cleared_exactly_now", "cleared at exactly now: no longer active; the boundary at now is now + 1 s",
         [designation("close_contact", ago(5), NOW)], POPUP, NOT_DECLARED, valid_until=NOW + SECOND),
    case("r1_cleared", "a cleared designation leaves no trace", [designation("confirmed", ago(20), ago(1)), *VERIFIED],
         NO, ("G3", "itinerary_verified"), valid_until=VERIFIED_UNTIL),
    case("r1_designated_ahead", "a designation dated after now has not happened",
         [designation("confirmed", ahead(minutes=5))], POPUP, NOT_DECLARED, valid_until=ahead(minutes=5)),
    case("r1_designated_exactly_now", "designated at exactly now is active",
         [designation("suspected", NOW)], CENTRAL, ("R1", "designation_suspected"), valid_until=NOW + SECOND),
    case("r1_before_r2", "a designation decides before a quarantine",
         [designation("close_contact", ago(1)), quarantine("home", ago(1))],
         CENTRAL, ("R1", "designation_close_contact")),
    case("r1_positive_flag", "R1 decides, the positive test in the window still flags for review",
         [designation("confirmed", ago(1)), checkin("110105", ago(3), positive(ago(2)), out=ago(1))],
         CENTRAL, ("R1", "designation_confirmed"), review_flags=("nat_positive",)),
    # --- R2 quarantines -----------------------------------------------------------------------
    case("r2_home", "an active home quarantine", [quarantine("home", ago(2))],
         HOME, ("R2", "quarantine_home"), valid_until=None),
    case("r2_centralized", "an active centralized quarantine", [quarantine("centralized", ago(2))],
         CENTRAL, ("R2", "quarantine_centralized")),
    case("r2_both", "both kinds active: centralized wins, both listed in order",
         [quarantine("home", ago(2)), quarantine("centralized", ago(1))],
         CENTRAL, ("R2", "quarantine_centralized", "quarantine_home")),
    case("r2_unknown_kind", "an unknown kind is read as centralized",
         [quarantine("hospital", ago(2)), quarantine("home", ago(1))],
         CENTRAL, ("R2", "quarantine_centralized", "quarantine_home")),
    case("r2_lift_ahead", "a lift recorded ahead of now has not happened yet",
         [quarantine("home", ago(10), ahead(days=1))], HOME, ("R2", "quarantine_home"), valid_until=ahead(days=1)),
    case("r2_started_ahead", "a quarantine starting after now is ignored",
         [quarantine("centralized", ahead(hours=1))], POPUP, NOT_DECLARED, valid_until=ahead(hours=1)),
    case("r2_before_r3", "a quarantine decides before a positive test, which still flags",
         [quarantine("home", ago(1)), checkin("110105", ago(3), positive(ago(2)), out=ago(2))],
         HOME, ("R2", "quarantine_home"), review_flags=("nat_positive",)),
    # --- R3 positive tests --------------------------------------------------------------------
    case("r3_positive", "a positive hotel test three days ago",
         [checkin("110105", ago(4), positive(ago(3)), out=ago(2))],
         POPUP, ("R3", "nat_positive"), valid_until=ago(3) + WINDOW + TICK, review_flags=("nat_positive",)),
    case("r3_positive_exactly_14d", "sampled exactly 14 days ago is in the closed window; it leaves one tick later",
         [checkin("110105", ago(15), positive(ago(14)), out=ago(13))],
         POPUP, ("R3", "nat_positive"), valid_until=NOW + TICK, review_flags=("nat_positive",)),
    case("r3_positive_14d_1s", "sampled 14 days and 1 s ago is out of the window: no rule, no flag",
         [checkin("110105", ago(15), positive(ago(14, seconds=1)), out=ago(14, seconds=1))],
         POPUP, ("P", "itinerary_unverifiable", "itinerary_not_declared"), valid_until=None),
    case("r3_positive_certificate_open", "a positive certificate of an open check-in",
         [checkin("110105", ago(1), cert(ago(2), "positive"), accepted=True)],
         POPUP, ("R3", "nat_positive"), review_flags=("nat_positive",)),
    case("r3_positive_ahead", "a positive test dated after now has not happened; G2 holds on the negative one",
         [checkin("110105", ago(1), cert(ago(2)), positive(ahead(minutes=10)))],
         NO, ("G2", "hotel_stay"), valid_until=ahead(minutes=10)),
    case("r3_checkin_ahead", "a positive sampled in the window counts though its check-in is recorded 3 min ahead",
         [checkin("110105", ahead(minutes=3), positive(ago(hours=1)))],
         POPUP, ("R3", "nat_positive"), valid_until=ahead(minutes=3), review_flags=("nat_positive",)),
    case("r3_checkin_ahead_sampled_now", "sampled exactly now, check-in recorded ahead: in the closed window",
         [checkin("110105", ahead(minutes=5), positive(NOW))],
         POPUP, ("R3", "nat_positive"), review_flags=("nat_positive",)),
    case("r3_checkin_ahead_sampled_ahead", "check-in and sample both ahead of now: nothing has happened yet",
         [checkin("110105", ahead(minutes=5), positive(ahead(minutes=4)))],
         POPUP, NOT_DECLARED, valid_until=ahead(minutes=4)),
    case("r3_checkin_ahead_sampled_14d_1s", "check-in ahead, positive sampled 14 days and 1 s ago: out of the window",
         [checkin("110105", ahead(minutes=3), positive(ago(14, seconds=1)))],
         POPUP, NOT_DECLARED, valid_until=ahead(minutes=3)),
    case("r3_checkin_ahead_with_quarantine", "R2 decides first; the positive of the check-in ahead still flags",
         [quarantine("home", ago(2)), checkin("110105", ahead(minutes=3), positive(ago(hours=1)))],
         HOME, ("R2", "quarantine_home"), review_flags=("nat_positive",)),
    case("r3_before_r4", "a positive test decides before an unreleased inbound case",
         [checkin("110105", ago(2), positive(ago(1))), inbound(day(3), community="C1")],
         POPUP, ("R3", "nat_positive"), review_flags=("nat_positive",)),
    # --- R4 inbound ---------------------------------------------------------------------------
    case("r4_managed_unreleased", "a managed case not yet released by its community",
         [inbound(day(5), bj(5, 18, 10), day(1), community="C1")], POPUP, ("R4", "inbound_unreleased"),
         valid_until=midnight(day(5) + timedelta(days=29))),
    case("r4_managed_released", "released by its community: G1 with an empty itinerary",
         [inbound(day(5), community="C1", released=ago(1))], NO, ("G1", "released_inbound"),
         valid_until=ago(1) + WINDOW + TICK),
    case("r4_managed_release_ahead", "a release recorded ahead of now has not happened",
         [inbound(day(5), community="C1", released=ahead(minutes=1))], POPUP, ("R4", "inbound_unreleased"),
         valid_until=ahead(minutes=1)),
    case("r4_managed_late_is_unreleased", "a managed case is released only by its community, never late",
         [inbound(day(10), bj(5, 12, 10), bj(5, 16).date(), community="C1")], POPUP, ("R4", "inbound_unreleased")),
    case("r4_unmanaged_same_day", "entered the city on the Beijing day the quarantine ended: released then",
         [inbound(day(16), bj(5, 15, 10), date(2022, 5, 15))], NO, ("G1", "released_inbound"),
         valid_until=bj(5, 15, 10) + WINDOW + TICK),
    case("r4_unmanaged_next_day_after_2359", "ended 23:59 Beijing, entered the next day: within the grace",
         [inbound(day(16), bj(5, 15, 23, 59), date(2022, 5, 16))], NO, ("G1", "released_inbound"),
         valid_until=bj(5, 15, 23, 59) + WINDOW + TICK),
    case("r4_unmanaged_two_days_after_2359", "ended 23:59 Beijing, entered two days later: a late arrival",
         [inbound(day(16), bj(5, 15, 23, 59), date(2022, 5, 17))], POPUP, ("R4", "inbound_late_arrival")),
    case("r4_unmanaged_beijing_date_not_utc", "ended 00:30 Beijing (16:30 UTC the day before): the Beijing date counts",
         [inbound(day(16), utc(5, 15, 16, 30), date(2022, 5, 17))], NO, ("G1", "released_inbound")),
    case("r4_unmanaged_entered_before_end", "entered the city before the quarantine ended: no release",
         [inbound(day(16), bj(5, 15, 10), date(2022, 5, 14))], POPUP, ("R4", "inbound_unreleased")),
    case("r4_unmanaged_no_city_date", "no city entry recorded: no release",
         [inbound(day(16), bj(5, 15, 10))], POPUP, ("R4", "inbound_unreleased")),
    case("r4_unmanaged_city_tomorrow", "a city entry dated tomorrow has not happened; it decides at midnight",
         [inbound(day(3), bj(5, 19, 22), TODAY + timedelta(days=1))], POPUP, ("R4", "inbound_unreleased"),
         valid_until=midnight(TODAY + timedelta(days=1))),
    case("r4_unmanaged_end_ahead", "a quarantine end ahead of now: no release yet",
         [inbound(day(3), ahead(hours=3), TODAY)], POPUP, ("R4", "inbound_unreleased"), valid_until=ahead(hours=3)),
    case("r4_day_28", "day 28 after entering the country is still observed; it ends at the next Beijing midnight",
         [inbound(day(28))], POPUP, ("R4", "inbound_unreleased"), valid_until=midnight(TODAY + timedelta(days=1))),
    case("r4_day_29", "day 29: the observation period is over, nothing else is known",
         [inbound(day(29))], POPUP, NOT_DECLARED, valid_until=None),
    case("r4_day_29_late", "a late arrival past the observation period is no longer R4",
         [inbound(day(29), bj(4, 30, 10), date(2022, 5, 5)), *VERIFIED], NO, ("G3", "itinerary_verified")),
    case("r4_both_reasons", "two cases, one late and one unreleased: both, late first",
         [inbound(day(3), community="C1"), inbound(day(20), bj(5, 1, 10), date(2022, 5, 10))],
         POPUP, ("R4", "inbound_late_arrival", "inbound_unreleased")),
    case("r4_entering_country_tomorrow", "a case entering the country tomorrow has not happened",
         [inbound(TODAY + timedelta(days=1))], POPUP, NOT_DECLARED, valid_until=midnight(TODAY + timedelta(days=1))),
    case("r4_entered_today_just_after_midnight", "entered the country today (Beijing), evaluated at 00:00:01 Beijing",
         [inbound(TODAY)], POPUP, ("R4", "inbound_unreleased"), now=bj(5, 20, 0, 0) + SECOND),
    case("r4_lift_does_not_release", "lifting the quarantine alone never releases the managed inbound case",
         [inbound(day(10), community="C1"), quarantine("home", ago(9), ago(1), community="C1")],
         POPUP, ("R4", "inbound_unreleased")),
    case("r4_release_lifts_quarantine", "the release and the lift it writes on the community's open quarantine: a tie",
         [inbound(day(10), community="C1", released=ago(1)), quarantine("home", ago(9), ago(1), community="C1")],
         NO, ("G1", "released_quarantine", "released_inbound"), valid_until=ago(1) + WINDOW + TICK),
    case("r4_release_then_own_lift", "a quarantine lifted after the release counts from its own lift, the later S",
         [inbound(day(10), community="C1", released=ago(3)), quarantine("home", ago(9), ago(1), community="C1")],
         NO, ("G1", "released_quarantine"), valid_until=ago(1) + WINDOW + TICK),
    case("r2_not_lifted_by_a_release", "a quarantine of the releasing community with no lift of its own is active",
         [inbound(day(10), community="C1", released=ago(1)), quarantine("home", ago(9), community="C1")],
         HOME, ("R2", "quarantine_home")),
    case("r2_registered_after_release_started_before", "registered after the release with a start before it: active",
         [inbound(day(10), community="C1", released=ago(3)), quarantine("home", ago(5), community="C1")],
         HOME, ("R2", "quarantine_home")),
    case("r2_centralized_started_before_release", "the same with a centralized quarantine: the safer status",
         [inbound(day(10), community="C1", released=ago(3)), quarantine("centralized", ago(5), community="C1")],
         CENTRAL, ("R2", "quarantine_centralized")),
    case("r2_started_at_release_not_lifted", "a quarantine starting exactly at the release, not lifted: active",
         [inbound(day(10), community="C1", released=ago(3)), quarantine("home", ago(3), community="C1")],
         HOME, ("R2", "quarantine_home")),
    case("r4_release_other_community", "a release by another community does not lift this quarantine",
         [inbound(day(10), community="C1", released=ago(1)), quarantine("home", ago(9), community="C2")],
         HOME, ("R2", "quarantine_home")),
    case("r4_release_before_quarantine", "a quarantine begun after the release is not lifted by it",
         [inbound(day(10), community="C1", released=ago(3)), quarantine("home", ago(2), community="C1")],
         HOME, ("R2", "quarantine_home")),
    # --- G1 releases --------------------------------------------------------------------------
    case("g1_lifted", "a quarantine lifted two days ago, nothing since",
         [quarantine("home", ago(10), ago(2))], NO, ("G1", "released_quarantine"), valid_until=ago(2) + WINDOW + TICK),
    case("g1_tie", "quarantine lifted and unmanaged inbound released at the same instant: both, quarantine first",
         [quarantine("centralized", bj(5, 1), bj(5, 15, 10)), inbound(day(19), bj(5, 15, 10), date(2022, 5, 15))],
         NO, ("G1", "released_quarantine", "released_inbound")),
    case("g1_latest_wins", "the latest release is S",
         [quarantine("home", ago(12), ago(5)), inbound(day(10), community="C1", released=ago(3))],
         NO, ("G1", "released_inbound"), valid_until=ago(3) + WINDOW + TICK),
    case("g1_release_exactly_14d", "S exactly 14 days ago is in the window; it leaves one tick later",
         [quarantine("home", ago(20), ago(14))], NO, ("G1", "released_quarantine"), valid_until=NOW + TICK),
    case("g1_release_14d_1s", "S 14 days and 1 s ago is out of the window",
         [quarantine("home", ago(20), ago(14, seconds=1))], POPUP, NOT_DECLARED, valid_until=None),
    case("g1_risky_stay_after_release", "a qualifying stay after S in a risky area fails G1",
         [quarantine("home", ago(10), ago(5)), stay("130100", ago(3), ago(2))], POPUP,
         ("P", "itinerary_risky_area", "itinerary_not_declared"), risks=(risk("130104", ago(4)),)),
    case("g1_risky_stay_before_release", "a risky stay that ended before S does not matter to G1",
         [quarantine("home", ago(10), ago(1)), stay("130100", ago(12), ago(10))], NO, ("G1", "released_quarantine"),
         risks=(risk("130104", ago(13)),)),
    case("g1_stay_ending_at_release", "a stay ending exactly at S does not end after it",
         [quarantine("home", ago(10), ago(2)), stay("310101", ago(3), ago(2))], NO, ("G1", "released_quarantine")),
    case("g1_outside_stay_after_release", "a qualifying Shanghai stay after S fails G1",
         [quarantine("home", ago(10), ago(3)), stay("310101", ago(3), ago(2))], POPUP,
         ("P", "itinerary_outside_jjj", "itinerary_not_declared")),
    case("g1_open_stay_outside", "a stay still going on counts even if it began before S",
         [quarantine("home", ago(10), ago(2)), stay("310101", ago(3))], POPUP,
         ("P", "itinerary_outside_jjj", "itinerary_not_declared")),
    case("g1_short_stay_ignored", "a 3 h Shanghai stay after S is not qualifying",
         [quarantine("home", ago(10), ago(3)), stay("310101", ago(2), ago(2) + timedelta(hours=3))],
         NO, ("G1", "released_quarantine")),
    case("g1_hotel_stay_counts", "a closed hotel stay after S in a risky area fails G1",
         [quarantine("home", ago(10), ago(5)), checkin("130102", ago(3), cert(ago(4)), out=ago(2))], POPUP,
         ("P", "hotel_checkout_requirements_unmet", "itinerary_risky_area", "itinerary_unverifiable",
          "itinerary_not_declared"), risks=(risk("130100", ago(6)),)),
    # --- G2 hotel stays -----------------------------------------------------------------------
    case("g2_certificate", "an open check-in with a negative certificate two days old",
         [checkin("110105", ago(1), cert(ago(3)))], NO, ("G2", "hotel_stay"), valid_until=None),
    case("g2_certificate_exactly_7d", "certificate sampled exactly 7 days before check-in",
         [checkin("110105", ago(1), cert(ago(8)))], NO, ("G2", "hotel_stay")),
    case("g2_certificate_7d_1min", "certificate sampled 7 days and 1 min before check-in: too old",
         [checkin("110105", ago(1), cert(ago(8, minutes=1)))], POPUP,
         ("P", "hotel_requirements_unmet", "itinerary_unverifiable", "itinerary_not_declared")),
    case("g2_certificate_after_checkin", "a certificate sampled after check-in is not a certificate for it",
         [checkin("110105", ago(2), cert(ago(1)))], POPUP,
         ("P", "hotel_requirements_unmet", "itinerary_unverifiable", "itinerary_not_declared")),
    case("g2_hotel_test_accepted", "a negative hotel test after check-in with health management accepted",
         [checkin("110105", ago(1), hotel_test(ago(hours=20)), accepted=True)], NO, ("G2", "hotel_stay")),
    case("g2_hotel_test_at_checkin", "a hotel test sampled exactly at check-in counts",
         [checkin("110105", ago(1), hotel_test(ago(1)), accepted=True)], NO, ("G2", "hotel_stay")),
    case("g2_hotel_test_before_checkin", "a hotel test one minute before check-in does not",
         [checkin("110105", ago(1), hotel_test(ago(1, minutes=1)), accepted=True)], POPUP,
         ("P", "hotel_requirements_unmet", "itinerary_unverifiable", "itinerary_not_declared")),
    case("g2_hotel_test_not_accepted", "a hotel test without accepted health management does not count",
         [checkin("110105", ago(1), hotel_test(ago(hours=20)), accepted=False)], POPUP,
         ("P", "hotel_requirements_unmet", "itinerary_unverifiable", "itinerary_not_declared")),
    case("g2_no_test", "an open check-in without any test",
         [checkin("110105", ago(1), accepted=True)], POPUP,
         ("P", "hotel_requirements_unmet", "itinerary_unverifiable", "itinerary_not_declared")),
    case("g2_origin_risky", "the origin is risky within the window",
         [checkin("110105", ago(1), cert(ago(2)), origin="120101")], POPUP,
         ("P", "hotel_requirements_unmet", "itinerary_unverifiable", "itinerary_not_declared"),
         risks=(risk("120104", ago(30), ago(10)),)),
    case("g2_origin_risk_left_window", "an origin risk that ended 15 days ago no longer matters",
         [checkin("110105", ago(1), cert(ago(2)), origin="120101")], NO, ("G2", "hotel_stay"),
         risks=(risk("120104", ago(30), ago(15)),), valid_until=None),
    case("g2_origin_risk_ends_to_plus_14d", "an origin risk that ended 10 days ago holds until it leaves the window",
         [checkin("110105", ago(1), cert(ago(2)), origin="120101")], POPUP,
         ("P", "hotel_requirements_unmet", "itinerary_unverifiable", "itinerary_not_declared"),
         risks=(risk("120000", ago(30), ago(10)),), valid_until=ago(10) + WINDOW),
    case("g2_hotel_region_risky", "the hotel's district is risky since check-in",
         [checkin("110105", ago(1), cert(ago(2)))], POPUP,
         ("P", "hotel_requirements_unmet", "itinerary_risky_area", "itinerary_unverifiable",
          "itinerary_not_declared"), risks=(risk("110105", ago(hours=2)),)),
    case("g2_two_open_one_fails", "every open check-in must qualify",
         [checkin("110105", ago(1), cert(ago(2))), checkin("120101", ago(hours=6))], POPUP,
         ("P", "hotel_requirements_unmet", "itinerary_unverifiable", "itinerary_not_declared")),
    case("g2_two_open_both_qualify", "two open check-ins that both qualify",
         [checkin("110105", ago(1), cert(ago(2))), checkin("120101", ago(hours=6), cert(ago(1)))],
         NO, ("G2", "hotel_stay")),
    case("g2_checkout_ahead", "a checkout recorded ahead of now: still open until then",
         [checkin("110105", ago(1), cert(ago(2)), out=ahead(hours=1))], NO, ("G2", "hotel_stay"),
         valid_until=ahead(hours=1)),
    case("g2_checked_out", "only a closed check-in: a checkout in the window",
         [checkin("110105", ago(3), cert(ago(4)), out=ago(2))], POPUP,
         ("P", "hotel_checkout_requirements_unmet", "itinerary_unverifiable", "itinerary_not_declared"),
         valid_until=ago(2) + WINDOW + TICK),
    case("g2_checkout_exactly_14d", "a checkout exactly 14 days ago is still in the window",
         [checkin("110105", ago(15), cert(ago(16)), out=ago(14))], POPUP,
         ("P", "hotel_checkout_requirements_unmet", "itinerary_unverifiable", "itinerary_not_declared"),
         valid_until=NOW + TICK),
    case("g2_checkout_14d_1s", "a checkout 14 days and 1 s ago is not",
         [checkin("110105", ago(15), cert(ago(16)), out=ago(14, seconds=1))], POPUP, NOT_DECLARED, valid_until=None),
    case("g2_checkin_ahead", "a check-in dated after now is ignored",
         [checkin("110105", ahead(minutes=3), cert(ago(1)))], POPUP, NOT_DECLARED, valid_until=ahead(minutes=3)),
    # --- G3 itineraries: length and merging ---------------------------------------------------
    case("g3_verified", "one declared stay in Hebei", VERIFIED, NO, ("G3", "itinerary_verified"),
         valid_until=VERIFIED_UNTIL),
    case("g3_stay_exactly_4h", "a stay of exactly 4 h qualifies",
         [stay("130100", ago(2), ago(2) + timedelta(hours=4)), SJZ_DECLARED], NO, ("G3", "itinerary_verified")),
    case("g3_stay_4h_minus_1min", "a stay of 4 h - 1 min does not",
         [stay("130100", ago(2), ago(2) + timedelta(hours=3, minutes=59)), SJZ_DECLARED],
         POPUP, ("P", "itinerary_unverifiable")),
    case("g3_touching_stays_merge", "two 3 h stays that touch merge into 6 h",
         [stay("130100", ago(2, hours=6), ago(2, hours=3)), stay("130100", ago(2, hours=3), ago(2)), SJZ_DECLARED],
         NO, ("G3", "itinerary_verified"), valid_until=VERIFIED_UNTIL),
    case("g3_gap_stays_do_not_merge", "two 3 h stays one minute apart stay two short stays",
         [stay("130100", ago(2, hours=6, minutes=1), ago(2, hours=3, minutes=1)),
          stay("130100", ago(2, hours=3), ago(2)),
          SJZ_DECLARED], POPUP, ("P", "itinerary_unverifiable")),
    case("g3_overlapping_stays_merge", "overlapping stays merge",
         [stay("130100", ago(2, hours=5), ago(2, hours=2)), stay("130100", ago(2, hours=3), ago(2)), SJZ_DECLARED],
         NO, ("G3", "itinerary_verified")),
    case("g3_municipality_synonyms_merge", "110100 and 110000 are one region: 3 h + 3 h touching stays merge",
         [stay("110100", ago(2, hours=6), ago(2, hours=3)), stay("110000", ago(2, hours=3), ago(2)),
          declared(ago(1), "110000")], NO, ("G3", "itinerary_verified")),
    case("g3_other_regions_do_not_merge", "touching 3 h stays in two regions do not merge",
         [stay("130100", ago(2, hours=6), ago(2, hours=3)), stay("130200", ago(2, hours=3), ago(2)),
          declared(ago(1), "130000")], POPUP, ("P", "itinerary_unverifiable")),
    case("g3_open_stay_short", "a stay going on for 1 h does not qualify yet; it will at arrival + 4 h",
         [stay("110105", ago(hours=1)), declared(ago(hours=2), "110000")], POPUP, ("P", "itinerary_unverifiable"),
         valid_until=ago(hours=1) + timedelta(hours=4)),
    case("g3_open_stay_long", "a stay going on for a day qualifies and is covered",
         [stay("110105", ago(1)), declared(ago(hours=2), "110000")], NO, ("G3", "itinerary_verified"),
         valid_until=None),
    case("g3_left_ahead", "a stay whose recorded departure is ahead is still going on",
         [stay("110105", ago(1), ahead(hours=2)), declared(ago(hours=2), "110000")], NO,
         ("G3", "itinerary_verified"), valid_until=ahead(hours=2)),
    case("g3_arrival_ahead_ignored", "a stay arriving after now is ignored",
         [*VERIFIED, stay("310101", ahead(minutes=1), ahead(days=1))], NO, ("G3", "itinerary_verified"),
         valid_until=ahead(minutes=1)),
    # --- G3: window edges ---------------------------------------------------------------------
    case("g3_stay_ends_exactly_window_start", "a stay ending exactly now - 14 d is in the window",
         [stay("130100", ago(20), ago(14)), declared(ago(1), "130100")], NO, ("G3", "itinerary_verified"),
         valid_until=NOW + TICK),
    case("g3_stay_ends_1s_before_window", "a stay ending 1 s before now - 14 d is not",
         [stay("130100", ago(20), ago(14, seconds=1)), declared(ago(1), "130100")], POPUP,
         ("P", "itinerary_unverifiable"), valid_until=None),
    case("g3_long_stay_whole_length", "6 h stay with only its last hour in the window: the whole length counts",
         [stay("130100", ago(14, hours=5), ago(14, hours=-1)), declared(ago(1), "130100")], NO,
         ("G3", "itinerary_verified"), valid_until=ago(14, hours=-1) + WINDOW + TICK),
    # --- G3: declaration coverage ---------------------------------------------------------------
    case("g3_mismatch", "a stay to be covered is not", [SJZ_STAY, declared(ago(1), "120000")], POPUP,
         ("P", "itinerary_mismatch")),
    case("g3_declared_province_covers", "a declared province covers its cities and districts",
         [stay("130102", ago(3), ago(2)), declared(ago(1), "130000")], NO, ("G3", "itinerary_verified")),
    case("g3_declared_district_covers_city", "a declared district covers its whole city",
         [stay("130102", ago(3), ago(2)), stay("130100", ago(5), ago(4)), declared(ago(1), "130104")],
         NO, ("G3", "itinerary_verified")),
    case("g3_declared_beijing_district", "a declared Beijing district covers all of Beijing",
         [stay("110000", ago(3), ago(2)), stay("110108", ago(5), ago(4)), declared(ago(1), "110105")],
         NO, ("G3", "itinerary_verified")),
    case("g3_declared_synonym", "a declared 120100 covers a Tianjin district",
         [stay("120104", ago(3), ago(2)), declared(ago(1), "120100")], NO, ("G3", "itinerary_verified")),
    case("g3_declared_other_city", "a declared Tangshan does not cover Shijiazhuang",
         [SJZ_STAY, declared(ago(1), "130200")], POPUP, ("P", "itinerary_mismatch")),
    case("g3_stay_after_declaration", "a stay begun after the declaration need not be covered",
         [SJZ_STAY, declared(ago(2, hours=12), "130100"), stay("120104", ago(2), ago(1))],
         NO, ("G3", "itinerary_verified")),
    case("g3_arrived_exactly_at_declaration", "a stay arriving exactly at the declaration must be covered",
         [SJZ_STAY, declared(ago(2), "130100"), stay("120104", ago(2), ago(1))], POPUP, ("P", "itinerary_mismatch")),
    case("g3_same_instant_union", "two declarations at the same latest instant: the union of their regions",
         [SJZ_STAY, stay("120104", ago(5), ago(4)), declared(ago(1), "130100"), declared(ago(1), "120000")],
         NO, ("G3", "itinerary_verified")),
    case("g3_only_latest_declaration", "an older declaration does not help the latest one",
         [SJZ_STAY, declared(ago(1, hours=1), "130100"), declared(ago(1), "120000")], POPUP,
         ("P", "itinerary_mismatch")),
    case("g3_declaration_ahead", "a declaration dated after now has not happened",
         [SJZ_STAY, declared(ahead(seconds=30), "130100")], POPUP, ("P", "itinerary_not_declared"),
         valid_until=ahead(seconds=30)),
    case("g3_hotel_stay_must_be_covered", "a hotel stay is a qualifying stay for coverage",
         [*VERIFIED, checkin("120101", ago(6), cert(ago(7)), out=ago(5))], POPUP,
         ("P", "hotel_checkout_requirements_unmet", "itinerary_mismatch")),
    case("g3_hotel_stay_only", "a hotel stay alone is no platform data: unverifiable",
         [checkin("130102", ago(6), cert(ago(7)), out=ago(5)), declared(ago(1), "130100")], POPUP,
         ("P", "hotel_checkout_requirements_unmet", "itinerary_unverifiable")),
    case("g3_hotel_stay_covered", "a covered, eligible hotel stay does not stop G3 (no checkout reason then)",
         [*VERIFIED, checkin("130102", ago(6), cert(ago(7)), out=ago(5))], NO, ("G3", "itinerary_verified")),
    case("g3_hotel_stay_risky", "a risky hotel stay fails G3's eligibility",
         [*VERIFIED, checkin("110105", ago(6), cert(ago(7)), out=ago(5)), declared(ago(1), "130100", "110000")],
         POPUP, ("P", "hotel_checkout_requirements_unmet", "itinerary_risky_area"), risks=(risk("110105", ago(8)),)),
    case("g3_short_stay_not_covered_is_fine", "a 3 h stay elsewhere need not be declared",
         [*VERIFIED, stay("120104", ago(5), ago(5) + timedelta(hours=3))], NO, ("G3", "itinerary_verified")),
    # --- G3: JJJ and risk -----------------------------------------------------------------------
    case("g3_outside_jjj", "a declared Shanghai stay is outside JJJ",
         [stay("310101", ago(3), ago(2)), declared(ago(1), "310000")], POPUP, ("P", "itinerary_outside_jjj")),
    case("g3_county_level_city", "429004 (Xiantao) is its own city, outside JJJ, covered by Hubei",
         [stay("429004", ago(3), ago(2)), declared(ago(1), "420000")], POPUP, ("P", "itinerary_outside_jjj")),
    case("g3_county_level_city_not_wuhan", "a declared Wuhan does not cover Xiantao",
         [stay("429004", ago(3), ago(2)), declared(ago(1), "420100")], POPUP,
         ("P", "itinerary_outside_jjj", "itinerary_mismatch")),
    case("g3_county_level_city_risk_elsewhere", "a risky district of another Hubei city does not touch 429004",
         [stay("429004", ago(3), ago(2)), declared(ago(1), "429004")], POPUP, ("P", "itinerary_outside_jjj"),
         risks=(risk("420102", ago(5)), risk("429005", ago(5)))),
    case("g3_county_level_city_province_risk", "a Hubei-wide risk reaches 429004: both failures",
         [stay("429004", ago(3), ago(2)), declared(ago(1), "429004")], POPUP,
         ("P", "itinerary_risky_area", "itinerary_outside_jjj"), risks=(risk("420000", ago(5)),)),
    case("g3_risky_city_elsewhere", "outside home, a risky district makes its whole city risky",
         [stay("130102", ago(3), ago(2)), declared(ago(1), "130100")], POPUP, ("P", "itinerary_risky_area"),
         risks=(risk("130104", ago(5)),)),
    case("g3_risky_tianjin_district", "Tianjin is not home: a district designation makes all of Tianjin risky",
         [stay("120000", ago(3), ago(2)), declared(ago(1), "120000")], POPUP, ("P", "itinerary_risky_area"),
         risks=(risk("120101", ago(5)),)),
    case("g3_other_city_not_risky", "a risky Tangshan district does not touch Shijiazhuang", VERIFIED, NO,
         ("G3", "itinerary_verified"), risks=(risk("130203", ago(5)),)),
    case("g3_province_risk", "a province-wide risk reaches its cities", VERIFIED, POPUP,
         ("P", "itinerary_risky_area"), risks=(risk("130000", ago(5)),)),
    case("g3_home_district_city_stay", "at home, a district designation does not reach a city-level Beijing stay",
         [stay("110000", ago(3), ago(2)), declared(ago(1), "110000")], NO, ("G3", "itinerary_verified"),
         risks=(risk("110105", ago(5)),)),
    case("g3_home_district_synonym_stay", "nor a stay coded to Beijing's synonym 110100",
         [stay("110100", ago(3), ago(2)), declared(ago(1), "110000")], NO, ("G3", "itinerary_verified"),
         risks=(risk("110105", ago(5)),)),
    case("g3_home_district_stay_there", "at home, a stay coded to the designated district is risky",
         [stay("110105", ago(3), ago(2)), declared(ago(1), "110000")], POPUP, ("P", "itinerary_risky_area"),
         risks=(risk("110105", ago(5)),)),
    case("g3_home_other_district", "at home, a stay in another district is not risky",
         [stay("110108", ago(3), ago(2)), declared(ago(1), "110000")], NO, ("G3", "itinerary_verified"),
         risks=(risk("110105", ago(5)),)),
    case("g3_home_whole_city_risk", "at home, a designation of all Beijing reaches every stay",
         [stay("110108", ago(3), ago(2)), declared(ago(1), "110000")], POPUP, ("P", "itinerary_risky_area"),
         risks=(risk("110100", ago(5)),)),
    case("g3_risk_touching_not_overlapping", "a risk ending exactly at the stay's arrival does not overlap",
         [stay("130100", ago(5), ago(4)), declared(ago(1), "130100")], NO, ("G3", "itinerary_verified"),
         risks=(risk("130100", ago(10), ago(5)),), valid_until=ago(5) + WINDOW),
    case("g3_risk_overlapping_1s", "a risk ending one second after the stay's arrival overlaps",
         [stay("130100", ago(5), ago(4)), declared(ago(1), "130100")], POPUP, ("P", "itinerary_risky_area"),
         risks=(risk("130100", ago(10), ago(5, seconds=-1)),), valid_until=ago(5, seconds=-1) + WINDOW),
    case("g3_risk_after_departure", "a risk beginning after the stay ended still marks the city, up to now",
         [stay("130100", ago(5), ago(4)), declared(ago(1), "130100")], POPUP, ("P", "itinerary_risky_area"),
         risks=(risk("130100", ago(1)),)),
    case("g3_risk_starts_ahead", "a risk beginning after now is not in force yet",
         VERIFIED, NO, ("G3", "itinerary_verified"), risks=(risk("130100", ahead(hours=5)),),
         valid_until=ahead(hours=5)),
    case("g3_risk_starts_now", "a risk beginning exactly now is in force",
         VERIFIED, POPUP, ("P", "itinerary_risky_area"), risks=(risk("130100", NOW),), valid_until=NOW + SECOND),
    case("g3_risk_ended_before_window", "a risk that ended before the window does not matter",
         [stay("130100", ago(20), ago(2)), declared(ago(1), "130100")], NO, ("G3", "itinerary_verified"),
         risks=(risk("130100", ago(30), ago(14)),)),
    case("g3_risky_and_outside", "a stay can fail both ways; risky is listed first",
         [stay("310101", ago(3), ago(2)), declared(ago(1), "310000")], POPUP,
         ("P", "itinerary_risky_area", "itinerary_outside_jjj"), risks=(risk("310104", ago(5)),)),
    # --- odd data: never an exception, the conservative reading ---------------------------------
    case("odd_stay_left_before_arrival", "a departure before the arrival is a stay of no length",
         [stay("130100", ago(3), ago(4)), SJZ_DECLARED], POPUP, ("P", "itinerary_unverifiable")),
    case("odd_cleared_before_designated", "a designation cleared before it was made is never active",
         [designation("confirmed", ago(2), ago(3)), *VERIFIED], NO, ("G3", "itinerary_verified")),
    case("odd_unknown_test_source", "a negative test of unknown source proves nothing for G2",
         [checkin("110105", ago(1), NatTestFact(ago(2), "negative", "self"))], POPUP,
         ("P", "hotel_requirements_unmet", "itinerary_unverifiable", "itinerary_not_declared")),
    case("odd_unknown_test_result", "an inconclusive test is neither positive nor negative",
         [checkin("110105", ago(1), cert(ago(2), "inconclusive"))], POPUP,
         ("P", "hotel_requirements_unmet", "itinerary_unverifiable", "itinerary_not_declared")),
    case("odd_province_coded_stay", "a stay coded to a province outside home: any risk inside reaches it",
         [stay("130000", ago(3), ago(2)), declared(ago(1), "130000")], POPUP, ("P", "itinerary_risky_area"),
         risks=(risk("130203", ago(5)),)),
    case("odd_province_coded_stay_jjj", "and it is in JJJ",
         [stay("130000", ago(3), ago(2)), declared(ago(1), "130000")], NO, ("G3", "itinerary_verified")),
    # --- P: order of failures -------------------------------------------------------------------
    case("p_every_failure_undeclared", "every failure that applies at once, in the spec's order",
         [checkin("310101", ago(1)), checkin("110105", ago(4), cert(ago(5)), out=ago(3))], POPUP,
         ("P", "hotel_requirements_unmet", "hotel_checkout_requirements_unmet", "itinerary_risky_area",
          "itinerary_outside_jjj", "itinerary_unverifiable", "itinerary_not_declared"),
         risks=(risk("310000", ago(2)),)),
    case("p_every_failure_declared", "with a declaration that misses a stay: mismatch instead of not declared",
         [checkin("310101", ago(1)), checkin("110105", ago(4), cert(ago(5)), out=ago(3)),
          declared(ago(hours=1), "110000")],
         POPUP, ("P", "hotel_requirements_unmet", "hotel_checkout_requirements_unmet", "itinerary_risky_area",
                 "itinerary_outside_jjj", "itinerary_mismatch", "itinerary_unverifiable"),
         risks=(risk("310000", ago(2)),)),
    case("p_mismatch_and_outside", "outside JJJ and not covered",
         [SJZ_STAY, stay("310101", ago(6), ago(5)), declared(ago(1), "130100")], POPUP,
         ("P", "itinerary_outside_jjj", "itinerary_mismatch")),
    case("p_g2_fails_but_g3_holds", "a failing open check-in does not stop a verified itinerary",
         [*VERIFIED, checkin("130102", ago(hours=5))], NO, ("G3", "itinerary_verified")),
    # --- policy overrides -----------------------------------------------------------------------
    case("policy_window_7", "a 7-day window: a stay ending 10 days ago is out",
         [stay("130100", ago(11), ago(10)), declared(ago(1), "130100")], POPUP, ("P", "itinerary_unverifiable"),
         policy={"window_days": 7}),
    case("policy_shanghai_eligible", "Shanghai added to the eligible provinces",
         [stay("310101", ago(3), ago(2)), declared(ago(1), "310000")], NO, ("G3", "itinerary_verified"),
         policy={"eligible_provinces": ("11", "12", "13", "31")}),
    case("policy_min_stay_2h", "a 2 h minimum makes a 3 h stay qualify",
         [stay("130100", ago(2), ago(2) + timedelta(hours=3)), SJZ_DECLARED], NO, ("G3", "itinerary_verified"),
         policy={"min_stay_hours": 2}),
    case("policy_grace_0", "no grace day: entering the city the next day is late",
         [inbound(day(16), bj(5, 15, 23, 59), date(2022, 5, 16))], POPUP, ("R4", "inbound_late_arrival"),
         policy={"inbound_arrival_grace_days": 0}),
    case("policy_observation_14", "a 14-day observation: day 15 is over",
         [inbound(day(15))], POPUP, NOT_DECLARED, policy={"inbound_observation_days": 14}),
    case("policy_nat_valid_3", "a 3-day certificate validity", [checkin("110105", ago(1), cert(ago(5)))], POPUP,
         ("P", "hotel_requirements_unmet", "itinerary_unverifiable", "itinerary_not_declared"),
         policy={"nat_valid_days": 3}),
    case("policy_provinces_as_numbers", "eligible provinces held as numbers read the same",
         VERIFIED, NO, ("G3", "itinerary_verified"), policy={"eligible_provinces": (11, 12, 13)}),
    case("policy_provinces_as_codes", "eligible provinces held as province codes read the same",
         [stay("310101", ago(3), ago(2)), declared(ago(1), "310000")], NO, ("G3", "itinerary_verified"),
         policy={"eligible_provinces": ("110000", "120000", "130000", "310000")}),
    case("policy_home_tianjin", "with Tianjin as home, a Tianjin district designation no longer reaches a city stay",
         [stay("120000", ago(3), ago(2)), declared(ago(1), "120000")], NO, ("G3", "itinerary_verified"),
         risks=(risk("120101", ago(5)),), policy={"home_region": "120000"}),
    case("policy_home_tianjin_beijing_city", "then a Beijing district designation reaches all of Beijing",
         [stay("110000", ago(3), ago(2)), declared(ago(1), "110000")], POPUP, ("P", "itinerary_risky_area"),
         risks=(risk("110105", ago(5)),), policy={"home_region": "120000"}),
]


@pytest.mark.parametrize("example", CASES, ids=[c.id for c in CASES])
def test_engine_case(example: Case):
    # given the case's facts, clock, policy and risk areas
    policy = dataclasses.replace(Policy(), **example.policy)

    # when the engine decides
    decision = evaluate(example.facts, now=example.now, policy=policy, risk_areas=example.risks)

    # then the status, reasons, flags and (when pinned) valid_until are exactly the expected ones
    assert (decision.status, decision.reasons) == (example.status, example.reasons), example.description
    assert decision.review_flags == example.review_flags
    assert decision.policy_version == policy.version
    if example.valid_until is not UNCHECKED:
        assert decision.valid_until == example.valid_until, example.description


def test_case_ids_are_unique_and_cover_every_rule_and_reason():
    # given the table
    ids = [c.id for c in CASES]
    reasons = {reason for c in CASES for reason in c.reasons}

    # then ids are unique, there are enough cases, and every rule and reason code is exercised
    assert len(ids) == len(set(ids))
    assert len(CASES) >= 80
    assert reasons >= {
        "R1", "R2", "R3", "R4", "G1", "G2", "G3", "P",
        "designation_confirmed", "designation_suspected", "designation_asymptomatic", "designation_close_contact",
        "quarantine_centralized", "quarantine_home", "nat_positive", "inbound_late_arrival", "inbound_unreleased",
        "released_quarantine", "released_inbound", "hotel_stay", "itinerary_verified",
        "hotel_requirements_unmet", "hotel_checkout_requirements_unmet", "itinerary_risky_area",
        "itinerary_outside_jjj", "itinerary_mismatch", "itinerary_unverifiable", "itinerary_not_declared",
    }
