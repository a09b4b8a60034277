"""Recomputation: mark persons dirty with their change, enqueue on commit, evaluate in batches.

The write path of every status. A change to a person's facts calls `persons_mark_dirty`
inside its own transaction: the durable dirty mark and the inputs version are bumped with the
change, and a task is enqueued only after commit. `statuses_recompute` loads facts for a batch
with a bounded number of queries, calls the one engine, and writes only what changed, under
row locks, never over a computation made from newer inputs.
"""
from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection, transaction
from django.db.models import F, Q, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from health import bulk, registry, replicas
from health.engine import Decision, Policy, RiskAreas, RiskFact, evaluate
from health.engine.regions import risk_reach
from health.models import HealthStatus, RiskArea, StatusEvent
from health.models import Policy as PolicyVersion

logger = logging.getLogger(__name__)

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


def chunked(items: Sequence[int], size: int) -> Iterator[list[int]]:
    for start in range(0, len(items), size):
        yield list(items[start : start + size])


# --- policy and risk areas, as engine inputs -------------------------------------------------
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


# --- marking and enqueueing ----------------------------------------------------------------
def persons_mark_dirty(person_ids: Iterable[int], *, cause: str) -> None:
    """Inside the caller's transaction: bump inputs, keep a durable dirty mark, enqueue after commit."""
    ids = sorted(set(person_ids))
    if not ids:
        return
    now = timezone.now()
    # One array parameter per 20,000 persons: a risk area's 100,000 persons are five statements.
    for chunk in chunked(ids, 20_000):
        HealthStatus.objects.filter(person_id__any_of=bulk.IdArray(chunk)).update(
            dirty=True,
            dirty_since=Coalesce(F("dirty_since"), Value(now)),
            dirty_cause=cause[:64],
            inputs_version=F("inputs_version") + 1,
        )
    transaction.on_commit(lambda: statuses_enqueue(ids), robust=True)


def statuses_enqueue(person_ids: Sequence[int]) -> bool:
    """Send recomputation tasks; False if the broker refused (the dirty mark remains for the sweep).

    Called after commit. With a broker that is down the publish fails within the broker's
    connect/socket timeouts (settings: CELERY_BROKER_TRANSPORT_OPTIONS) and is dropped here on
    purpose: the persons stay dirty and `statuses_sweep` enqueues them again once it can.
    """
    from health.tasks import statuses_recompute_task

    # Read at call time so that a deployment (or a test) can route status work to its own queue.
    queue = getattr(settings, "STATUS_RECOMPUTE_QUEUE", "") or None
    try:
        for chunk in chunked(list(person_ids), settings.STATUS_RECOMPUTE_BATCH_SIZE):
            statuses_recompute_task.apply_async((chunk,), queue=queue)
    except Exception as error:  # noqa: BLE001 - any broker failure: the sweep repairs it
        if _eager():
            raise
        logger.warning("status recompute not enqueued (%s persons): %s", len(person_ids), type(error).__name__)
        return False
    return True


def _eager() -> bool:
    from config.celery_app import app

    return bool(app.conf.task_always_eager)


# --- recomputation -------------------------------------------------------------------------
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
    policy = policy or policy_current(now=now)
    risk_areas = risk_areas if risk_areas is not None else risk_areas_current(now=now, policy=policy)
    result = RecomputeResult()
    for batch in chunked(sorted(set(person_ids)), settings.STATUS_RECOMPUTE_BATCH_SIZE):
        result.add(_recompute_batch(batch, now=now, cause=cause, policy=policy, risk_areas=risk_areas))
    return result


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


# --- sweeps and fan-outs ---------------------------------------------------------------------
def statuses_sweep(*, now: datetime | None = None, limit: int = 50_000) -> dict[str, int]:
    """Re-enqueue dirty persons whose message may be lost, and persons whose valid_until passed.

    First, a policy version whose planned start has come takes effect (everyone marked, once).
    """
    from health.services.policy import policy_activate_due

    now = now or timezone.now()
    activated = policy_activate_due(now=now)
    stale = now - timedelta(seconds=settings.STATUS_SWEEP_GRACE_SECONDS)
    with transaction.atomic():
        # A row created dirty without a mark time (a new person) is as old as it gets.
        dirty_ids = list(
            HealthStatus.objects.filter(Q(dirty_since__lt=stale) | Q(dirty_since__isnull=True), dirty=True)
            .order_by(F("dirty_since").asc(nulls_first=True), "person_id")
            .values_list("person_id", flat=True)[:limit]
        )
        # Restart their grace period so that a slow backlog is not enqueued again every sweep.
        for chunk in chunked(dirty_ids, 5000):
            HealthStatus.objects.filter(person_id__in=chunk).update(dirty_since=now)
        due_ids = list(
            HealthStatus.objects.filter(dirty=False, valid_until__lte=now)
            .order_by("valid_until")
            .values_list("person_id", flat=True)[:limit]
        )
        for chunk in chunked(due_ids, 5000):
            HealthStatus.objects.filter(person_id__in=chunk).update(
                dirty=True, dirty_since=now, dirty_cause="valid_until", inputs_version=F("inputs_version") + 1
            )
        ids = dirty_ids + due_ids
        if ids:
            transaction.on_commit(lambda: statuses_enqueue(ids), robust=True)
    counts = {"dirty": len(dirty_ids), "due": len(due_ids)}
    return counts if activated is None else {**counts, "policy_activated": activated}


def persons_at_region(region_code: str, *, home_region: str | None = None) -> set[int]:
    """Persons with any place (stay, hotel, origin) that a risk designation of this region can reach.

    The places are the engine's own answer (regions.risk_reach), the one the rules judge risk by,
    so a person whose decision a designation can change is never left out.
    """
    reach = risk_reach(region_code, home_region or policy_current().home_region)
    person_ids: set[int] = set()
    for source in registry.sources():
        if source.persons_at is not None:
            person_ids.update(source.persons_at(reach))
    return person_ids


def region_risk_changed(region_code: str, *, cause: str = "risk_area") -> int:
    """Inside the caller's transaction: mark everyone the region's risk can touch dirty."""
    person_ids = persons_at_region(region_code)
    persons_mark_dirty(person_ids, cause=cause)
    return len(person_ids)


def statuses_recompute_all(*, cause: str = "policy_change", chunk_size: int | None = None) -> int:
    """Mark every person dirty and enqueue them, one id range per transaction (a new policy, or an operator).

    Keyset id ranges of `STATUS_RECOMPUTE_CHUNK_SIZE` persons: each is marked by one `UPDATE` of the
    range and, once committed, sent as one range task (`statuses_recompute_range_task`, read in
    batches of `STATUS_RECOMPUTE_BATCH_SIZE`), so the workers start on the first range while the
    next ones are marked. Each range is durable once committed, so an interrupted run loses
    nothing: the sweep finishes it.
    """
    chunk_size = chunk_size or settings.STATUS_RECOMPUTE_CHUNK_SIZE
    broker = {"up": True}

    def enqueue(first: int, last: int) -> None:
        # A broker that refuses one range is not asked for the next ones: they stay dirty for the sweep.
        if not broker["up"]:
            return
        try:
            statuses_enqueue_ranges([(first, last)], cause=cause)
        except Exception as error:  # noqa: BLE001 - any broker failure: the sweep repairs it
            if _eager():
                raise
            broker["up"] = False
            logger.warning("status recompute ranges not enqueued from person %s on: %s", first, type(error).__name__)

    count = 0
    for first, last in person_id_ranges(size=chunk_size):
        with transaction.atomic():
            count += persons_mark_dirty_range(first, last, cause=cause)
            transaction.on_commit(lambda first=first, last=last: enqueue(first, last))
    return count


def persons_mark_dirty_range(first_id: int, last_id: int, *, cause: str) -> int:
    """Inside the caller's transaction: mark every status with first_id <= person <= last_id dirty (one UPDATE)."""
    return HealthStatus.objects.filter(person_id__gte=first_id, person_id__lte=last_id).update(
        dirty=True,
        dirty_since=Coalesce(F("dirty_since"), Value(timezone.now())),
        dirty_cause=cause[:64],
        inputs_version=F("inputs_version") + 1,
    )


def person_id_chunks(*, chunk_size: int, dirty: bool | None = None, due_at: datetime | None = None) -> Iterator[list[int]]:
    """Person ids in ascending keyset chunks; optionally only dirty ones, or only clean ones due at `due_at`."""
    rows = HealthStatus.objects.all()
    if dirty is not None:
        rows = rows.filter(dirty=dirty)
    if due_at is not None:
        rows = rows.filter(valid_until__lte=due_at)
    last = 0
    while True:
        ids = list(rows.filter(person_id__gt=last).order_by("person_id").values_list("person_id", flat=True)[:chunk_size])
        if not ids:
            return
        yield ids
        last = ids[-1]


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
    policy = policy or policy_current(now=now)
    risk_areas = risk_areas if risk_areas is not None else risk_areas_current(now=now, policy=policy)
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


def statuses_enqueue_ranges(ranges: Iterable[tuple[int, int]], *, cause: str = "") -> int:
    """Send one task per id range (after a policy change, or an operator's full run); the number sent."""
    from health.tasks import statuses_recompute_range_task

    queue = getattr(settings, "STATUS_RECOMPUTE_QUEUE", "") or None
    sent = 0
    for first, last in ranges:
        statuses_recompute_range_task.apply_async((first, last, cause), queue=queue)
        sent += 1
    return sent
