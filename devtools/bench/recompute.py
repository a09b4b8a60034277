"""Full recomputation of every status after a policy change, the way an operator starts it, by real Celery workers.

Figure: seconds from the operator's action to the last status stored with the new policy version
(every status rewritten: a new version, so no decision is "unchanged"). The action is, by `--path`:

- `publish` (default): `policy_republish` of the version in force, what the admin's "publish" does:
  the version is committed, then every id range is marked dirty and sent as one range task;
- `command`: a new version created, then `recompute_statuses --all` (ranges sent, nothing marked);
- `durable`: the same with `--durable` (each range marked dirty first, as the publish path does).

Everything runs with the settings' defaults (chunk and batch sizes) unless `--chunk-size` or
`--batch-size` are given: what an operator runs is what is measured. The clock stops when no
status is dirty or has another policy version (polled in the database).

Baseline, in the same run: one bare `UPDATE` of every status row, writing the columns a recompute
writes (their own values, `computed_at` now): `ratio` = figure / baseline. Both start from a
vacuumed table. Also reported: a per-person ORM loop over a sample, scaled to everyone.
"""
from __future__ import annotations

import os
import random
import time

from devtools.bench.common import (
    celery_worker,
    database_ensure,
    emit,
    machine_cpu_busy,
    orm_loop_seconds_per_person,
    population_ensure,
    proc_cpu_seconds,
    proc_peak_rss_mib,
    queue_purge,
    say,
    tables_vacuum,
    workers_wait,
)

QUEUE = "bench-recompute"
PATHS = ("publish", "command", "durable")
TARGET_RATIO = 5.5

# The columns `_statuses_write` sets, each to its own value; computed_at to the statement's time.
_BARE_UPDATE = """
    UPDATE health_healthstatus SET
        status = status, reasons = reasons, valid_until = valid_until, computed_at = now(),
        policy_version = policy_version, needs_review = needs_review,
        computed_version = computed_version, dirty = false, dirty_since = NULL
"""


def add_arguments(parser) -> None:
    parser.add_argument("--persons", type=int, default=1_000_000)
    parser.add_argument("--path", choices=PATHS, default="publish", help="what the operator does (default publish)")
    parser.add_argument("--workers", type=int, default=2, help="worker processes (default 2: this machine's cores)")
    parser.add_argument("--chunk-size", type=int, default=0, help="persons per task (default: the setting's)")
    parser.add_argument("--batch-size", type=int, default=0, help="persons per batch in a task (default: the setting's)")
    parser.add_argument("--sample", type=int, default=300, help="persons in the ORM loop (0: skip it)")
    parser.add_argument("--poll", type=float, default=0.25, help="seconds between two completion checks")


def _bare_update_seconds() -> float:
    from django.db import connection, transaction

    started = time.monotonic()
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(_BARE_UPDATE)
    return time.monotonic() - started


def _first_pending(version: int, after: int) -> int | None:
    """The first person from `after` on whose status is dirty or has another policy version; None if none.

    A walk of the primary key from where the last check stopped, not a count of the table: the ranges
    finish roughly in id order, so each check reads only the rows finished since the previous one.
    (A count of every row every 0.25 s kept one of the two cores busy in PostgreSQL for most of a
    1,000,000-person run: the clock measured its own instrument.) Only the benchmark's workers write
    during a run, so a row behind the walk stays finished.
    """
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT person_id FROM health_healthstatus WHERE person_id >= %s"
            " AND (dirty OR policy_version IS DISTINCT FROM %s) ORDER BY person_id LIMIT 1",
            [after, version],
        )
        row = cursor.fetchone()
    return row[0] if row else None


def _remaining(version: int) -> int:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM health_healthstatus WHERE dirty OR policy_version IS DISTINCT FROM %s", [version]
        )
        return cursor.fetchone()[0]


def _load_average() -> str:
    return " ".join(f"{value:.2f}" for value in os.getloadavg())


def run(options: dict) -> None:
    from django.conf import settings
    from django.core.management import call_command
    from django.db.models import Max

    from config.celery_app import app
    from health.models import HealthStatus
    from health.models import Policy as PolicyVersion
    from health.services.policy import POLICY_PARAMETERS, policy_republish

    database_ensure()
    total = population_ensure(options["persons"])
    say(f"{total} statuses in the database; load average {_load_average()}")
    if options["chunk_size"]:
        settings.STATUS_RECOMPUTE_CHUNK_SIZE = options["chunk_size"]
    if options["batch_size"]:
        os.environ["STATUS_RECOMPUTE_BATCH_SIZE"] = str(options["batch_size"])  # the workers read it
    chunk = settings.STATUS_RECOMPUTE_CHUNK_SIZE
    batch = int(os.environ.get("STATUS_RECOMPUTE_BATCH_SIZE") or settings.STATUS_RECOMPUTE_BATCH_SIZE)
    settings.STATUS_RECOMPUTE_QUEUE = QUEUE
    os.environ["STATUS_RECOMPUTE_QUEUE"] = QUEUE
    queue_purge(QUEUE)

    # Nothing left dirty by an earlier run (the clock waits for no dirty row).
    call_command("recompute_statuses", "--dirty", "--inline")
    say("vacuuming the status table, then the bare UPDATE of every row")
    tables_vacuum("health_healthstatus", "health_statusevent")
    load_baseline = _load_average()
    baseline = _bare_update_seconds()
    say(f"bare UPDATE of {total} rows: {baseline:.2f} s (load average {load_baseline})")
    tables_vacuum("health_healthstatus", "health_statusevent")

    latest = PolicyVersion.objects.order_by("-version").first()
    with celery_worker(concurrency=options["workers"], queue=QUEUE) as worker:
        workers_wait(1)
        time.sleep(2)  # let the pool's children start before the clock does
        cpu_before = proc_cpu_seconds(worker.pid)
        busy_before, all_before = machine_cpu_busy()
        load_figure = _load_average()
        started = time.monotonic()
        if options["path"] == "publish":
            version = policy_republish(actor=None, base=latest, comment="benchmark: recompute").version
        else:
            version = (PolicyVersion.objects.aggregate(v=Max("version"))["v"] or 0) + 1
            values = {name: getattr(latest, name) for name in POLICY_PARAMETERS}
            PolicyVersion.objects.create(version=version, comment="benchmark: recompute", **values)
            arguments = ["--all", "--durable"] if options["path"] == "durable" else ["--all"]
            call_command("recompute_statuses", *arguments)
        sent = time.monotonic() - started
        pending = 0
        while (pending := _first_pending(version, pending)) is not None:
            time.sleep(options["poll"])
        figure = time.monotonic() - started
        load_end = _load_average()
        worker_cpu = proc_cpu_seconds(worker.pid) - cpu_before
        busy_after, all_after = machine_cpu_busy()
        machine_busy = (busy_after - busy_before) / max(all_after - all_before, 1e-9)
        # Everything but the workers: PostgreSQL's backends (a backend that ends takes its CPU
        # figure with it, so they are not counted one by one), Redis, the driver, the kernel.
        others_cpu = max(busy_after - busy_before - worker_cpu, 0.0)
        worker_peak = proc_peak_rss_mib(worker.pid)
    left = _remaining(version)  # the whole table once, after the clock: the walk missed nothing
    if left:
        raise SystemExit(f"{left} statuses not recomputed although the walk found none: the benchmark is wrong")
    rewritten = HealthStatus.objects.filter(policy_version=version).count()
    ratio = figure / baseline
    say(
        f"{options['path']}: {rewritten} rewritten in {figure:.1f} s ({rewritten / figure:.0f}/s; "
        f"the action itself {sent:.1f} s); {ratio:.2f}x the bare UPDATE "
        f"(load average {load_figure} before, {load_end} at the end)"
    )
    say(
        f"CPU during the run: workers {worker_cpu:.1f} s, everything else (PostgreSQL mostly) {others_cpu:.1f} s; "
        f"the machine's cores busy {machine_busy:.0%} of the time"
    )
    orm = {}
    if options["sample"]:
        ids = list(HealthStatus.objects.order_by("person_id").values_list("person_id", flat=True))
        per_person = orm_loop_seconds_per_person(random.Random(1).sample(ids, min(options["sample"], len(ids))))
        orm = {"orm_loop_s": round(per_person * total, 1), "orm_loop_ratio": round(per_person * total / figure, 1)}
        say(f"ORM loop: {per_person * 1e3:.2f} ms per person -> {per_person * total:.0f} s for {total}")
    app.control.purge()
    emit(
        {
            "benchmark": "recompute",
            "path": options["path"],
            "figure": round(figure, 2),
            "unit": "s",
            "baseline": round(baseline, 2),
            "ratio": round(ratio, 2),
            "ratio_means": "figure / one bare UPDATE of every status row (times slower), same run",
            "target": f"ratio <= {TARGET_RATIO}; <= 60 s for 1,000,000 persons; peak memory < 1 GB",
            "persons": total,
            "rewritten": rewritten,
            "persons_per_second": round(rewritten / figure),
            "action_s": round(sent, 2),
            "workers": options["workers"],
            "chunk_size": chunk,
            "batch_size": batch,
            "peak_memory_mb": worker_peak,
            # CPU the workers used, per person: what the machine's other load does not change much.
            "worker_cpu_us_per_person": round(worker_cpu / max(rewritten, 1) * 1e6, 1),
            # Where the cores went: the workers, everything else (PostgreSQL, the marking included), idle.
            "worker_cpu_s": round(worker_cpu, 1),
            "others_cpu_s": round(others_cpu, 1),
            "machine_busy": round(machine_busy, 3),
            "load_average_baseline": load_baseline,
            "load_average_figure": load_figure,
            "load_average_end": load_end,
            **orm,
            "met": ratio <= TARGET_RATIO and figure <= 60 * total / 1_000_000 and worker_peak < 1024,
        }
    )
