"""The purge of a month of stays: one partition dropped against the same records deleted by rows.

A month of platform stays (`--stays` records of `--persons` generated persons, all ended) is loaded
into a month before the retention horizon, then purged twice in the same run: once as the nightly
task does it (the month's partition dropped whole, `stays_purge`), and, after the same records are
loaded again, with the partition drop turned off (every record found on the (region, left_at) index
and decided by the engine, deleted in batches). Figure: the drop's seconds; baseline: the row
purge's; ratio = row purge / drop.
"""
from __future__ import annotations

import time
from datetime import timedelta

from devtools.bench.common import database_ensure, emit, population_ensure, say, tables_vacuum


def add_arguments(parser) -> None:
    parser.add_argument("--persons", type=int, default=20_000, help="generated persons the stays belong to")
    parser.add_argument("--stays", type=int, default=200_000, help="records in the month purged")


def _month_load(*, month, stays: int, persons: int) -> None:
    from django.db import connection

    from health import partitions

    partitions.stays_partitions_cover(month, month)
    with connection.cursor() as cursor:
        # The month holds only what is loaded here (the generated population's own stays are recent).
        cursor.execute("DELETE FROM health_itinerarystay WHERE arrived_at >= %s AND arrived_at < %s", [month, partitions.month_next(month)])
        # Distinct arrivals (a second apart) keep every record its own; five places of 唐山 that the generated population does not use; 5 h each.
        cursor.execute(
            """
            WITH people AS (SELECT id, row_number() OVER (ORDER BY id) - 1 AS n FROM health_person LIMIT %s)
            INSERT INTO health_itinerarystay (person_id, region_id, arrived_at, left_at, source, received_at)
            SELECT people.id, (ARRAY['130204', '130205', '130207', '130208', '130281'])[1 + i %% 5],
                   %s + make_interval(secs => i), %s + make_interval(secs => i) + interval '5 hours',
                   'platform', now()
            FROM generate_series(0, %s - 1) AS i JOIN people ON people.n = i %% %s
            """,
            [persons, month, month, stays, persons],
        )


def run(options: dict) -> None:
    from django.db import connection
    from django.utils import timezone

    from health import partitions
    from health.models import ItineraryStay
    from health.purge import stays_purge, stays_purge_horizon

    database_ensure()
    if not partitions.is_partitioned():
        raise SystemExit("the stays table is not partitioned (PostgreSQL, migration 0008)")
    population_ensure(options["persons"])
    now = timezone.now()
    horizon = stays_purge_horizon(now=now)
    month = partitions.month_start(partitions.month_start(horizon) - timedelta(days=40))
    # What the run would purge anyway is purged first: both runs then remove exactly the month loaded.
    stays_purge(now=now)
    timings = {}
    for way, drop in (("drop", True), ("rows", False)):
        _month_load(month=month, stays=options["stays"], persons=options["persons"])
        tables_vacuum("health_itinerarystay")
        loaded = ItineraryStay.objects.filter(arrived_at__gte=month, arrived_at__lt=partitions.month_next(month)).count()
        say(f"{loaded} records in {partitions.partition_name(month)}; purging by {way}")
        started = time.perf_counter()
        deleted = stays_purge(now=now, drop_partitions=drop)
        timings[way] = time.perf_counter() - started
        say(f"  {deleted} records purged in {timings[way]:.2f} s")
        if deleted != loaded:
            raise SystemExit(f"expected {loaded} records purged, got {deleted}")
    connection.close()
    emit(
        {
            "benchmark": "purge",
            "stays": options["stays"],
            "figure": round(timings["drop"], 3),
            "baseline": round(timings["rows"], 3),
            "ratio": round(timings["rows"] / timings["drop"], 1),
            "unit": "seconds to purge a month of stays: partition dropped (figure) vs rows deleted (baseline)",
        }
    )
