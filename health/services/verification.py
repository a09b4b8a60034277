"""Status verifier: re-decide stored statuses with the engine and find (and repair) those that drifted.

A stored status that is clean and unexpired claims to be what the engine decides from the current
facts. The verifier checks that claim through the recompute's own evaluation
(`statuses_evaluate`: the same loaders, the same engine call), comparing status, reasons,
`valid_until` and the review flag. A row that differs is drift: a write that went around the
pipeline (an admin delete, a purge, a SQL fix by hand) or a rule decided in two places. It is
logged with the masked ID number, stored and fresh decisions and the cause of the last change,
counted on the health department's dashboard (`StatusVerification`), and repaired by marking
the person dirty, which sends it through the ordinary recompute.
"""
from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from django.db import transaction
from django.db.models import Max, Min, OuterRef, Q, Subquery
from django.utils import timezone

from health import bulk
from health.engine import Decision
from health.engine.rules import ONE_SECOND
from health.models import HealthStatus, StatusEvent, StatusVerification
from health.services.statuses import persons_mark_dirty, policy_current, risk_areas_current, statuses_evaluate

logger = logging.getLogger(__name__)

REPAIR_CAUSE = "verify_mismatch"
# Kept on the verification row for the dashboard; every mismatch is in the log.
EXAMPLES_KEPT = 20
# The columns read per stored status, in this order.
_STORED = (
    "person_id", "status", "reasons", "valid_until", "needs_review", "computed_at", "inputs_version", "computed_version",
)  # fmt: skip


@dataclass(frozen=True)
class Mismatch:
    person_id: int
    id_masked: str
    stored: dict
    fresh: dict
    last_cause: str
    last_changed_at: datetime | None
    last_mark: str

    @property
    def decision_differs(self) -> bool:
        """Status or reasons differ; otherwise only valid_until or the review flag does."""
        return (self.stored["status"], self.stored["reasons"]) != (self.fresh["status"], self.fresh["reasons"])

    def as_example(self) -> dict:
        """What the dashboard keeps: masked, JSON-ready."""

        def plain(decision: dict) -> dict:
            until = decision["valid_until"]
            return decision | {"valid_until": until.isoformat() if until else None}

        return {
            "id_masked": self.id_masked,
            "stored": plain(self.stored),
            "fresh": plain(self.fresh),
            "last_cause": self.last_cause,
            "last_changed_at": self.last_changed_at.isoformat() if self.last_changed_at else None,
        }


@dataclass
class VerifyResult:
    checked: int = 0
    in_flight: int = 0
    repaired: int = 0
    mismatch_count: int = 0
    # Of the mismatches, those whose status or reasons differ (a wrong answer, not only a wrong bound).
    decision_count: int = 0
    # All of a batch's mismatches; over a whole run only the first EXAMPLES_KEPT (memory stays bounded).
    mismatches: list[Mismatch] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def persons_per_second(self) -> float:
        return self.checked / self.seconds if self.seconds > 0 else 0.0


def _decision_of(status: str, reasons: list, valid_until: datetime | None, needs_review: bool) -> dict:
    return {"status": status, "reasons": list(reasons), "valid_until": valid_until, "needs_review": needs_review}


def _fresh_of(decision: Decision) -> dict:
    return _decision_of(decision.status, decision.reasons, decision.valid_until, "nat_positive" in decision.review_flags)


def _rechecked_shortly(kept: dict, fresh: dict, computed_at: datetime) -> bool:
    """Whether the only difference is the engine's "ask again in a second" for a boundary at its own now.

    A fact dated exactly at the moment of a computation (a generated record, a write stamped with
    the same clock) makes the engine answer `valid_until = now + 1 s`; a second later, that
    boundary lies behind and the next one is further ahead. The stored answer was right and expires
    within the second: not drift.
    """
    until = kept["valid_until"]
    return (
        until is not None
        and until == computed_at + ONE_SECOND
        and (fresh["valid_until"] is None or fresh["valid_until"] > until)
        and {**kept, "valid_until": None} == {**fresh, "valid_until": None}
    )


def _verifiable(*, now: datetime):
    """Stored statuses that claim to be current: computed, clean, and not past their valid_until."""
    return HealthStatus.objects.filter(dirty=False, computed_at__isnull=False).filter(
        Q(valid_until__isnull=True) | Q(valid_until__gt=now)
    )


def statuses_verify_batch(person_ids: Sequence[int], *, repair: bool, now: datetime | None = None) -> VerifyResult:
    """Verify these persons' stored statuses (those clean and unexpired); mark the drifted ones dirty if `repair`."""
    now = now or timezone.now()
    # The stored rows first, then the policy, risk areas and facts: under READ COMMITTED each read is
    # at least as new as the rows, so a row can only look stale if a write committed meanwhile, and
    # such a write leaves its mark on the row (checked again below).
    stored = {
        row[0]: row
        for row in bulk.rows(
            _verifiable(now=now).filter(person_id__any_of=bulk.IdArray(person_ids)).order_by("person_id").values_list(*_STORED)
        )
    }
    result = VerifyResult(checked=len(stored))
    if not stored:
        return result
    policy = policy_current()
    decisions = statuses_evaluate(list(stored), now=now, policy=policy, risk_areas=risk_areas_current(now=now, policy=policy))
    differing = {}
    for person_id, (_pk, status, reasons, valid_until, needs_review, computed_at, *_versions) in stored.items():
        kept = _decision_of(status, reasons, valid_until, needs_review)
        fresh = _fresh_of(decisions[person_id])
        if kept != fresh and not _rechecked_shortly(kept, fresh, computed_at):
            differing[person_id] = (kept, fresh)
    if not differing:
        return result
    last_event = StatusEvent.objects.filter(person_id=OuterRef("person_id")).order_by("-pk")
    again = (
        HealthStatus.objects.filter(person_id__any_of=bulk.IdArray(differing))
        .annotate(
            last_cause=Subquery(last_event.values("cause")[:1]),
            last_changed_at=Subquery(last_event.values("computed_at")[:1]),
        )
        .values_list(
            "person_id", "inputs_version", "computed_version", "dirty", "dirty_cause", "person__id_masked",
            "last_cause", "last_changed_at",
        )  # fmt: skip
    )
    confirmed: list[Mismatch] = []
    for person_id, inputs, computed, dirty, mark, masked, last_cause, last_changed_at in again:
        *_decision, inputs_then, computed_then = stored[person_id]
        if dirty or inputs != inputs_then or computed != computed_then:
            result.in_flight += 1  # changed since it was read: its own recompute is under way
            continue
        kept, fresh = differing[person_id]
        confirmed.append(Mismatch(person_id, masked, kept, fresh, last_cause or "", last_changed_at, mark))
    for mismatch in confirmed:
        logger.warning(
            "status mismatch (%s) %s: stored %s %s until %s, fresh %s %s until %s; last change %s at %s, last mark %s",
            "decision" if mismatch.decision_differs else "bound",
            mismatch.id_masked,
            mismatch.stored["status"],
            ",".join(mismatch.stored["reasons"]),
            mismatch.stored["valid_until"],
            mismatch.fresh["status"],
            ",".join(mismatch.fresh["reasons"]),
            mismatch.fresh["valid_until"],
            mismatch.last_cause or "-",
            mismatch.last_changed_at,
            mismatch.last_mark or "-",
        )
    result.mismatches = confirmed
    result.mismatch_count = len(confirmed)
    result.decision_count = sum(1 for m in confirmed if m.decision_differs)
    if repair and confirmed:
        with transaction.atomic():
            persons_mark_dirty([m.person_id for m in confirmed], cause=REPAIR_CAUSE)
        result.repaired = len(confirmed)
    return result


def verifiable_id_batches(*, batch_size: int) -> Iterator[list[int]]:
    """Ids of every stored status that is clean and unexpired, in ascending keyset batches."""
    last = 0
    while True:
        ids = list(
            _verifiable(now=timezone.now())
            .filter(person_id__gt=last)
            .order_by("person_id")
            .values_list("person_id", flat=True)[:batch_size]
        )
        if not ids:
            return
        yield ids
        last = ids[-1]


def verifiable_ids_sample(size: int, *, rng: random.Random | None = None) -> list[int]:
    """A uniform random sample of up to `size` clean, unexpired statuses."""
    return ids_sample(size, _verifiable(now=timezone.now()), rng=rng)


def ids_sample(size: int, rows, *, rng: random.Random | None = None) -> list[int]:
    """A uniform random sample of up to `size` person ids of these status rows, found by index lookups only.

    Ids are drawn at random between the smallest and the largest person id and kept where they
    exist in `rows` (ids come from a sequence: few gaps), a few rounds until enough are found; no
    scan or sort of the whole table, whatever the city's size.
    """
    rng = rng or random.Random()
    bounds = HealthStatus.objects.aggregate(low=Min("person_id"), high=Max("person_id"))
    low, high = bounds["low"], bounds["high"]
    if low is None or size < 1:
        return []
    if high - low + 1 <= 2 * size:
        ids = list(rows.values_list("person_id", flat=True))
        return sorted(rng.sample(ids, min(size, len(ids))))
    found: set[int] = set()
    for _round in range(6):
        wanted = size - len(found)
        if wanted <= 0:
            break
        drawn = {rng.randint(low, high) for _draw in range(2 * wanted)} - found
        found.update(rows.filter(person_id__any_of=bulk.IdArray(drawn)).values_list("person_id", flat=True))
    return sorted(rng.sample(sorted(found), min(size, len(found))))


def statuses_verify(
    *,
    sample: int | None = None,
    repair: bool = False,
    batch_size: int = 1000,
    progress: Callable[[VerifyResult], None] | None = None,
) -> tuple[VerifyResult, StatusVerification]:
    """Verify a random sample of `sample` persons, or everyone (sample=None); record the run for the dashboard.

    Memory stays bounded: ids come in keyset batches, each batch is loaded, evaluated and
    compared on its own; only the mismatches are kept.
    """
    started_at = timezone.now()
    started = time.monotonic()
    total = VerifyResult()
    if sample is None:
        batches = verifiable_id_batches(batch_size=batch_size)
    else:
        chosen = verifiable_ids_sample(sample)
        batches = (chosen[start : start + batch_size] for start in range(0, len(chosen), batch_size))
    for ids in batches:
        found = statuses_verify_batch(ids, repair=repair)
        total.checked += found.checked
        total.in_flight += found.in_flight
        total.repaired += found.repaired
        total.mismatch_count += found.mismatch_count
        total.decision_count += found.decision_count
        total.mismatches.extend(found.mismatches[: EXAMPLES_KEPT - len(total.mismatches)])
        total.seconds = time.monotonic() - started
        if progress is not None:
            progress(total)
    total.seconds = time.monotonic() - started
    run = StatusVerification.objects.create(
        scope=StatusVerification.Scope.ALL if sample is None else StatusVerification.Scope.SAMPLE,
        started_at=started_at,
        finished_at=timezone.now(),
        checked=total.checked,
        mismatches=total.mismatch_count,
        decisions_differ=total.decision_count,
        in_flight=total.in_flight,
        repaired=total.repaired,
        examples=[mismatch.as_example() for mismatch in total.mismatches],
    )
    return total, run


def verification_latest() -> StatusVerification | None:
    return StatusVerification.objects.order_by("-finished_at", "-pk").first()
