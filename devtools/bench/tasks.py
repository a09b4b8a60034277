"""The propagation benchmark's baseline: a task that does nothing, for a bare Celery round trip."""
from celery import shared_task


@shared_task(name="bench.noop")
def noop() -> int:
    return 1
