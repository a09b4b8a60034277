"""The status rules R1-R4, G1-G3 and P of status-rules.md, in one function.

`evaluate(facts, now=..., policy=..., risk_areas=...)` is total: missing or odd data gives a
reason, never an exception. Facts dated after `now` (a clock a little ahead, a planned end)
have not happened yet: they are ignored by the rules and only bound `valid_until`.
The decisions taken where the spec is silent are listed, each with its test, in docs/rules.md.
"""
from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone

from .facts import (
    CheckInFact,
    Decision,
    DesignationFact,
    Evidence,
    InboundCaseFact,
    NatTestFact,
    PersonFacts,
    Policy,
    RiskFact,
    Status,
    StayFact,
)
from .regions import RiskAreas, city_of, contains, normalize, significant_prefix

BEIJING = timezone(timedelta(hours=8), "Asia/Shanghai")
ONE_SECOND = timedelta(seconds=1)
# The closed window [now - WINDOW_DAYS, now] still holds a moment X at now = X + WINDOW_DAYS;
# it lets go of X one tick later, and a datetime's tick is a microsecond.
ONE_TICK = timedelta(microseconds=1)
_UNKNOWN = object()

DESIGNATION_ORDER = ("confirmed", "suspected", "asymptomatic", "close_contact")
RELEASE_ORDER = ("released_quarantine", "released_inbound")
INBOUND_ORDER = ("inbound_late_arrival", "inbound_unreleased")
FAILURE_ORDER = (
    "hotel_requirements_unmet",
    "hotel_checkout_requirements_unmet",
    "itinerary_risky_area",
    "itinerary_outside_jjj",
    "itinerary_mismatch",
    "itinerary_unverifiable",
    "itinerary_not_declared",
)


def beijing_date(moment: datetime) -> date:
    return moment.astimezone(BEIJING).date()


def beijing_midnight(day: date) -> datetime:
    return datetime.combine(day, time(0), tzinfo=BEIJING)


@dataclass(frozen=True, slots=True)
class MergedStay:
    """Platform stay records of one region that touch or overlap, as one stay seen at some `now`."""

    region: str
    arrived_at: datetime
    end: datetime | None  # None = still going on
    records: tuple[StayFact, ...]


def merge_stays(stays: Iterable[StayFact], *, now: datetime) -> list[MergedStay]:
    """The platform stays as the rules read them at `now` (status-rules.md, "Stays").

    Records are grouped by folded region code; a record arriving after `now` has not happened;
    a `left_at` after `now` means still going on; an end before the arrival is a zero-length stay.
    The one merge, used by the evaluation and by the purge (`stays_unseen`).
    """
    return [MergedStay(region, arrived, end, tuple(records)) for region, arrived, end, records in _merged(stays, now)]


def _merged(stays: Iterable[StayFact], now: datetime) -> list[tuple[str, datetime, datetime | None, list[StayFact]]]:
    """`merge_stays` as plain tuples (region, arrived, end, records): the evaluation needs no MergedStay."""
    if not stays:
        return []
    by_region: dict[str, list[tuple[datetime, datetime | None, StayFact]]] = {}
    for stay in stays:
        if stay.arrived_at > now:
            continue
        end = stay.left_at if stay.left_at is not None and stay.left_at <= now else None
        if end is not None and end < stay.arrived_at:
            end = stay.arrived_at
        by_region.setdefault(normalize(stay.region), []).append((stay.arrived_at, end, stay))
    merged: list[tuple[str, datetime, datetime | None, list[StayFact]]] = []
    for region, intervals in sorted(by_region.items()):
        if len(intervals) == 1:
            arrived, end, record = intervals[0]
            merged.append((region, arrived, end, [record]))
            continue
        # Ongoing (None) sorts as the latest end, so equal arrivals merge the same in any order.
        intervals.sort(key=lambda item: (item[0], item[1] is None, item[1] or item[0]))
        start, end, first = intervals[0]
        records = [first]
        for arrived, left, record in intervals[1:]:
            if end is None or arrived <= end:  # touching or overlapping
                end = None if end is None or left is None else max(end, left)
                records.append(record)
            else:
                merged.append((region, start, end, records))
                start, end, records = arrived, left, [record]
        merged.append((region, start, end, records))
    return merged


def stays_unseen(stays: Iterable[StayFact], *, now: datetime, horizon: datetime) -> list[StayFact]:
    """The records no evaluation at `now` or later can see, when `horizon` <= now - WINDOW_DAYS of every policy.

    Every record of a merged stay that ended before `horizon`: such a stay can never qualify again
    (the window only moves forward), none of its times lies ahead, and no record still to come can
    join it (it would have to arrive before its end, in the past). Deleting one record of a merged
    stay that goes on past the horizon could move that stay's arrival or shorten it, so its records
    are all kept.
    """
    return [
        record
        for stay in merge_stays(stays, now=now)
        if stay.end is not None and stay.end < horizon
        for record in stay.records
    ]


# The evaluation's own records are built for every person of a batch: plain slotted classes (a
# frozen dataclass sets each field through object.__setattr__), compared and hashed by identity.
@dataclass(slots=True, eq=False)
class _Stay:
    """A stay as seen at `now`: merged platform stay or hotel stay. `end` None = still going on."""

    region: str
    arrived_at: datetime
    end: datetime | None
    platform: bool


@dataclass(slots=True, eq=False)
class _Quarantine:
    """A quarantine that has started, with the moment it was lifted as seen at `now` (None = active)."""

    centralized: bool
    lifted_at: datetime | None
    started_at: datetime | None = None
    community: str | None = None


@dataclass(frozen=True, slots=True)
class _Frame:
    """What depends only on `now` and the policy: the same for every person of a batch."""

    now: datetime
    policy: Policy
    today: date
    window: timedelta
    window_start: datetime
    min_stay: timedelta
    eligible_provinces: frozenset[str]

    @classmethod
    def of(cls, now: datetime, policy: Policy) -> _Frame:
        window = timedelta(days=policy.window_days)
        return cls(
            now,
            policy,
            today=beijing_date(now),
            window=window,
            window_start=now - window,
            min_stay=timedelta(hours=policy.min_stay_hours),
            # Provinces as two-digit strings, whether the policy row holds "13", 13 or "130000".
            eligible_provinces=frozenset(str(province)[:2] for province in policy.eligible_provinces),
        )


# The last frame made: a batch evaluates every person with the same `now` and policy objects.
_last_frame: _Frame | None = None


def _frame(now: datetime, policy: Policy) -> _Frame:
    global _last_frame
    frame = _last_frame
    if frame is None or frame.now is not now or frame.policy is not policy:
        frame = _last_frame = _Frame.of(now, policy)
    return frame


class _Evaluation:
    """One evaluation: the facts as they stand at `now`, and the derived sets the rules share."""

    def __init__(self, facts: PersonFacts, now: datetime, policy: Policy, risk_areas: RiskAreas) -> None:
        frame = _frame(now, policy)
        self.facts = facts
        self.now = now
        self.policy = policy
        self.risk_areas = risk_areas
        self.today = frame.today
        self.window = frame.window
        self.window_start = frame.window_start
        self.min_stay = frame.min_stay
        self.eligible_provinces = frame.eligible_provinces
        self.checkins = [c for c in facts.checkins if c.checked_in_at <= now] if facts.checkins else []
        self.stays = self._merged_platform_stays()
        if self.checkins:
            self.stays += [self._hotel_stay(c) for c in self.checkins]
        self.qualifying = [s for s in self.stays if self._qualifies(s)]
        self.inbound = [case for case in facts.inbound_cases if case.entered_country_on <= self.today]
        self.quarantines = self._quarantines() if facts.quarantines else []
        self.recent_positive = self._has_recent_positive() if facts.checkins else False
        self._failures: dict[_Stay, frozenset[str]] = {}
        self._latest_release: object = _UNKNOWN
        self._latest_declaration: object = _UNKNOWN

    # --- helpers on time ---------------------------------------------------------------
    def happened(self, moment: datetime | None) -> bool:
        return moment is not None and moment <= self.now

    def in_window(self, moment: datetime) -> bool:
        return self.window_start <= moment <= self.now

    def ended(self, moment: datetime | None) -> datetime | None:
        """An end time as seen at now: one still ahead means "not ended yet"."""
        return moment if moment is not None and moment <= self.now else None

    # --- stays ---------------------------------------------------------------------------
    def _merged_platform_stays(self) -> list[_Stay]:
        return [_Stay(region, arrived, end, True) for region, arrived, end, _records in _merged(self.facts.stays, self.now)]

    def _hotel_stay(self, checkin: CheckInFact) -> _Stay:
        end = self.ended(checkin.checked_out_at)
        if end is not None and end < checkin.checked_in_at:
            end = checkin.checked_in_at
        return _Stay(normalize(checkin.hotel_region), checkin.checked_in_at, end, platform=False)

    def end_of(self, stay: _Stay) -> datetime:
        return self.now if stay.end is None else stay.end

    def _qualifies(self, stay: _Stay) -> bool:
        end = self.end_of(stay)
        return end - stay.arrived_at >= self.min_stay and end >= self.window_start

    def is_risky_since(self, place: str, since: datetime) -> bool:
        return self.risk_areas.is_risky(place, max(since, self.window_start), self.now, self.policy.home_region)

    def in_jjj(self, place: str) -> bool:
        return city_of(place)[:2] in self.eligible_provinces

    def stay_failures(self, stay: _Stay) -> frozenset[str]:
        failures = self._failures.get(stay)
        if failures is None:
            found = []
            if self.is_risky_since(stay.region, stay.arrived_at):
                found.append("itinerary_risky_area")
            if not self.in_jjj(stay.region):
                found.append("itinerary_outside_jjj")
            failures = self._failures[stay] = frozenset(found)
        return failures

    # --- R1 --------------------------------------------------------------------------------
    def active_designation_facts(self) -> list[DesignationFact]:
        if not self.facts.designations:
            return []
        now = self.now
        return [d for d in self.facts.designations if d.designated_at <= now and (d.cleared_at is None or now < d.cleared_at)]

    def active_designations(self) -> list[str]:
        if not self.facts.designations:
            return []
        kinds = {d.kind for d in self.active_designation_facts()}
        ordered = [kind for kind in DESIGNATION_ORDER if kind in kinds]
        # An unknown kind is still a designation by the health authority: it counts, after the known ones.
        return ordered + sorted(kinds - set(DESIGNATION_ORDER))

    # --- R2 --------------------------------------------------------------------------------
    def _quarantines(self) -> list[_Quarantine]:
        """Started quarantines with their lift as of now (None = active).

        A quarantine ends only by its own `lifted_at`. Releasing a managed inbound case writes that
        lift on the records active when the release is recorded (the release's service does it);
        the engine does not infer lifts from releases, so a quarantine registered after a release
        stays active whatever its start (status-rules.md, Releases; docs/rules.md, decision 9).
        """
        found = []
        for q in self.facts.quarantines:
            if q.started_at > self.now:
                continue
            # An unknown kind is read conservatively, as centralized.
            found.append(
                _Quarantine(q.kind != "home", q.lifted_at if self.happened(q.lifted_at) else None, q.started_at, q.community)
            )
        return found

    def active_quarantine_reasons(self) -> list[str]:
        if not self.quarantines:
            return []
        active = [q for q in self.quarantines if q.lifted_at is None]
        reasons = []
        if any(q.centralized for q in active):
            reasons.append("quarantine_centralized")
        if any(not q.centralized for q in active):
            reasons.append("quarantine_home")
        return reasons

    # --- R3 --------------------------------------------------------------------------------
    def _has_recent_positive(self) -> bool:
        return any(self._recent_positives())

    def _recent_positives(self) -> Iterator[tuple[CheckInFact, NatTestFact]]:
        # Only `sampled_at` decides: a check-in recorded a little ahead of the clock (not yet in
        # self.checkins, which G2 and the stays read) still carries a positive sampled in the window.
        for checkin in self.facts.checkins:
            for test in checkin.nat_tests:
                if test.result == "positive" and self.in_window(test.sampled_at):
                    yield checkin, test

    # --- releases and R4 -------------------------------------------------------------------
    def inbound_release(self, case: InboundCaseFact) -> datetime | None:
        if case.managing_community:
            return case.released_at if self.happened(case.released_at) else None
        delay = self.arrival_delay(case)
        if delay is None or not 0 <= delay <= self.policy.inbound_arrival_grace_days:
            return None
        return case.quarantine_ended_at

    def arrival_delay(self, case: InboundCaseFact) -> int | None:
        """Days from the end of quarantine to entering the city, once both have happened."""
        if not self.happened(case.quarantine_ended_at) or case.entered_city_on is None:
            return None
        if case.entered_city_on > self.today:
            return None
        return (case.entered_city_on - beijing_date(case.quarantine_ended_at)).days

    def is_late_arrival(self, case: InboundCaseFact) -> bool:
        if case.managing_community:
            return False
        delay = self.arrival_delay(case)
        return delay is not None and delay > self.policy.inbound_arrival_grace_days

    def unreleased_cases(self) -> list[InboundCaseFact]:
        """The inbound cases that hold R4: not released, and still in the observation period."""
        return [
            case
            for case in self.inbound
            if self.inbound_release(case) is None
            and (self.today - case.entered_country_on).days <= self.policy.inbound_observation_days
        ]

    def unreleased_reason(self, case: InboundCaseFact) -> str:
        return "inbound_late_arrival" if self.is_late_arrival(case) else "inbound_unreleased"

    def unreleased_reasons(self) -> list[str]:
        if not self.inbound:
            return []
        reasons = {self.unreleased_reason(case) for case in self.unreleased_cases()}
        return [r for r in INBOUND_ORDER if r in reasons]

    def releases(self) -> list[tuple[datetime, str]]:
        found = [(q.lifted_at, "released_quarantine") for q in self.quarantines if q.lifted_at is not None]
        for case in self.inbound:
            released = self.inbound_release(case)
            if released is not None:
                found.append((released, "released_inbound"))
        return found

    def latest_release(self) -> tuple[datetime, list[str]] | None:
        if self._latest_release is _UNKNOWN:
            self._latest_release = self._find_latest_release()
        return self._latest_release

    def _find_latest_release(self) -> tuple[datetime, list[str]] | None:
        releases = self.releases()
        if not releases:
            return None
        latest = max(moment for moment, _ in releases)
        kinds = {kind for moment, kind in releases if moment == latest}
        return latest, [kind for kind in RELEASE_ORDER if kind in kinds]

    # --- G2 --------------------------------------------------------------------------------
    def open_checkins(self) -> list[CheckInFact]:
        return [c for c in self.checkins if not self.happened(c.checked_out_at)]

    def checkin_qualifies(self, checkin: CheckInFact) -> bool:
        home = self.policy.home_region
        if self.risk_areas.is_risky(checkin.origin_region, self.window_start, self.now, home):
            return False
        if self.is_risky_since(checkin.hotel_region, checkin.checked_in_at):
            return False
        return any(self.test_refusal(checkin, test) is None for test in checkin.nat_tests)

    def test_refusal(self, checkin: CheckInFact, test: NatTestFact) -> str | None:
        """None when G2 accepts this test for this check-in; otherwise why it does not count."""
        if test.sampled_at > self.now:
            return "test_ahead"
        if test.result != "negative":
            return "test_not_negative"
        if test.source == "certificate":
            if test.sampled_at > checkin.checked_in_at:
                return "certificate_after_checkin"
            if test.sampled_at < checkin.checked_in_at - timedelta(days=self.policy.nat_valid_days):
                return "certificate_too_old"
            return None
        if test.source == "hotel":
            if test.sampled_at < checkin.checked_in_at:
                return "hotel_test_before_checkin"
            if not checkin.health_management_accepted:
                return "hotel_test_without_management"
            return None
        return "test_unknown_source"

    # --- G3 --------------------------------------------------------------------------------
    def latest_declaration(self) -> tuple[datetime, set[str]] | None:
        if self._latest_declaration is _UNKNOWN:
            self._latest_declaration = self._find_latest_declaration()
        return self._latest_declaration

    def _find_latest_declaration(self) -> tuple[datetime, set[str]] | None:
        declared = [d for d in self.facts.declarations if d.declared_at <= self.now]
        if not declared:
            return None
        latest = max(d.declared_at for d in declared)
        # Two declarations at the same instant: neither is later, so both are what the person said.
        regions = {region for d in declared if d.declared_at == latest for region in d.regions}
        return latest, regions

    @staticmethod
    def covered(stay: _Stay, prefixes: Iterable[str]) -> bool:
        city = city_of(stay.region)
        return any(city.startswith(prefix) for prefix in prefixes)

    def undeclared_stays(self) -> Iterator[_Stay]:
        """The qualifying stays the latest declaration should cover and does not (itinerary_mismatch)."""
        declaration = self.latest_declaration()
        if declaration is None:
            return
        declared_at, regions = declaration
        prefixes = {significant_prefix(city_of(region)) for region in regions}
        for stay in self.qualifying:
            if stay.arrived_at <= declared_at and not self.covered(stay, prefixes):
                yield stay

    def itinerary_failures(self) -> list[str]:
        """The G3 failures, in P's order (empty when G3 holds)."""
        failures: set[str] = set()
        for stay in self.qualifying:
            failures |= self.stay_failures(stay)
        if self.latest_declaration() is None:
            failures.add("itinerary_not_declared")
        elif any(self.undeclared_stays()):
            failures.add("itinerary_mismatch")
        if not any(stay.platform for stay in self.qualifying):
            failures.add("itinerary_unverifiable")
        return [f for f in FAILURE_ORDER if f in failures]

    # --- the decision ----------------------------------------------------------------------
    def decide(self) -> tuple[str, list[str]]:
        designations = self.active_designations()
        if designations:
            return Status.CENTRALIZED_OBSERVATION, ["R1"] + [f"designation_{kind}" for kind in designations]

        quarantine = self.active_quarantine_reasons()
        if quarantine:
            centralized = quarantine[0] == "quarantine_centralized"
            status = Status.CENTRALIZED_OBSERVATION if centralized else Status.HOME_OBSERVATION
            return status, ["R2"] + quarantine

        if self.recent_positive:
            return Status.POPUP, ["R3", "nat_positive"]

        unreleased = self.unreleased_reasons()
        if unreleased:
            return Status.POPUP, ["R4"] + unreleased

        release = self.latest_release()
        if release is not None:
            released_at, kinds = release
            if self.in_window(released_at) and all(
                not self.stay_failures(stay)
                for stay in self.qualifying
                if stay.end is None or stay.end > released_at
            ):
                return Status.NO_ABNORMALITY, ["G1"] + kinds

        open_checkins = self.open_checkins()
        if open_checkins and all(self.checkin_qualifies(c) for c in open_checkins):
            return Status.NO_ABNORMALITY, ["G2", "hotel_stay"]

        itinerary = self.itinerary_failures()
        if not itinerary:
            return Status.NO_ABNORMALITY, ["G3", "itinerary_verified"]

        failures = []
        if any(not self.checkin_qualifies(c) for c in open_checkins):
            failures.append("hotel_requirements_unmet")
        if any(self.recent_checkouts()):
            failures.append("hotel_checkout_requirements_unmet")
        return Status.POPUP, ["P"] + failures + itinerary

    def recent_checkouts(self) -> Iterator[CheckInFact]:
        return (c for c in self.checkins if self.happened(c.checked_out_at) and self.in_window(c.checked_out_at))

    # --- evidence: which facts made each reason true -----------------------------------------
    def evidence(self, reasons: Iterable[str]) -> list[Evidence]:
        """For each reason of the decision, the facts behind it, found by the predicates that decided."""
        codes = set(reasons)
        found: list[Evidence] = []
        for d in self.active_designation_facts():
            if f"designation_{d.kind}" in codes:
                found.append(Evidence(f"designation_{d.kind}", "designation", at=d.designated_at, kind=d.kind))
        for q in self.quarantines:
            reason = "quarantine_centralized" if q.centralized else "quarantine_home"
            if q.lifted_at is None and reason in codes:
                found.append(Evidence(reason, "quarantine", at=q.started_at))
        if "nat_positive" in codes:
            for checkin, test in self._recent_positives():
                found.append(Evidence("nat_positive", "test", region=checkin.hotel_region, at=test.sampled_at))
        for case in self.unreleased_cases():
            reason = self.unreleased_reason(case)
            if reason in codes:
                late = reason == "inbound_late_arrival"
                found.append(
                    Evidence(reason, "inbound", day=case.entered_city_on if late else case.entered_country_on,
                             days=self.arrival_delay(case) if late else None)
                )
        release = self.latest_release()
        if release is not None:
            for kind in release[1]:
                if kind in codes:
                    found.append(Evidence(kind, "release", at=release[0]))
        open_checkins = self.open_checkins()
        if "hotel_stay" in codes:
            found += [Evidence("hotel_stay", "checkin", region=c.hotel_region, at=c.checked_in_at) for c in open_checkins]
        if "itinerary_verified" in codes and (declaration := self.latest_declaration()) is not None:
            found.append(Evidence("itinerary_verified", "declaration", at=declaration[0]))
        if "hotel_requirements_unmet" in codes:
            for checkin in open_checkins:
                if not self.checkin_qualifies(checkin):
                    found += self._checkin_evidence(checkin)
        if "hotel_checkout_requirements_unmet" in codes:
            found += [
                Evidence("hotel_checkout_requirements_unmet", "checkout", region=c.hotel_region, at=c.checked_out_at)
                for c in self.recent_checkouts()
            ]
        for stay in self.qualifying:
            failures = self.stay_failures(stay)
            if "itinerary_risky_area" in failures and "itinerary_risky_area" in codes:
                since = max(stay.arrived_at, self.window_start)
                risks = self.risk_areas.risks(stay.region, since, self.now, self.policy.home_region)
                found.append(Evidence("itinerary_risky_area", "stay", region=stay.region, at=stay.arrived_at, risk=risks[0]))
            if "itinerary_outside_jjj" in failures and "itinerary_outside_jjj" in codes:
                found.append(Evidence("itinerary_outside_jjj", "stay", region=stay.region, at=stay.arrived_at))
        if "itinerary_mismatch" in codes:
            found += [Evidence("itinerary_mismatch", "stay", region=s.region, at=s.arrived_at) for s in self.undeclared_stays()]
        return found

    def _checkin_evidence(self, checkin: CheckInFact) -> list[Evidence]:
        """Why an open check-in fails G2: a risky origin, a risky hotel region, no test that counts."""
        reason, home = "hotel_requirements_unmet", self.policy.home_region
        found = [
            Evidence(reason, "origin", region=checkin.origin_region, risk=risk)
            for risk in self.risk_areas.risks(checkin.origin_region, self.window_start, self.now, home)[:1]
        ]
        since = max(checkin.checked_in_at, self.window_start)
        found += [
            Evidence(reason, "hotel", region=checkin.hotel_region, risk=risk)
            for risk in self.risk_areas.risks(checkin.hotel_region, since, self.now, home)[:1]
        ]
        refusals = [(test, self.test_refusal(checkin, test)) for test in checkin.nat_tests]
        if any(refusal is None for _test, refusal in refusals):
            return found
        if not refusals:
            return [*found, Evidence(reason, "checkin", detail="no_test", at=checkin.checked_in_at)]
        for test, refusal in refusals:
            interval = checkin.checked_in_at - test.sampled_at if refusal == "certificate_too_old" else None
            found.append(Evidence(reason, "test", detail=refusal, at=test.sampled_at, interval=interval, kind=test.source))
        return found

    # --- valid_until -------------------------------------------------------------------------
    def boundaries(self) -> Iterator[datetime | None]:
        """Every moment at which the decision may change (None where a date arithmetic overflows)."""
        facts, policy = self.facts, self.policy
        # A moment X stays in the closed window until X + window inclusive: it changes one tick later.
        leaves_window = self.window + ONE_TICK
        places: set[str] = set()
        for d in facts.designations:
            yield d.designated_at
            yield d.cleared_at
        for q in facts.quarantines:
            yield q.started_at
            yield q.lifted_at
        for checkin in facts.checkins:
            yield checkin.checked_in_at
            yield checkin.checked_out_at
            places.add(checkin.hotel_region)
            places.add(checkin.origin_region)
            for test in checkin.nat_tests:
                yield test.sampled_at
                if test.result == "positive":
                    yield _plus(test.sampled_at, leaves_window)
        for case in facts.inbound_cases:
            yield _midnight_after(case.entered_country_on, 0)
            # The observation holds through day entered_country_on + N, so it ends the midnight after.
            yield _midnight_after(case.entered_country_on, policy.inbound_observation_days + 1)
            if case.entered_city_on is not None:
                yield _midnight_after(case.entered_city_on, 0)
            yield case.quarantine_ended_at
            yield case.released_at
        for stay in facts.stays:
            yield stay.arrived_at
            yield stay.left_at
        for declaration in facts.declarations:
            yield declaration.declared_at
        release = self.latest_release()
        if release is not None:
            yield _plus(release[0], leaves_window)
        for stay in self.stays:
            if stay.platform and (stay.end is None or stay.end >= self.window_start):
                # Risk can only matter to a stay that may qualify now or later: one that ended before
                # the window never will, and a stay still to come is bounded by its arrival above.
                places.add(stay.region)
            if stay.end is None:
                # Still going on: its end moves with now, and it changes only at a recorded left_at.
                if self.now - stay.arrived_at < self.min_stay:
                    yield _plus(stay.arrived_at, self.min_stay)
            else:
                yield _plus(stay.end, leaves_window)
        home = policy.home_region
        for place in places:
            # A designation relevant to two places is seen twice: cheaper than hashing each one.
            for risk in self.risk_areas.relevant(place, home):
                yield risk.effective_from
                if risk.effective_to is not None:
                    yield risk.effective_to
                    # [since, now] stops meeting [from, to) once now - window reaches to.
                    yield _plus(risk.effective_to, self.window)

    def valid_until(self) -> datetime | None:
        now = self.now
        ahead = None
        for moment in self.boundaries():
            if moment is None or moment < now:
                continue
            if moment == now:
                moment = now + ONE_SECOND
            if ahead is None or moment < ahead:
                ahead = moment
        return ahead


def _plus(moment: datetime, delta: timedelta) -> datetime | None:
    try:
        return moment + delta
    except OverflowError:
        return None


def _midnight_after(day: date, days: int) -> datetime | None:
    try:
        return beijing_midnight(day + timedelta(days=days))
    except OverflowError:
        return None


def evaluate(
    facts: PersonFacts,
    *,
    now: datetime,
    policy: Policy,
    risk_areas: RiskAreas | Iterable[RiskFact] = (),
) -> Decision:
    """Decide a person's status at `now` from their facts (status-rules.md)."""
    return _decision(_Evaluation(facts, now, policy, RiskAreas.of(risk_areas)))


def explain(
    facts: PersonFacts,
    *,
    now: datetime,
    policy: Policy,
    risk_areas: RiskAreas | Iterable[RiskFact] = (),
) -> tuple[Decision, tuple[Evidence, ...]]:
    """The decision `evaluate` gives, with the facts behind each of its reasons (from the same evaluation)."""
    evaluation = _Evaluation(facts, now, policy, RiskAreas.of(risk_areas))
    decision = _decision(evaluation)
    return decision, tuple(evaluation.evidence(decision.reasons))


def _decision(evaluation: _Evaluation) -> Decision:
    status, reasons = evaluation.decide()
    policy = evaluation.policy
    return Decision(
        status=status,
        reasons=tuple(reasons),
        valid_until=evaluation.valid_until(),
        policy_version=policy.version,
        # Whichever rule decided, a positive test in the window is for the health authority to see.
        review_flags=("nat_positive",) if evaluation.recent_positive else (),
    )


# Reasons of P that rest on the platform's itinerary data (the rest: no data, no declaration, a hotel).
PLATFORM_DATA_FAILURES = frozenset({"itinerary_risky_area", "itinerary_outside_jjj", "itinerary_mismatch"})


@dataclass(frozen=True)
class Responsible:
    """Who can act on a status (a correction request goes there): the deciding rule and one organisation.

    `department` is a department's kind ("health", "border", "platform"); `community` a community's
    code. Exactly one of them is set.
    """

    rule: str
    department: str | None = None
    community: str | None = None


def responsible(
    facts: PersonFacts,
    *,
    now: datetime,
    policy: Policy,
    risk_areas: RiskAreas | Iterable[RiskFact] = (),
) -> Responsible:
    """The organisation whose records decided the status at `now` (docs/rules.md, correction routing).

    R1 and R3: the health authority. R2: the community of the active quarantine that started last
    (health if none is named). R4: the managing community of an unreleased case, else border control.
    P: the platform when its itinerary data failed (risky, outside JJJ, not covered), else health.
    G1-G3 (nothing to correct in the records): health.
    """
    evaluation = _Evaluation(facts, now, policy, RiskAreas.of(risk_areas))
    _status, reasons = evaluation.decide()
    rule = reasons[0]
    if rule == "R2":
        active = [q for q in evaluation.quarantines if q.lifted_at is None and q.community]
        if active:
            latest = max(active, key=lambda q: (q.started_at, q.community))
            return Responsible(rule, community=latest.community)
    if rule == "R4":
        cases = evaluation.unreleased_cases()
        managed = sorted(
            (case for case in cases if case.managing_community),
            key=lambda case: (case.entered_country_on, case.managing_community),
        )
        if managed:
            return Responsible(rule, community=managed[-1].managing_community)
        return Responsible(rule, department="border")
    if rule == "P" and PLATFORM_DATA_FAILURES & set(reasons):
        return Responsible(rule, department="platform")
    return Responsible(rule, department="health")


def evaluate_unknown(*, now: datetime, policy: Policy) -> Decision:
    """What a person with no data gets; the public answer for an unknown or mismatched ID number."""
    return evaluate(PersonFacts(), now=now, policy=policy)


# Every reason code a decision can carry after its rule id (status-rules.md), in the order of the rules.
REASON_CODES = (
    *(f"designation_{kind}" for kind in DESIGNATION_ORDER),
    "quarantine_centralized",
    "quarantine_home",
    "nat_positive",
    *INBOUND_ORDER,
    *RELEASE_ORDER,
    "hotel_stay",
    "itinerary_verified",
    *FAILURE_ORDER,
)
RULE_IDS = ("R1", "R2", "R3", "R4", "G1", "G2", "G3", "P")

__all__ = [
    "BEIJING",
    "REASON_CODES",
    "RULE_IDS",
    "MergedStay",
    "Responsible",
    "beijing_date",
    "beijing_midnight",
    "contains",
    "evaluate",
    "evaluate_unknown",
    "explain",
    "merge_stays",
    "responsible",
    "stays_unseen",
]
