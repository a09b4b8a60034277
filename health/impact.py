"""Impact preview: what a risk designation or a policy version would do, decided by the engine before it is saved.

Nothing is written. The persons a change can reach come from the pipeline's own selection (a risk
area: `persons_at_region`, the fan-out's; a policy: everyone), their facts and decisions from the
recompute's own evaluation (`statuses_evaluate`) with the change applied to its inputs (the risk
areas, or the policy). A person "changes" when the fresh decision's status or reasons differ from
the stored ones: exactly when saving would write a status event for them.
"""
from __future__ import annotations

import contextlib
import os
import random
import time
from collections import Counter
from collections.abc import Iterable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import datetime
from multiprocessing import get_context

from django.conf import settings
from django.utils import timezone

from health import bulk
from health.engine import Policy, RiskAreas, RiskFact
from health.models import HealthStatus, RiskArea
from health.services.statuses import (
    chunked,
    person_id_chunks,
    persons_at_region,
    policy_current,
    risk_areas_current,
    risk_facts_current,
    statuses_evaluate,
)

SAMPLE_SHOWN = 20
# From this many persons on, the evaluation is split over one process per core (at most PARALLEL_MAX):
# forking and connecting cost ~0.1 s, a tenth of what 20,000 persons take in one process.
PARALLEL_MIN_PERSONS = 20_000
PARALLEL_MAX = 4


@dataclass
class ImpactPreview:
    candidates: int = 0  # persons the change can reach (all evaluated, unless `estimated`)
    evaluated: int = 0
    changed: int = 0
    # (from status, to status) -> persons; a change of reasons only is (s, s).
    transitions: Counter = field(default_factory=Counter)
    sample: list[dict] = field(default_factory=list)
    seconds: float = 0.0
    estimated: bool = False  # evaluated a uniform sample of the candidates; counts scaled up

    def transition_rows(self) -> list[dict]:
        labels = dict(HealthStatus.Code.choices)
        return [
            {"from": str(labels.get(old, old)), "to": str(labels.get(new, new)), "count": count, "same": old == new}
            for (old, new), count in sorted(self.transitions.items(), key=lambda item: (-item[1], item[0]))
        ]


def _impact(
    batches: Iterable[Sequence[int]], *, now: datetime, policy: Policy, risk_areas: RiskAreas, rng: random.Random
) -> ImpactPreview:
    preview = ImpactPreview()
    started = time.monotonic()
    seen_changed = 0
    for batch in batches:
        stored = {
            person_id: (status, reasons, masked)
            for person_id, status, reasons, masked in bulk.rows(
                HealthStatus.objects.filter(person_id__any_of=bulk.IdArray(batch)).values_list(
                    "person_id", "status", "reasons", "person__id_masked"
                )
            )
        }
        decisions = statuses_evaluate(list(stored), now=now, policy=policy, risk_areas=risk_areas)
        preview.evaluated += len(stored)
        for person_id, (status, reasons, masked) in stored.items():
            decision = decisions[person_id]
            if decision.status == status and list(decision.reasons) == list(reasons):
                continue
            preview.changed += 1
            preview.transitions[(status, decision.status)] += 1
            # Reservoir sampling: every changed person equally likely to be shown, in bounded memory.
            seen_changed += 1
            row = {"person_id": person_id, "id_masked": masked, "from": status, "to": decision.status, "reasons": list(decision.reasons)}
            if len(preview.sample) < SAMPLE_SHOWN:
                preview.sample.append(row)
            else:
                slot = rng.randrange(seen_changed)
                if slot < SAMPLE_SHOWN:
                    preview.sample[slot] = row
    preview.seconds = time.monotonic() - started
    return preview


def _impact_of(ids: Sequence[int], *, now: datetime, policy: Policy, risk_areas: RiskAreas) -> ImpactPreview:
    """The impact for these persons, in batches; in parallel processes on PostgreSQL when there are many."""
    started = time.monotonic()
    rng = random.Random(0)
    size = settings.STATUS_RECOMPUTE_BATCH_SIZE
    workers = min(os.cpu_count() or 1, PARALLEL_MAX)
    if len(ids) < PARALLEL_MIN_PERSONS or workers < 2 or not bulk.is_postgresql():
        preview = _impact(chunked(ids, size), now=now, policy=policy, risk_areas=risk_areas, rng=rng)
    else:
        parts = [ids[start::workers] for start in range(workers)]
        with ProcessPoolExecutor(max_workers=workers, mp_context=get_context("fork"), initializer=_child_connections_own) as pool:
            found = list(pool.map(_impact_part, parts, [now] * workers, [policy] * workers, [risk_areas] * workers))
        preview = ImpactPreview()
        for part in found:
            preview.evaluated += part.evaluated
            preview.changed += part.changed
            preview.transitions.update(part.transitions)
        samples = [row for part in found for row in part.sample]
        preview.sample = rng.sample(samples, min(SAMPLE_SHOWN, len(samples)))
    labels = dict(HealthStatus.Code.choices)
    for row in preview.sample:
        row["from_label"], row["to_label"] = str(labels.get(row["from"], row["from"])), str(labels.get(row["to"], row["to"]))
    preview.seconds = time.monotonic() - started
    return preview


def _impact_part(ids: Sequence[int], now: datetime, policy: Policy, risk_areas: RiskAreas) -> ImpactPreview:
    # Each process reads in its own transaction: the parts see the data as committed when they run.
    size = settings.STATUS_RECOMPUTE_BATCH_SIZE
    return _impact(chunked(list(ids), size), now=now, policy=policy, risk_areas=risk_areas, rng=random.Random(0))


# The parent's database connections, kept referenced in a child so that they are never finalised there.
_INHERITED: list = []


def _child_connections_own() -> None:
    """In a forked child: give up the parent's database connections without a word to the server.

    The child shares the parent's sockets. Closing a connection would tell the server to end the
    parent's session; instead the child closes its own copy of the descriptor (the parent's stays
    open) and keeps the object alive so that its finaliser never runs, then opens its own
    connections on demand (what Celery's prefork pool does for Django).
    """
    from django.db import connections

    for alias in connections:
        wrapper = connections[alias]
        if wrapper.connection is not None:
            with contextlib.suppress(OSError):
                os.close(wrapper.connection.fileno())
            _INHERITED.append(wrapper.connection)
        connections[alias] = connections.create_connection(alias)


def risk_area_impact(
    *,
    region_code: str,
    level: str,
    effective_from: datetime,
    effective_to: datetime | None,
    replacing: RiskArea | None = None,
    now: datetime | None = None,
) -> ImpactPreview:
    """What saving this designation (new, or replacing the stored `replacing`) would change."""
    now = now or timezone.now()
    policy = policy_current()
    facts = risk_facts_current(now=now, policy=policy, excluding=replacing.pk if replacing else None)
    facts.append(RiskFact(region_code, level, effective_from, effective_to))
    candidates = sorted(persons_at_region(region_code, home_region=policy.home_region))
    preview = _impact_of(candidates, now=now, policy=policy, risk_areas=RiskAreas(facts))
    preview.candidates = len(candidates)
    return preview


def policy_impact(*, proposed: Policy, now: datetime | None = None, limit: int | None = None) -> ImpactPreview:
    """What publishing a version with these parameters would change (everyone is recomputed).

    Above `limit` persons (POLICY_PREVIEW_LIMIT), a uniform random sample of that many is
    evaluated and the counts are scaled to the whole population, marked as an estimate.
    """
    now = now or timezone.now()
    limit = limit or settings.POLICY_PREVIEW_LIMIT
    current = policy_current()
    # The version it would get: the decisions differ from the stored ones in their policy version only
    # in the stored row's policy_version column, which is not compared here.
    proposed = replace(proposed, version=current.version + 1)
    risks = risk_areas_current(now=now, policy=proposed)
    total = HealthStatus.objects.count()
    rng = random.Random(0)
    if total <= limit:
        everyone = [pk for ids in person_id_chunks(chunk_size=10_000) for pk in ids]
        preview = _impact_of(everyone, now=now, policy=proposed, risk_areas=risks)
        preview.candidates = total
        return preview
    preview = _impact_of(_uniform_ids(limit, rng), now=now, policy=proposed, risk_areas=risks)
    scale = total / max(preview.evaluated, 1)
    preview.changed = round(preview.changed * scale)
    preview.transitions = Counter({key: round(count * scale) for key, count in preview.transitions.items()})
    preview.candidates = total
    preview.estimated = True
    return preview


def policy_proposed(values: dict) -> Policy:
    """The engine's policy for a version about to be published (its number is given by policy_impact)."""
    return Policy(
        window_days=values["window_days"],
        min_stay_hours=values["min_stay_hours"],
        nat_valid_days=values["nat_valid_days"],
        inbound_observation_days=values["inbound_observation_days"],
        inbound_arrival_grace_days=values["inbound_arrival_grace_days"],
        eligible_provinces=tuple(sorted({str(code) for code in values["eligible_provinces"]})),
        home_region=values["home_region"],
    )


def _uniform_ids(size: int, rng: random.Random) -> list[int]:
    from health.services.verification import ids_sample

    return ids_sample(size, HealthStatus.objects.all(), rng=rng)
