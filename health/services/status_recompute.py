"""Recompute and store: load facts for a batch, decide with the one engine, write only what changed.

`statuses_recompute` loads facts for a batch with a bounded number of queries, calls the engine,
and writes only what changed, under row locks, never over a computation made from newer inputs.
`statuses_recompute_range` does the same over an id range (a full run's share);
`person_status_fresh` recomputes a stale status before it is served.
"""
from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from health import bulk, registry, replicas
from health.engine import Decision, Policy, RiskAreas, evaluate
from health.models import HealthStatus, StatusEvent
from health.services.status_inputs import chunked, policy_current, risk_areas_current, status_inputs_current

STATUS_FIELDS = [
    "status",
    "reasons",
    "valid_until",
    "computed_at",
    "policy_version",
    "needs_review",
    "dirty",
    "dirty_since",
    "computed_version",
]


@dataclass
class RecomputeResult:
    evaluated: int = 0
    written: int = 0
    changed: int = 0
    skipped_newer: int = 0
    unchanged: int = 0

    def add(self, other: RecomputeResult) -> None:
        self.evaluated += other.evaluated
        self.written += other.written
        self.changed += other.changed
        self.skipped_newer += other.skipped_newer
        self.unchanged += other.unchanged


@replicas.on_primary
def statuses_recompute(
    person_ids: Iterable[int],
    *,
    now: datetime | None = None,
    cause: str = "",
    policy: Policy | None = None,
    risk_areas: RiskAreas | None = None,
) -> RecomputeResult:
    """Recompute the statuses of these persons, batch by batch, with the one engine."""
    now = now or timezone.now()
    policy, risk_areas = _inputs(now=now, policy=policy, risk_areas=risk_areas)
    result = RecomputeResult()
    for batch in chunked(sorted(set(person_ids)), settings.STATUS_RECOMPUTE_BATCH_SIZE):
        result.add(_recompute_batch(batch, now=now, cause=cause, policy=policy, risk_areas=risk_areas))
    return result


def _inputs(*, now: datetime, policy: Policy | None, risk_areas: RiskAreas | None) -> tuple[Policy, RiskAreas]:
    """The caller's policy and risk areas, else those in force (kept per process, checked by their stamp)."""
    if policy is None and risk_areas is None:
        return status_inputs_current(now=now)
    policy = policy or policy_current(now=now)
    return policy, risk_areas if risk_areas is not None else risk_areas_current(now=now, policy=policy)


def _recompute_batch(
    person_ids: list[int],
    *,
    now: datetime,
    cause: str,
    policy: Policy,
    risk_areas: RiskAreas,
    versions: dict[int, int] | None = None,
) -> RecomputeResult:
    # The inputs version is read before the facts: facts are at least that new (read committed).
    if versions is None:
        # Sent first in the same round trip as the facts' reads: the server runs them in order.
        ids = bulk.IdArray(person_ids)
        leading = HealthStatus.objects.filter(person_id__any_of=ids).values_list("person_id", "inputs_version")
        (version_rows,), facts = registry.facts_for_after([leading], person_ids)
        versions = dict(version_rows)
        decisions = {pk: evaluate(facts[pk], now=now, policy=policy, risk_areas=risk_areas) for pk in versions}
        return _statuses_write(decisions, versions, now=now, cause=cause)
    decisions = statuses_evaluate(list(versions), now=now, policy=policy, risk_areas=risk_areas)
    return _statuses_write(decisions, versions, now=now, cause=cause)


def statuses_evaluate(
    person_ids: Sequence[int], *, now: datetime, policy: Policy, risk_areas: RiskAreas
) -> dict[int, Decision]:
    """Load a batch's facts and decide each person with the engine, writing nothing.

    The one evaluation behind the recompute, the status verifier and the impact preview: what they
    compare or store is decided by the same loaders and the same engine call.
    """
    facts = registry.facts_for(person_ids)
    return {pk: evaluate(facts[pk], now=now, policy=policy, risk_areas=risk_areas) for pk in person_ids}


# Below this many rows a write takes plain UPDATEs (see _statuses_write).
SMALL_WRITE = 32
# The row as the write reads it under lock, in this column order.
_LOCKED_COLUMNS = (
    "person_id",
    "status",
    "reasons",
    "valid_until",
    "computed_at",
    "policy_version",
    "needs_review",
    "computed_version",
    "inputs_version",
    "dirty",
    "dirty_cause",
)
# What the write stores per person (the temporary table on PostgreSQL, the UPDATE's parameters on SQLite).
_INCOMING_COLUMNS = (
    "person_id bigint PRIMARY KEY, status varchar(24), reasons jsonb, valid_until timestamptz, "
    "computed_at timestamptz, policy_version integer, needs_review boolean, computed_version bigint, dirty boolean"
)
_EVENT_COLUMNS = (
    "person_id",
    "old_status",
    "new_status",
    "old_reasons",
    "new_reasons",
    "cause",
    "computed_at",
    "policy_version",
    "inputs_version",
    "created_at",
)


@transaction.atomic
def _statuses_write(
    decisions: dict[int, Decision], versions: dict[int, int], *, now: datetime, cause: str
) -> RecomputeResult:
    """Store a batch of decisions under row locks; never over a computation from newer inputs.

    Set-based: one locking SELECT, then on PostgreSQL one COPY into a temporary table, one
    UPDATE ... FROM it and one COPY of the events; on SQLite one executemany UPDATE and one
    executemany INSERT. A clean row already computed from these inputs whose decision is
    unchanged is not written at all.
    """
    result = RecomputeResult(evaluated=len(decisions))
    if not decisions:
        return result
    locked = (
        HealthStatus.objects.select_for_update()
        .filter(person_id__any_of=bulk.IdArray(decisions))
        .order_by("person_id")  # one lock order for every batch: no deadlock between two writers
        .values_list(*_LOCKED_COLUMNS)
    )
    updates: list[tuple] = []
    events: list[tuple] = []
    for (
        person_id,
        status,
        reasons,
        valid_until,
        computed_at,
        policy_version,
        needs_review,
        computed_version,
        inputs_version,
        dirty,
        dirty_cause,
    ) in bulk.rows(locked):
        version = versions[person_id]
        if computed_version > version or (
            computed_version == version and computed_at is not None and computed_at > now
        ):
            result.skipped_newer += 1  # a computation from newer inputs (or later) is already stored
            continue
        decision = decisions[person_id]
        new_reasons = list(decision.reasons)
        review = "nat_positive" in decision.review_flags
        still_dirty = inputs_version > version
        first = computed_at is None
        changed = first or status != decision.status or reasons != new_reasons
        if (
            not changed
            and not dirty
            and computed_version == version
            and valid_until == decision.valid_until
            and policy_version == decision.policy_version
            and needs_review == review
        ):
            result.unchanged += 1  # already stored from these very inputs: nothing to write
            continue
        if changed:
            events.append(
                (
                    person_id,
                    "" if first else status,
                    decision.status,
                    json.dumps([] if first else reasons),
                    json.dumps(new_reasons),
                    ((dirty_cause if dirty else cause) or cause or "recompute")[:64],
                    now,
                    decision.policy_version,
                    version,
                    now,
                )
            )
        updates.append(
            (
                person_id,
                decision.status,
                json.dumps(new_reasons),
                decision.valid_until,
                now,
                decision.policy_version,
                review,
                version,
                still_dirty,
            )
        )
    if bulk.is_postgresql() and len(updates) >= SMALL_WRITE:
        _statuses_apply_postgresql(updates)
        if events:
            bulk.copy_rows(StatusEvent._meta.db_table, _EVENT_COLUMNS, events)
    elif updates or events:
        # A temporary table costs four round trips: worth it for a batch, not for a person or two
        # (a read that recomputes, a task after one change), which take one UPDATE per row and an
        # INSERT of the events instead, sent together (one round trip on PostgreSQL).
        with bulk.pipeline():
            if updates:
                _statuses_apply_rows(updates)
            if events:
                bulk.insert_rows(StatusEvent._meta.db_table, _EVENT_COLUMNS, events)
    result.written = len(updates)
    result.changed = len(events)
    return result


def _statuses_apply_postgresql(updates: list[tuple]) -> None:
    table = HealthStatus._meta.db_table
    bulk.temp_table_create("status_incoming", _INCOMING_COLUMNS)
    bulk.copy_rows("status_incoming", [c.split()[0] for c in _INCOMING_COLUMNS.split(", ")], updates)
    with connection.cursor() as cursor:
        # The version guard again in SQL: the rows are locked above, so this only restates it.
        cursor.execute(
            f"""
            UPDATE {table} AS h SET
                status = i.status, reasons = i.reasons, valid_until = i.valid_until,
                computed_at = i.computed_at, policy_version = i.policy_version,
                needs_review = i.needs_review, computed_version = i.computed_version,
                dirty = i.dirty, dirty_since = CASE WHEN i.dirty THEN h.dirty_since END
            FROM status_incoming AS i
            WHERE h.person_id = i.person_id
              AND (h.computed_version < i.computed_version
                   OR (h.computed_version = i.computed_version
                       AND (h.computed_at IS NULL OR h.computed_at <= i.computed_at)))
            """
        )
    bulk.temp_table_drop("status_incoming")


def _statuses_apply_rows(updates: list[tuple]) -> None:
    table = HealthStatus._meta.db_table
    ops = connection.ops
    rows = [
        (
            status,
            reasons,
            ops.adapt_datetimefield_value(valid_until),
            ops.adapt_datetimefield_value(computed_at),
            policy_version,
            review,
            version,
            dirty,
            dirty,
            person_id,
            version,
            version,
            ops.adapt_datetimefield_value(computed_at),
        )
        for person_id, status, reasons, valid_until, computed_at, policy_version, review, version, dirty in updates
    ]
    with connection.cursor() as cursor:
        cursor.executemany(
            f"""
            UPDATE {table} SET
                status = %s, reasons = %s, valid_until = %s, computed_at = %s, policy_version = %s,
                needs_review = %s, computed_version = %s, dirty = %s,
                dirty_since = CASE WHEN %s THEN dirty_since END
            WHERE person_id = %s
              AND (computed_version < %s
                   OR (computed_version = %s AND (computed_at IS NULL OR computed_at <= %s)))
            """,
            rows,
        )


def status_is_stale(status: HealthStatus, *, now: datetime) -> bool:
    """Whether a stored status may not be served as it is: dirty, never computed, or past valid_until."""
    return status.dirty or status.computed_at is None or (status.valid_until is not None and status.valid_until <= now)


def person_status_fresh(person_id: int, *, now: datetime | None = None) -> HealthStatus:
    """The stored status, recomputed first if it is stale (never served stale)."""
    now = now or timezone.now()
    status = HealthStatus.objects.get(person_id=person_id)
    if status_is_stale(status, now=now):
        # On the primary even when the row was read on a replica: facts read there could be behind.
        with replicas.primary():
            # dirty_cause is the last mark's cause; a clean row past its valid_until is due for time alone.
            statuses_recompute([person_id], now=now, cause=status.dirty_cause if status.dirty else "valid_until")
            status = HealthStatus.objects.get(person_id=person_id)
    return status


# --- full recomputation in keyset ranges (parallel across workers) -----------------------------
def person_id_ranges(*, size: int) -> Iterator[tuple[int, int]]:
    """[first, last] person-id ranges of `size` persons each, in order, found by an index-only walk.

    A range, not a list, is what a task carries: a million persons become a hundred small
    messages, and each worker reads its own ids.
    """
    last = 0
    rows = HealthStatus.objects.order_by("person_id").values_list("person_id", flat=True)
    while True:
        first = rows.filter(person_id__gt=last).first()
        if first is None:
            return
        end = list(rows.filter(person_id__gte=first)[size - 1 : size])
        if not end:
            last_id = rows.filter(person_id__gte=first).last()
            yield first, last_id
            return
        yield first, end[0]
        last = end[0]


def statuses_recompute_range(
    first_id: int,
    last_id: int,
    *,
    now: datetime | None = None,
    cause: str = "",
    batch_size: int | None = None,
    policy: Policy | None = None,
    risk_areas: RiskAreas | None = None,
) -> RecomputeResult:
    """Recompute every person with first_id <= id <= last_id, in keyset batches (memory bounded).

    Each batch reads its ids with their inputs versions in one query, then loads, evaluates and
    writes like `statuses_recompute`; each batch is its own transaction.
    """
    now = now or timezone.now()
    policy, risk_areas = _inputs(now=now, policy=policy, risk_areas=risk_areas)
    size = batch_size or settings.STATUS_RECOMPUTE_BATCH_SIZE
    result = RecomputeResult()
    last = first_id - 1
    while last < last_id:
        versions = dict(
            bulk.rows(
                HealthStatus.objects.filter(person_id__gt=last, person_id__lte=last_id)
                .order_by("person_id")
                .values_list("person_id", "inputs_version")[:size]
            )
        )
        if not versions:
            break
        batch = list(versions)
        result.add(
            _recompute_batch(batch, now=now, cause=cause, policy=policy, risk_areas=risk_areas, versions=versions)
        )
        last = batch[-1]
    return result
