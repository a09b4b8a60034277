"""The status rules R1-R4, G1-G3 and P of status-rules.md, in one function.

`evaluate(facts, now=..., policy=..., risk_areas=...)` is total: missing or odd data gives a
reason, never an exception. Facts dated after `now` (a clock a little ahead, a planned end)
have not happened yet: they are ignored by the rules and only bound `valid_until`.
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone

from .facts import (
    CheckInFact,
    Decision,
    InboundCaseFact,
    PersonFacts,
    Policy,
    RiskFact,
    Status,
)
from .regions import RiskAreas, city_of, contains, normalize, significant_prefix

BEIJING = timezone(timedelta(hours=8), "Asia/Shanghai")
ONE_SECOND = timedelta(seconds=1)

DESIGNATION_ORDER = ("confirmed", "suspected", "asymptomatic", "close_contact")
RELEASE_ORDER = ("released_quarantine", "released_inbound")
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
class _Stay:
    """A stay as seen at `now`: merged platform stay or hotel stay. `end` None = still going on."""

    region: str
    arrived_at: datetime
    end: datetime | None
    platform: bool


class _Evaluation:
    """One evaluation: the facts as they stand at `now`, and the derived sets the rules share."""

    def __init__(self, facts: PersonFacts, now: datetime, policy: Policy, risk_areas: RiskAreas) -> None:
        self.facts = facts
        self.now = now
        self.policy = policy
        self.risk_areas = risk_areas
        self.today = beijing_date(now)
        self.window_start = now - timedelta(days=policy.window_days)
        self.min_stay = timedelta(hours=policy.min_stay_hours)
        self.checkins = [c for c in facts.checkins if c.checked_in_at <= now]
        self.stays = self._merged_platform_stays() + [self._hotel_stay(c) for c in self.checkins]
        self.qualifying = [s for s in self.stays if self._qualifies(s)]

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
        by_region: dict[str, list[tuple[datetime, datetime | None]]] = {}
        for stay in self.facts.stays:
            if stay.arrived_at > self.now:
                continue
            end = self.ended(stay.left_at)
            if end is not None and end < stay.arrived_at:
                end = stay.arrived_at
            by_region.setdefault(normalize(stay.region), []).append((stay.arrived_at, end))
        merged: list[_Stay] = []
        for region, intervals in sorted(by_region.items()):
            # Ongoing (None) sorts as the latest end, so equal arrivals merge the same in any order.
            intervals.sort(key=lambda pair: (pair[0], pair[1] is None, pair[1] or pair[0]))
            start, end = intervals[0]
            for arrived, left in intervals[1:]:
                if end is None or arrived <= end:  # touching or overlapping
                    end = None if end is None or left is None else max(end, left)
                else:
                    merged.append(_Stay(region, start, end, platform=True))
                    start, end = arrived, left
            merged.append(_Stay(region, start, end, platform=True))
        return merged

    def _hotel_stay(self, checkin: CheckInFact) -> _Stay:
        end = self.ended(checkin.checked_out_at)
        if end is not None and end < checkin.checked_in_at:
            end = checkin.checked_in_at
        return _Stay(normalize(checkin.hotel_region), checkin.checked_in_at, end, platform=False)

    def end_of(self, stay: _Stay) -> datetime:
        return self.now if stay.end is None else stay.end

    def _qualifies(self, stay: _Stay) -> bool:
        return self.end_of(stay) - stay.arrived_at >= self.min_stay and self.end_of(stay) >= self.window_start

    def is_risky_since(self, place: str, since: datetime) -> bool:
        return self.risk_areas.is_risky(place, max(since, self.window_start), self.now, self.policy.home_region)

    def in_jjj(self, place: str) -> bool:
        return city_of(place)[:2] in self.policy.eligible_provinces

    def stay_failures(self, stay: _Stay) -> set[str]:
        failures = set()
        if not self.in_jjj(stay.region):
            failures.add("itinerary_outside_jjj")
        if self.is_risky_since(stay.region, stay.arrived_at):
            failures.add("itinerary_risky_area")
        return failures

    # --- R1 --------------------------------------------------------------------------------
    def active_designations(self) -> list[str]:
        kinds = {
            d.kind
            for d in self.facts.designations
            if d.designated_at <= self.now and (d.cleared_at is None or self.now < d.cleared_at)
        }
        ordered = [kind for kind in DESIGNATION_ORDER if kind in kinds]
        return ordered + sorted(kinds - set(DESIGNATION_ORDER))

    # --- R2 --------------------------------------------------------------------------------
    def active_quarantine_kinds(self) -> set[str]:
        return {
            q.kind
            for q in self.facts.quarantines
            if q.started_at <= self.now and not self.happened(q.lifted_at)
        }

    # --- R3 --------------------------------------------------------------------------------
    def has_recent_positive(self) -> bool:
        return any(
            test.result == "positive" and self.in_window(test.sampled_at)
            for checkin in self.checkins
            for test in checkin.nat_tests
        )

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

    def inbound_cases(self) -> list[InboundCaseFact]:
        return [case for case in self.facts.inbound_cases if case.entered_country_on <= self.today]

    def unreleased_reasons(self) -> list[str]:
        reasons = set()
        for case in self.inbound_cases():
            if self.inbound_release(case) is not None:
                continue
            if (self.today - case.entered_country_on).days > self.policy.inbound_observation_days:
                continue
            reasons.add("inbound_late_arrival" if self.is_late_arrival(case) else "inbound_unreleased")
        return [r for r in ("inbound_late_arrival", "inbound_unreleased") if r in reasons]

    def releases(self) -> list[tuple[datetime, str]]:
        found = [
            (q.lifted_at, "released_quarantine")
            for q in self.facts.quarantines
            if q.started_at <= self.now and self.happened(q.lifted_at)
        ]
        for case in self.inbound_cases():
            released = self.inbound_release(case)
            if released is not None:
                found.append((released, "released_inbound"))
        return found

    def latest_release(self) -> tuple[datetime, list[str]] | None:
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
        if self.risk_areas.is_risky(checkin.origin_region, self.window_start, self.now, self.policy.home_region):
            return False
        if self.is_risky_since(checkin.hotel_region, checkin.checked_in_at):
            return False
        earliest_certificate = checkin.checked_in_at - timedelta(days=self.policy.nat_valid_days)
        for test in checkin.nat_tests:
            if test.result != "negative" or test.sampled_at > self.now:
                continue
            if test.source == "certificate" and earliest_certificate <= test.sampled_at <= checkin.checked_in_at:
                return True
            if test.source == "hotel" and checkin.health_management_accepted and checkin.checked_in_at <= test.sampled_at:
                return True
        return False

    # --- G3 --------------------------------------------------------------------------------
    def latest_declaration(self) -> tuple[datetime, set[str]] | None:
        declared = [d for d in self.facts.declarations if d.declared_at <= self.now]
        if not declared:
            return None
        latest = max(d.declared_at for d in declared)
        regions = {region for d in declared if d.declared_at == latest for region in d.regions}
        return latest, regions

    def covered(self, stay: _Stay, regions: Iterable[str]) -> bool:
        city = city_of(stay.region)
        return any(city.startswith(significant_prefix(city_of(region))) for region in regions)

    def itinerary_failures(self) -> list[str]:
        """The G3 failures, in P's order (empty when G3 holds)."""
        failures: set[str] = set()
        for stay in self.qualifying:
            failures |= self.stay_failures(stay)
        declaration = self.latest_declaration()
        if declaration is None:
            failures.add("itinerary_not_declared")
        else:
            declared_at, regions = declaration
            if any(s.arrived_at <= declared_at and not self.covered(s, regions) for s in self.qualifying):
                failures.add("itinerary_mismatch")
        if not any(stay.platform for stay in self.qualifying):
            failures.add("itinerary_unverifiable")
        return [f for f in FAILURE_ORDER if f in failures]

    # --- the decision ----------------------------------------------------------------------
    def decide(self) -> tuple[str, list[str]]:
        designations = self.active_designations()
        if designations:
            return Status.CENTRALIZED_OBSERVATION, ["R1"] + [f"designation_{kind}" for kind in designations]

        quarantine_kinds = self.active_quarantine_kinds()
        if quarantine_kinds:
            reasons = [f"quarantine_{kind}" for kind in ("centralized", "home") if kind in quarantine_kinds]
            reasons += sorted(f"quarantine_{k}" for k in quarantine_kinds - {"centralized", "home"})
            # An unknown kind is read conservatively, as centralized.
            status = Status.HOME_OBSERVATION if quarantine_kinds == {"home"} else Status.CENTRALIZED_OBSERVATION
            return status, ["R2"] + reasons

        if self.has_recent_positive():
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
        if any(self.in_window(c.checked_out_at) for c in self.checkins if self.happened(c.checked_out_at)):
            failures.append("hotel_checkout_requirements_unmet")
        return Status.POPUP, ["P"] + failures + itinerary

    # --- valid_until -------------------------------------------------------------------------
    def boundaries(self) -> Iterable[datetime]:
        facts, policy = self.facts, self.policy
        window = timedelta(days=policy.window_days)
        places: set[str] = set()
        for d in facts.designations:
            yield d.designated_at
            if d.cleared_at is not None:
                yield d.cleared_at
        for q in facts.quarantines:
            yield q.started_at
            if q.lifted_at is not None:
                yield q.lifted_at
        for checkin in facts.checkins:
            yield checkin.checked_in_at
            if checkin.checked_out_at is not None:
                yield checkin.checked_out_at
            places.update((checkin.hotel_region, checkin.origin_region))
            for test in checkin.nat_tests:
                yield test.sampled_at
                if test.result == "positive":
                    yield test.sampled_at + window
        for case in facts.inbound_cases:
            yield beijing_midnight(case.entered_country_on)
            yield beijing_midnight(case.entered_country_on + timedelta(days=policy.inbound_observation_days + 1))
            if case.entered_city_on is not None:
                yield beijing_midnight(case.entered_city_on)
            if case.quarantine_ended_at is not None:
                yield case.quarantine_ended_at
            if case.released_at is not None:
                yield case.released_at
        for stay in facts.stays:
            places.add(stay.region)
            yield stay.arrived_at
            if stay.left_at is not None:
                yield stay.left_at
        for declaration in facts.declarations:
            yield declaration.declared_at
        release = self.latest_release()
        if release is not None:
            yield release[0] + window
        for stay in self.stays:
            yield self.end_of(stay) + window
            if stay.end is None and self.now - stay.arrived_at < self.min_stay:
                yield stay.arrived_at + self.min_stay
        risks: set[RiskFact] = set()
        for place in places:
            risks.update(self.risk_areas.relevant(place, policy.home_region))
        for risk in risks:
            yield risk.effective_from
            if risk.effective_to is not None:
                yield risk.effective_to
                yield risk.effective_to + window

    def valid_until(self) -> datetime | None:
        ahead = [moment if moment > self.now else self.now + ONE_SECOND for moment in self.boundaries() if moment >= self.now]
        return min(ahead) if ahead else None


def evaluate(
    facts: PersonFacts,
    *,
    now: datetime,
    policy: Policy,
    risk_areas: RiskAreas | Iterable[RiskFact] = (),
) -> Decision:
    """Decide a person's status at `now` from their facts (status-rules.md)."""
    evaluation = _Evaluation(facts, now, policy, RiskAreas.of(risk_areas))
    status, reasons = evaluation.decide()
    return Decision(
        status=status,
        reasons=tuple(reasons),
        valid_until=evaluation.valid_until(),
        policy_version=policy.version,
        review_flags=("nat_positive",) if evaluation.has_recent_positive() else (),
    )


def evaluate_unknown(*, now: datetime, policy: Policy) -> Decision:
    """What a person with no data gets; the public answer for an unknown or mismatched ID number."""
    return evaluate(PersonFacts(), now=now, policy=policy)


__all__ = ["BEIJING", "beijing_date", "beijing_midnight", "evaluate", "evaluate_unknown", "contains"]
