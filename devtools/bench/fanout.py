"""A risk area touching about 100,000 persons: designated through the service, every touched status recomputed.

Figure: seconds from the designation's service call (which marks the touched persons dirty in
its transaction and enqueues them on commit) until none of them is dirty, with the workers of a
deployment (Celery, Redis). Baseline, in the same run: the per-person ORM loop over a sample of
the touched persons, scaled to all of them.
"""
from __future__ import annotations

import os
import random
import time
from datetime import timedelta

from devtools.bench.common import (
    celery_worker,
    database_ensure,
    emit,
    orm_loop_seconds_per_person,
    population_ensure,
    queue_purge,
    say,
    tables_vacuum,
    workers_wait,
)

QUEUE = "bench-fanout"


def add_arguments(parser) -> None:
    parser.add_argument("--persons", type=int, default=1_000_000, help="population (a tenth lives in 110105)")
    parser.add_argument("--region", default="110105", help="region designated (default 朝阳区, 110105)")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--batch-size", type=int, default=2_000, help="persons per task")
    parser.add_argument("--sample", type=int, default=500)


def run(options: dict) -> None:
    from django.conf import settings
    from django.db import transaction
    from django.utils import timezone

    from health.models import HealthStatus, Region, RiskArea
    from health.services.risk_areas import risk_area_create
    from health.services.statuses import persons_at_region, region_risk_changed, statuses_enqueue

    database_ensure()
    population_ensure(options["persons"])
    region = Region.objects.get(code=options["region"])
    touched = sorted(persons_at_region(region.code))
    say(f"a designation of {region.code} touches {len(touched)} persons")

    settings.STATUS_RECOMPUTE_QUEUE = QUEUE
    settings.STATUS_RECOMPUTE_BATCH_SIZE = options["batch_size"]
    os.environ["STATUS_RECOMPUTE_BATCH_SIZE"] = str(options["batch_size"])
    queue_purge(QUEUE)
    dirty = HealthStatus.objects.filter(dirty=True)
    with celery_worker(concurrency=options["workers"], queue=QUEUE):
        workers_wait(1)
        # Settle first: persons left dirty by an earlier run (a feed) are recomputed before the clock starts.
        leftover = list(dirty.values_list("person_id", flat=True))
        if leftover:
            say(f"settling {len(leftover)} persons left dirty by earlier runs")
            statuses_enqueue(leftover)
            while dirty.exists():
                time.sleep(0.2)
        tables_vacuum("health_healthstatus")
        time.sleep(2)
        started = time.monotonic()
        risk_area = risk_area_create(
            actor=None, region=region, level="high", effective_from=timezone.now() - timedelta(minutes=1)
        )
        marked = time.monotonic() - started
        while dirty.exists():
            if time.monotonic() - started > 3600:
                raise SystemExit("the fan-out did not finish within an hour")
            time.sleep(0.05)
        figure = time.monotonic() - started
        # Undone (not timed), so that the next run measures the same change on the same city.
        say("removing the benchmark's designation and recomputing the persons it touched")
        with transaction.atomic():
            RiskArea.objects.filter(pk=risk_area.pk).delete()
            region_risk_changed(region.code, cause="benchmark_cleanup")
        while dirty.exists():
            time.sleep(0.2)
    say(f"marked in {marked:.2f} s, all recomputed after {figure:.2f} s")
    sample = random.Random(2).sample(touched, min(options["sample"], len(touched)))
    baseline = orm_loop_seconds_per_person(sample) * len(touched)
    emit(
        {
            "benchmark": "fanout",
            "figure": round(figure, 2),
            "unit": "s",
            "baseline": round(baseline, 1),
            "ratio": round(baseline / figure, 1),
            "ratio_means": "baseline / figure (times faster than the per-person ORM loop)",
            "target": "<= 10 s for 100,000 persons",
            "persons_touched": len(touched),
            "marked_in_s": round(marked, 2),
            "persons_per_second": round(len(touched) / figure),
            "workers": options["workers"],
            "met": figure <= 10 * max(len(touched), 1) / 100_000,
        }
    )
