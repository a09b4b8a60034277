"""The engine's inputs read from the database: the policy version in force and the risk areas that can still matter.

Read by every job of the status pipeline (marking, recompute, sweep, fan-out), the impact preview
and the explanations; writes nothing.
"""
from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import datetime, timedelta

from django.db.models import Q
from django.utils import timezone

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
