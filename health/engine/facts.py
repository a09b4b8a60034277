"""The engine's inputs and output: plain, immutable dataclasses, no ORM, no settings.

Loaders in each app turn database rows into these facts; the engine never sees a model.
Times are aware datetimes; dates are Beijing calendar dates.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta


class Status:
    NO_ABNORMALITY = "no_abnormality"
    POPUP = "popup"
    HOME_OBSERVATION = "home_observation"
    CENTRALIZED_OBSERVATION = "centralized_observation"

    ALL = (NO_ABNORMALITY, POPUP, HOME_OBSERVATION, CENTRALIZED_OBSERVATION)


@dataclass(frozen=True, slots=True)
class DesignationFact:
    """A health-authority designation: confirmed, suspected, close_contact or asymptomatic."""

    kind: str
    designated_at: datetime
    cleared_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class QuarantineFact:
    """Home or centralized quarantine registered by a community; only a lift ends it."""

    kind: str  # "home" | "centralized"
    started_at: datetime
    lifted_at: datetime | None = None
    community: str | None = None


@dataclass(frozen=True, slots=True)
class NatTestFact:
    """A nucleic-acid test of a hotel guest."""

    sampled_at: datetime
    result: str  # "negative" | "positive"
    source: str  # "certificate" | "hotel"


@dataclass(frozen=True, slots=True)
class CheckInFact:
    """A hotel stay with its tests; open while checked_out_at is None (or after now)."""

    hotel_region: str
    checked_in_at: datetime
    origin_region: str
    health_management_accepted: bool
    checked_out_at: datetime | None = None
    nat_tests: tuple[NatTestFact, ...] = ()


@dataclass(frozen=True, slots=True)
class InboundCaseFact:
    """A traveller who entered the country, registered by border control."""

    entered_country_on: date
    quarantine_ended_at: datetime | None = None
    entered_city_on: date | None = None
    managing_community: str | None = None
    released_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class StayFact:
    """An itinerary stay from the national platform, in a GB/T 2260 region."""

    region: str
    arrived_at: datetime
    left_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class DeclarationFact:
    """The person's own itinerary declaration: the regions they say they were in."""

    declared_at: datetime
    regions: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class RiskFact:
    """A medium- or high-risk designation of a region for [effective_from, effective_to)."""

    region: str
    level: str  # "medium" | "high"
    effective_from: datetime
    effective_to: datetime | None = None


@dataclass(frozen=True, slots=True)
class PersonFacts:
    """Everything recorded about one person that the rules read."""

    designations: tuple[DesignationFact, ...] = ()
    quarantines: tuple[QuarantineFact, ...] = ()
    checkins: tuple[CheckInFact, ...] = ()
    inbound_cases: tuple[InboundCaseFact, ...] = ()
    stays: tuple[StayFact, ...] = ()
    declarations: tuple[DeclarationFact, ...] = ()


# The field of PersonFacts that holds each kind of fact: loaders yield facts, this sorts them.
FACT_FIELDS: dict[type, str] = {
    DesignationFact: "designations",
    QuarantineFact: "quarantines",
    CheckInFact: "checkins",
    InboundCaseFact: "inbound_cases",
    StayFact: "stays",
    DeclarationFact: "declarations",
}


@dataclass(frozen=True, slots=True)
class Policy:
    """The versioned parameters of the rules (status-rules.md, "Policy parameters")."""

    version: int = 1
    window_days: int = 14
    min_stay_hours: int = 4
    nat_valid_days: int = 7
    inbound_observation_days: int = 28
    inbound_arrival_grace_days: int = 1
    eligible_provinces: tuple[str, ...] = ("11", "12", "13")
    home_region: str = "110000"


@dataclass(frozen=True, slots=True)
class Decision:
    """The engine's answer: status, ordered reasons (rule id first), and how long it holds."""

    status: str
    reasons: tuple[str, ...]
    valid_until: datetime | None
    policy_version: int
    # Flags for the health authority (e.g. "nat_positive"); they do not change the status.
    review_flags: tuple[str, ...] = field(default=())

    @property
    def rule(self) -> str:
        return self.reasons[0]


@dataclass(frozen=True, slots=True)
class Evidence:
    """Which fact made a reason of a decision true, as the same evaluation found it.

    The explanation names it for staff ("来源地上海市浦东新区为中风险地区（2026-11-28 起）"): `fact`
    says what kind of record it is, `detail` what about it failed (None when the fact itself is
    the reason), and the other fields the values the rule compared.
    """

    reason: str
    fact: str  # designation | quarantine | test | inbound | release | checkin | checkout | stay | origin | hotel
    detail: str | None = None
    region: str | None = None
    at: datetime | None = None
    day: date | None = None
    days: int | None = None
    interval: timedelta | None = None  # e.g. from sampling to check-in, for a certificate too old
    risk: RiskFact | None = None
    kind: str | None = None
