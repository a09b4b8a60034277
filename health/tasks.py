"""Celery tasks: thin wrappers around the status services; idempotent, acks late, retried on database errors."""
from celery import shared_task
from django.db import DatabaseError

from health.services import statuses

# retry_backoff must be an int: Celery draws the jitter with random.randrange, which rejects
# a float (a backoff of 0.5 turned every retry into a ValueError).
RETRY = {
    "acks_late": True,
    "autoretry_for": (DatabaseError,),
    "retry_backoff": 1,
    "retry_backoff_max": 30,
    "retry_jitter": True,
    "max_retries": 10,
}


@shared_task(name="health.tasks.statuses_recompute_task", **RETRY)
def statuses_recompute_task(person_ids: list[int], cause: str = "") -> dict:
    """Recompute a chunk; safe to run twice or out of order (versions guard every write)."""
    result = statuses.statuses_recompute(person_ids, cause=cause)
    return {"evaluated": result.evaluated, "changed": result.changed, "skipped_newer": result.skipped_newer}


@shared_task(name="health.tasks.statuses_sweep", **RETRY)
def statuses_sweep() -> dict:
    """Periodic (beat): re-enqueue dirty persons whose message may be lost, and persons now due."""
    return statuses.statuses_sweep()


@shared_task(name="health.tasks.statuses_recompute_all_task", **RETRY)
def statuses_recompute_all_task(cause: str = "policy_change") -> int:
    """Everyone dirty, in chunks (after a policy change); the chunks are recomputed by other tasks."""
    return statuses.statuses_recompute_all(cause=cause)


@shared_task(name="health.tasks.statuses_recompute_range_task", **RETRY)
def statuses_recompute_range_task(first_id: int, last_id: int, cause: str = "") -> dict:
    """Recompute an id range (a full run's share); idempotent like every recompute. Reports its peak memory."""
    import resource

    result = statuses.statuses_recompute_range(first_id, last_id, cause=cause)
    return {
        "evaluated": result.evaluated,
        "written": result.written,
        "changed": result.changed,
        "skipped_newer": result.skipped_newer,
        # ru_maxrss is in KiB on Linux: the process's peak resident memory so far.
        "peak_rss_kib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
    }


@shared_task(name="health.tasks.statuses_verify_sample", **RETRY)
def statuses_verify_sample(size: int | None = None) -> dict:
    """Periodic (beat): verify a random sample of stored statuses against the engine, repairing drift."""
    from django.conf import settings

    from health.services.verification import statuses_verify

    result, _run = statuses_verify(sample=size or settings.STATUS_VERIFY_SAMPLE_SIZE, repair=True)
    return {"checked": result.checked, "mismatches": result.mismatch_count, "repaired": result.repaired}


@shared_task(name="health.tasks.itinerary_purge", **RETRY)
def itinerary_purge() -> int:
    """Periodic (beat, daily): delete itinerary stays past the retention plus a margin, in small batches."""
    from health.purge import stays_purge
    from health.services.itinerary import declarations_kept_purge

    # Kept declarations nobody claimed go with the stays (same horizon); a handful of rows, one statement.
    declarations_kept_purge()
    # Bounded per run, so that one task never runs for long; the next run continues.
    return stays_purge(limit=2_000_000)


@shared_task(name="health.tasks.stays_partitions_ensure", **RETRY)
def stays_partitions_ensure() -> list[str]:
    """Periodic (beat, daily): the stays' month partitions of this month and the next two (PostgreSQL)."""
    from health.partitions import stays_partitions_ensure

    return stays_partitions_ensure()
