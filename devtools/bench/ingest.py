"""The national platform's itinerary feed at bulk speed: a file of stays imported like `import_feed stays FILE`.

Figure: rows per second of the whole import of a CSV file — parsing, every row validated (the
API's rules, each ID number checked and hashed), persons resolved and created, the stays upserted
into the product's table with its indexes and constraints, the affected persons marked dirty, in
one transaction up to its commit. Baseline, same run, same file: `COPY` into a bare table (no
index, no constraint). The statuses of the affected persons are recomputed afterwards and timed
apart (the recompute benchmark measures that path).
"""
from __future__ import annotations

import csv
import random
import time
from datetime import timedelta
from pathlib import Path

from devtools.bench.common import ROOT, database_ensure, emit, population_ensure, queue_purge, say, tables_vacuum

QUEUE = "bench-ingest"


def add_arguments(parser) -> None:
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--persons", type=int, default=1_000_000, help="population the stays belong to")
    parser.add_argument("--stays-per-person", type=float, default=2.5)
    parser.add_argument(
        "--keep-stays", action="store_true", help="keep the imported stays (by default removed after the run)"
    )
    parser.add_argument(
        "--explain",
        action="store_true",
        help="print EXPLAIN (ANALYZE, BUFFERS) of each statement of the write, foreign keys checked at once "
        "so that their triggers show (slower; the figure is then not comparable)",
    )


def _file(rows: int, persons: int, per_person: float) -> Path:
    from django.utils import timezone

    from devtools.population import JJJ_ELSEWHERE, OUTSIDE, person_identity

    path = ROOT / "var" / "bench-stays.csv"
    path.parent.mkdir(exist_ok=True)
    rng = random.Random(time.time_ns())
    now = timezone.now().astimezone(timezone.get_fixed_timezone(480)).replace(microsecond=0)
    distinct = max(1, min(persons, int(rows / per_person)))
    first = rng.randrange(0, max(1, persons - distinct))
    # Not 110105: the fanout benchmark designates it and must find the same persons there every run.
    cities = JJJ_ELSEWHERE + OUTSIDE + ["110108", "110101", "110102"]
    with path.open("w", newline="", encoding="utf-8") as output:
        writer = csv.writer(output)
        writer.writerow(["name", "id_number", "city_code", "arrived_at", "left_at"])
        identities = {}
        for _ in range(rows):
            number = first + rng.randrange(distinct)
            identity = identities.get(number) or identities.setdefault(number, person_identity(number))
            arrived = now - timedelta(seconds=rng.randrange(1, 13 * 86400))
            left = arrived + timedelta(seconds=rng.randrange(3600, 3 * 86400))
            writer.writerow(
                [identity[0], identity[1], rng.choice(cities), arrived.isoformat(), left.isoformat() if left < now else ""]
            )
    return path


def _bare_copy(path: Path) -> float:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE IF EXISTS bench_bare_stays")
        cursor.execute(
            "CREATE TABLE bench_bare_stays (name text, id_number text, city_code text, arrived_at timestamptz, left_at timestamptz)"
        )
        started = time.monotonic()
        with path.open("rb") as data, cursor.cursor.copy("COPY bench_bare_stays FROM STDIN (FORMAT csv, HEADER true)") as copy:
            while chunk := data.read(1 << 20):
                copy.write(chunk)
        seconds = time.monotonic() - started
        cursor.execute("DROP TABLE bench_bare_stays")
    return seconds


def _statements_timed(parts: dict[str, float], *, explain: bool = False):
    """A connection execute wrapper adding each statement's time to its part of the write.

    `explain`: each INSERT and UPDATE runs under EXPLAIN (ANALYZE, BUFFERS) instead, its plan
    printed on stderr (the statement is still executed; the rows it reports are the plan's).
    """

    def wrapper(execute, sql, params, many, context):
        if explain and sql.lstrip()[:6].upper() in ("INSERT", "UPDATE", "WITH N") and not many:
            plan = execute("EXPLAIN (ANALYZE, BUFFERS) " + sql, params, many, context)
            rows = context["cursor"].fetchall()
            say("EXPLAIN ANALYZE " + " ".join(sql.split())[:160] + "\n" + "\n".join(row[0] for row in rows))
            return plan
        started = time.monotonic()
        try:
            return execute(sql, params, many, context)
        finally:
            head = sql.lstrip()[:12].upper()
            if head.startswith("INSERT") and "health_itinerarystay" in sql:
                part = "stays_upsert"
            elif head.startswith("UPDATE") and "health_healthstatus" in sql:
                part = "dirty_marking"
            elif "health_person" in sql:
                part = "persons"
            else:
                part = "other_statements"
            parts[part] += time.monotonic() - started

    return wrapper


def run(options: dict) -> None:
    from django.conf import settings
    from django.db import connection, transaction

    from health.feeds import stays_validate, stays_write
    from health.models import HealthStatus, ItineraryStay
    from health.services.statuses import person_id_chunks, statuses_recompute

    database_ensure()
    total = population_ensure(options["persons"])
    rows = options["rows"]
    say(f"writing a file of {rows} stays")
    path = _file(rows, min(total, options["persons"]), options["stays_per_person"])
    say(f"file: {path.stat().st_size / 1e6:.0f} MB")

    bare = _bare_copy(path)
    baseline = rows / bare
    say(f"bare COPY: {bare:.2f} s ({baseline:.0f} rows/s)")

    settings.STATUS_RECOMPUTE_QUEUE = QUEUE
    # Every run imports into the same table: the stays a run adds are removed afterwards (untimed).
    last_stay = ItineraryStay.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
    tables_vacuum(ItineraryStay._meta.db_table)
    parts = dict.fromkeys(("persons", "stays_upsert", "dirty_marking", "other_statements"), 0.0)
    started = time.monotonic()
    valid = stays_validate(path, "csv")
    validated = time.monotonic() - started
    with transaction.atomic(), connection.execute_wrapper(_statements_timed(parts, explain=options["explain"])):
        if options["explain"]:
            with connection.cursor() as cursor:
                cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        written, person_ids = stays_write(valid, source="platform")
        committing = time.monotonic()
    seconds = time.monotonic() - started
    parts["commit"] = time.monotonic() - committing
    # What no statement accounts for: the staging COPYs (the rows streamed and parsed) and the driver.
    parts["staging_copy_and_rest"] = seconds - validated - sum(parts.values())
    queue_purge(QUEUE)
    figure = rows / seconds
    say(f"import: {seconds:.2f} s ({figure:.0f} rows/s; validation {validated:.2f} s), {len(person_ids)} persons dirty")

    if not options["keep_stays"]:
        # Before the persons it marked are recomputed, so that their statuses are those of the data
        # left in the table (never computed from stays that are gone).
        with connection.cursor() as cursor:
            cursor.execute(f"DELETE FROM {ItineraryStay._meta.db_table} WHERE id > %s", [last_stay])
            removed = cursor.rowcount
        tables_vacuum(ItineraryStay._meta.db_table)
        say(f"removed the {removed} stays this run added")

    recompute_started = time.monotonic()
    for ids in person_id_chunks(chunk_size=5000, dirty=True):
        statuses_recompute(ids, cause="itinerary_feed")
    recompute = time.monotonic() - recompute_started
    left_dirty = HealthStatus.objects.filter(dirty=True).count()
    emit(
        {
            "benchmark": "ingest",
            "figure": round(figure),
            "unit": "rows/s",
            "baseline": round(baseline),
            "ratio": round(figure / baseline, 3),
            "ratio_means": "import rate / bare COPY rate of the same file",
            "target": "ratio >= 0.2",
            "rows": rows,
            "seconds": round(seconds, 2),
            "validation_s": round(validated, 2),
            "write_s": round(seconds - validated, 2),
            "write_parts_s": {part: round(value, 2) for part, value in parts.items()},
            "bare_copy_s": round(bare, 2),
            "stays_written": written,
            "persons_marked_dirty": len(person_ids),
            "recompute_after_s": round(recompute, 1),
            "left_dirty": left_dirty,
            "met": figure / baseline >= 0.2,
        }
    )
