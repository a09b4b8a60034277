"""The propagation benchmark's baseline (a task that does nothing, for a bare Celery round trip) and its
worker-side clock: with BENCH_PHASES_FILE set, each task's arrival in the worker, start and end (with
the pool process's CPU time) are written there, one JSON line per moment, so that the driver can tell
where a change's time went."""
import json
import os
import time

from celery import shared_task
from celery.signals import task_postrun, task_prerun, task_received


@shared_task(name="bench.noop")
def noop() -> int:
    return 1


PHASES_FILE = os.environ.get("BENCH_PHASES_FILE")


def _note(moment: str, task_id: str, **extra) -> None:
    with open(PHASES_FILE, "a") as output:
        output.write(json.dumps({"moment": moment, "task": task_id, "at": time.time(), **extra}) + "\n")


if PHASES_FILE:

    @task_received.connect
    def _received(request=None, **kwargs) -> None:
        _note("received", request.id)

    @task_prerun.connect
    def _started(task_id=None, args=None, **kwargs) -> None:
        _note("started", task_id, args=list(args or ()), cpu=time.process_time())

    @task_postrun.connect
    def _ended(task_id=None, **kwargs) -> None:
        _note("ended", task_id, cpu=time.process_time())
