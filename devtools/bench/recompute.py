"""Full recomputation of every status after a policy change, by Celery workers, one task per id range.

Figure: seconds from the first message to the last range stored, every status rewritten (a new
policy version, so no decision is "unchanged"). Baseline, in the same run: a per-person ORM loop
(read the row, load the facts, evaluate, save) over a sample, scaled to the same number of persons.
"""
from __future__ import annotations

import random
import time

from devtools.bench.common import (
    celery_worker,
    database_ensure,
    emit,
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


def add_arguments(parser) -> None:
    parser.add_argument("--persons", type=int, default=1_000_000)
    parser.add_argument("--workers", type=int, default=2, help="worker processes (default 2: this machine's cores)")
    parser.add_argument("--chunk-size", type=int, default=10_000, help="persons per task")
    parser.add_argument("--batch-size", type=int, default=2_000, help="persons per batch inside a task")
    parser.add_argument("--sample", type=int, default=1_000, help="persons in the baseline's ORM loop")


def run(options: dict) -> None:
    import os

    from django.conf import settings
    from django.db.models import Max

    from config.celery_app import app
    from health.models import HealthStatus
    from health.models import Policy as PolicyVersion
    from health.services.statuses import person_id_ranges
    from health.tasks import statuses_recompute_range_task

    database_ensure()
    total = population_ensure(options["persons"])
    say(f"{total} statuses in the database")

    # A new policy version with the same parameters: every status must be rewritten with it.
    latest = PolicyVersion.objects.order_by("-version").first()
    fields = {f.name: getattr(latest, f.name) for f in PolicyVersion._meta.fields if f.name not in ("version", "created_at", "created_by")} if latest else {}
    new_version = (PolicyVersion.objects.aggregate(v=Max("version"))["v"] or 0) + 1
    PolicyVersion.objects.create(version=new_version, **(fields | {"comment": "benchmark: recompute"}))

    say("vacuuming the status table (the previous run's dead rows), as autovacuum would")
    tables_vacuum("health_healthstatus", "health_statusevent")
    os.environ["STATUS_RECOMPUTE_BATCH_SIZE"] = str(options["batch_size"])
    settings.STATUS_RECOMPUTE_QUEUE = QUEUE
    queue_purge(QUEUE)
    with celery_worker(concurrency=options["workers"], queue=QUEUE) as worker:
        workers_wait(1)
        time.sleep(2)  # let the pool's children start before the clock does
        cpu_before = proc_cpu_seconds(worker.pid)
        started = time.monotonic()
        ranges = list(person_id_ranges(size=options["chunk_size"]))
        results = [statuses_recompute_range_task.apply_async((first, last, "policy_change"), queue=QUEUE) for first, last in ranges]
        outcomes = [result.get(timeout=3600) for result in results]
        figure = time.monotonic() - started
        worker_cpu = proc_cpu_seconds(worker.pid) - cpu_before
        worker_peak = proc_peak_rss_mib(worker.pid)
    rewritten = HealthStatus.objects.filter(policy_version=new_version).count()
    evaluated = sum(o["evaluated"] for o in outcomes)
    say(f"recomputed {evaluated} persons in {figure:.1f} s ({evaluated / figure:.0f}/s); {rewritten} rewritten")

    sample = random.Random(1).sample(range(1, total + 1), min(options["sample"], total))
    ids = list(HealthStatus.objects.order_by("person_id").values_list("person_id", flat=True)[: total])
    sample_ids = [ids[i - 1] for i in sample]
    per_person = orm_loop_seconds_per_person(sample_ids)
    baseline = per_person * total
    say(f"baseline ORM loop: {per_person * 1e3:.2f} ms per person -> {baseline:.0f} s for {total}")
    app.control.purge()
    emit(
        {
            "benchmark": "recompute",
            "figure": round(figure, 2),
            "unit": "s",
            "baseline": round(baseline, 1),
            "ratio": round(baseline / figure, 1),
            "ratio_means": "baseline / figure (times faster than the per-person ORM loop)",
            "target": "<= 60 s for 1,000,000 persons; peak memory < 1 GB",
            "persons": total,
            "evaluated": evaluated,
            "rewritten": rewritten,
            "persons_per_second": round(evaluated / figure),
            "workers": options["workers"],
            "tasks": len(ranges),
            "peak_memory_mb": worker_peak,
            # CPU the workers used, per person: what the machine's other load does not change much.
            "worker_cpu_us_per_person": round(worker_cpu / max(evaluated, 1) * 1e6, 1),
            "met": figure <= 60 * total / 1_000_000 and worker_peak < 1024,
        }
    )
