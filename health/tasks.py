"""Celery tasks: thin wrappers around the status services; idempotent, acks late, retried on database errors."""
from celery import shared_task
from django.db import DatabaseError

from health.services import statuses


@shared_task(
    name="health.tasks.statuses_recompute_task",
    acks_late=True,
    autoretry_for=(DatabaseError,),
    retry_backoff=0.5,
    retry_backoff_max=30,
    retry_jitter=True,
    max_retries=10,
)
def statuses_recompute_task(person_ids: list[int], cause: str = "") -> dict:
    result = statuses.statuses_recompute(person_ids, cause=cause)
    return {"evaluated": result.evaluated, "changed": result.changed}


@shared_task(name="health.tasks.statuses_sweep", acks_late=True, autoretry_for=(DatabaseError,), retry_backoff=True)
def statuses_sweep() -> dict:
    return statuses.statuses_sweep()


@shared_task(name="health.tasks.statuses_recompute_all_task", acks_late=True, autoretry_for=(DatabaseError,))
def statuses_recompute_all_task(cause: str = "policy_change") -> int:
    return statuses.statuses_recompute_all(cause=cause)
