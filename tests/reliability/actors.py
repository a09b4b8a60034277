"""Processes the fault tests start: writers that race, a recompute loop, a writer that dies between commit and enqueue.

Run as `python -m tests.reliability.actors COMMAND ...` with DJANGO_SETTINGS_MODULE and DATABASE_URL
pointing at the test database. Each prints one JSON line with what it did.
"""
from __future__ import annotations

import json
import os
import random
import signal
import sys
import time
from datetime import timedelta


def setup() -> None:
    import django

    django.setup()


def race_writer(person_id: int, operations: int, seed: int) -> dict:
    """Designate and clear the same person again and again, each change in its own transaction.

    Without a broker the recomputation runs in this process right after each commit, so several
    writers also recompute the same person concurrently.
    """
    from django.db import OperationalError
    from django.utils import timezone

    from health.models import Designation, Person
    from health.services.designations import designation_clear, designation_create

    rng = random.Random(seed)
    person = Person.objects.get(pk=person_id)
    done = {"created": 0, "cleared": 0, "retried": 0}
    for _ in range(operations):
        open_ones = list(Designation.objects.filter(person=person, cleared_at__isnull=True).values_list("pk", flat=True))
        try:
            if open_ones and rng.random() < 0.5:
                designation_clear(actor=None, designation=Designation(pk=rng.choice(open_ones)))
                done["cleared"] += 1
            else:
                kind = rng.choice(["confirmed", "suspected", "close_contact", "asymptomatic"])
                at = timezone.now() - timedelta(minutes=rng.randint(1, 600))
                designation_create(actor=None, person=person, kind=kind, designated_at=at)
                done["created"] += 1
        except OperationalError:
            done["retried"] += 1  # a deadlock victim: the transaction rolled back as a whole
    return done


def recompute_loop(person_id: int, seconds: float) -> dict:
    from health.services.statuses import statuses_recompute

    runs = 0
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        statuses_recompute([person_id], cause="race_recompute")
        runs += 1
    return {"runs": runs}


def commit_then_die(person_id: int) -> dict:
    """Commit a designation with its dirty mark, then die by SIGKILL before the enqueue runs.

    The kill is registered on commit before the change's own callback: on-commit callbacks run in
    the order they were registered, so the process is gone after the commit and before the publish.
    """
    from django.db import transaction
    from django.utils import timezone

    from health.models import Person
    from health.services.designations import designation_create

    person = Person.objects.get(pk=person_id)
    with transaction.atomic():
        transaction.on_commit(lambda: os.kill(os.getpid(), signal.SIGKILL))
        designation_create(actor=None, person=person, kind="close_contact", designated_at=timezone.now() - timedelta(hours=1))
    return {"survived": True}  # never printed: the process is killed above


COMMANDS = {
    "race-writer": lambda args: race_writer(int(args[0]), int(args[1]), int(args[2])),
    "recompute-loop": lambda args: recompute_loop(int(args[0]), float(args[1])),
    "commit-then-die": lambda args: commit_then_die(int(args[0])),
}


if __name__ == "__main__":
    setup()
    print(json.dumps(COMMANDS[sys.argv[1]](sys.argv[2:])), flush=True)
