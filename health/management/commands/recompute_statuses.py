"""Recompute statuses from the shell: everyone, the dirty ones, or those past valid_until, in keyset batches."""
import sys
import time

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils import timezone

from config.celery_app import app
from health.services.statuses import (
    RecomputeResult,
    person_id_chunks,
    person_id_ranges,
    persons_mark_dirty,
    policy_current,
    risk_areas_current,
    statuses_enqueue,
    statuses_enqueue_ranges,
    statuses_recompute,
    statuses_recompute_all,
    statuses_recompute_range,
)


class Command(BaseCommand):
    help = (
        "Recompute health statuses in batches (--all, --dirty or --due). With a real broker the work is "
        "enqueued for the workers (--all: one task per id range); --inline (or the embedded mode) computes "
        "it in this process."
    )

    def add_arguments(self, parser):
        which = parser.add_mutually_exclusive_group(required=True)
        which.add_argument("--all", action="store_true", help="every person (after a policy change)")
        which.add_argument("--dirty", action="store_true", help="persons marked dirty")
        which.add_argument("--due", action="store_true", help="clean persons whose valid_until has passed")
        parser.add_argument(
            "--batch-size",
            type=int,
            default=settings.STATUS_RECOMPUTE_BATCH_SIZE,
            help=f"persons per batch (default STATUS_RECOMPUTE_BATCH_SIZE: {settings.STATUS_RECOMPUTE_BATCH_SIZE}); "
            "with a broker the workers' own setting applies",
        )
        parser.add_argument(
            "--chunk-size",
            type=int,
            default=settings.STATUS_RECOMPUTE_CHUNK_SIZE,
            help=f"--all with a broker: persons per task (default STATUS_RECOMPUTE_CHUNK_SIZE: "
            f"{settings.STATUS_RECOMPUTE_CHUNK_SIZE})",
        )
        parser.add_argument(
            "--durable",
            action="store_true",
            help="--all with a broker: mark everyone dirty first, so that a lost message is healed by the sweep",
        )
        parser.add_argument("--inline", action="store_true", help="compute here even when a broker is configured")

    def handle(self, *args, **options):
        size = options["batch_size"]
        if size < 1 or options["chunk_size"] < 1:
            raise CommandError("--batch-size and --chunk-size must be at least 1")
        inline = options["inline"] or app.conf.task_always_eager
        if options["all"] and not inline:
            if options["durable"]:
                # The policy-change path: each range marked dirty, then sent as one range task.
                return self._enqueue_durable(options["chunk_size"])
            return self._enqueue_ranges(options["chunk_size"])
        now = timezone.now()
        # One policy and one set of risk areas for the whole run: every batch is judged alike.
        policy = policy_current()
        risks = risk_areas_current(now=now, policy=policy)
        total = RecomputeResult()
        persons = 0
        started = time.monotonic()
        if options["all"] and inline:
            # Keyset ranges, each read in batches with its versions: no id list held in memory.
            for first, last in person_id_ranges(size=size):
                result = statuses_recompute_range(
                    first, last, now=now, cause="recompute_all", batch_size=size, policy=policy, risk_areas=risks
                )
                total.add(result)
                persons += result.evaluated
                self._progress(persons, started)
            return self._done(total)
        if options["dirty"]:
            chunks, cause = person_id_chunks(chunk_size=size, dirty=True), ""
        else:
            chunks, cause = person_id_chunks(chunk_size=size, dirty=False, due_at=now), "valid_until"
        for ids in chunks:
            persons += len(ids)
            if inline:
                total.add(statuses_recompute(ids, now=now, cause=cause, policy=policy, risk_areas=risks))
            else:
                # Durable first: the mark survives a broker that drops the message; the sweep resends it.
                if cause:
                    with transaction.atomic():
                        persons_mark_dirty(ids, cause=cause)  # enqueues on commit
                elif not statuses_enqueue(ids):
                    raise CommandError("the broker refused the batch; the persons stay dirty for the sweep")
            self._progress(persons, started)
        if inline:
            return self._done(total)
        sys.stderr.write("\n")
        self.stdout.write(f"enqueued {persons} persons for the workers")

    def _enqueue_ranges(self, chunk_size: int) -> None:
        started = time.monotonic()
        sent = statuses_enqueue_ranges(person_id_ranges(size=chunk_size), cause="recompute_all")
        self.stdout.write(
            f"enqueued {sent} id ranges of up to {chunk_size} persons for the workers "
            f"({time.monotonic() - started:.1f} s)"
        )

    def _enqueue_durable(self, chunk_size: int) -> None:
        started = time.monotonic()
        marked = statuses_recompute_all(cause="recompute_all", chunk_size=chunk_size)
        self.stdout.write(
            f"marked {marked} persons dirty and enqueued them in id ranges of up to {chunk_size} "
            f"({time.monotonic() - started:.1f} s)"
        )

    def _progress(self, persons: int, started: float) -> None:
        elapsed = time.monotonic() - started
        sys.stderr.write(f"\r{persons} persons, {elapsed:.1f} s ({persons / max(elapsed, 1e-9):.0f}/s)")
        sys.stderr.flush()

    def _done(self, total: RecomputeResult) -> None:
        sys.stderr.write("\n")
        self.stdout.write(
            f"recomputed {total.evaluated} persons: {total.changed} changed, {total.skipped_newer} skipped (newer)"
        )
