"""The engine's inputs read from the database: the policy version in force and the risk areas that can still matter.

Read by every job of the status pipeline (marking, recompute, sweep, fan-out), the impact preview
and the explanations; writes nothing. The recompute reads them through `status_inputs_current`,
which keeps them per process while the database's stamp of both tables stays the same.
"""
from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.db import connections
from django.db.models import Q
from django.utils import timezone

from health import replicas
from health.engine import Policy, RiskAreas, RiskFact
from health.models import Policy as PolicyVersion
from health.models import RiskArea


def chunked(items: Sequence[int], size: int) -> Iterator[list[int]]:
    for start in range(0, len(items), size):
        yield list(items[start : start + size])


def policy_current(*, now: datetime | None = None) -> Policy:
    """The version in force at `now` (default: now): the highest whose planned start has come."""
    row = PolicyVersion.objects.filter(effective_from__lte=now or timezone.now()).order_by("-version").first()
    if row is None:
        return Policy(version=0)
    return _policy(row)


def _policy(row: PolicyVersion) -> Policy:
    return Policy(
        version=row.version,
        window_days=row.window_days,
        min_stay_hours=row.min_stay_hours,
        nat_valid_days=row.nat_valid_days,
        inbound_observation_days=row.inbound_observation_days,
        inbound_arrival_grace_days=row.inbound_arrival_grace_days,
        eligible_provinces=tuple(row.eligible_provinces),
        home_region=row.home_region,
    )


def risk_areas_current(*, now: datetime, policy: Policy) -> RiskAreas:
    """Designations that can still matter: in force, or ended within the window; never a withdrawn one."""
    return RiskAreas(risk_facts_current(now=now, policy=policy))


def risk_facts_current(*, now: datetime, policy: Policy, excluding: int | None = None) -> list[RiskFact]:
    """The designations of `risk_areas_current` as facts; `excluding` leaves one out (a preview replaces it)."""
    horizon = now - timedelta(days=policy.window_days)
    # A withdrawn designation never existed for the rules.
    rows = RiskArea.objects.standing().filter(Q(effective_to__isnull=True) | Q(effective_to__gt=horizon))
    if excluding is not None:
        rows = rows.exclude(pk=excluding)
    return [
        RiskFact(region, level, start, end)
        for region, level, start, end in rows.values_list("region_id", "level", "effective_from", "effective_to")
    ]


# --- the recompute's inputs, kept per process ---------------------------------------------------
# Re-reading the policy and the risk areas was two queries (and their ORM work) in every recompute,
# about a quarter of a single person's (docs/scaling.md, "Fourth round"). They are kept here while
# the stamp that database triggers change with every write to either table stays the same: a
# process never decides with a version or a designation older than what the stamp it read says.
STAMP_SQL = "SELECT stamp FROM health_statusinputsstamp WHERE id = 1"


@dataclass
class _Held:
    stamp: int
    # Every version, highest first, with its planned start: the one in force depends on `now`.
    versions: list[tuple[datetime, Policy]]
    # Per policy version: the risk facts that can still matter from `as_of` on, and their index.
    risks: dict[int, tuple[datetime, list[RiskFact], RiskAreas]] = field(default_factory=dict)


_held: _Held | None = None


def status_inputs_stamp() -> int | None:
    """The stamp of the policy versions and risk areas (None without its row: then nothing is kept)."""
    with connections[replicas.PRIMARY].cursor() as cursor:
        cursor.execute(STAMP_SQL)
        row = cursor.fetchone()
    return None if row is None else row[0]


def status_inputs_current(*, now: datetime) -> tuple[Policy, RiskAreas]:
    """`policy_current` and `risk_areas_current` at `now`: the same answers, from this process's copy
    while the stamp is unchanged (one primary-key read instead of two queries and their rows).

    On the primary, stamp and rows alike: a replica's rows could be older than the primary's stamp.
    """
    with replicas.primary():
        return _status_inputs_current(now=now)


def _status_inputs_current(*, now: datetime) -> tuple[Policy, RiskAreas]:
    global _held
    # Read first: whatever is read after it is at least as new as the stamp says.
    stamp = status_inputs_stamp()
    if stamp is None:
        policy = policy_current(now=now)
        return policy, risk_areas_current(now=now, policy=policy)
    held = _held
    if held is None or held.stamp != stamp:
        rows = PolicyVersion.objects.order_by("-version")
        held = _held = _Held(stamp=stamp, versions=[(row.effective_from, _policy(row)) for row in rows])
    policy = next((policy for start, policy in held.versions if start <= now), Policy(version=0))
    kept = held.risks.get(policy.version)
    if kept is None or now < kept[0]:
        if kept is not None:
            # An earlier moment than the copy's: its horizon may reach designations the copy dropped.
            return policy, risk_areas_current(now=now, policy=policy)
        facts = risk_facts_current(now=now, policy=policy)
        kept = held.risks[policy.version] = (now, facts, RiskAreas(facts))
        return policy, kept[2]
    as_of, facts, areas = kept
    # The same horizon as risk_facts_current's query, moved on to `now`: a designation may have left it.
    horizon = now - timedelta(days=policy.window_days)
    standing = [fact for fact in facts if fact.effective_to is None or fact.effective_to > horizon]
    if len(standing) != len(facts):
        kept = held.risks[policy.version] = (now, standing, RiskAreas(standing))
        areas = kept[2]
    return policy, areas
