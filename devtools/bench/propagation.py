"""A record change through the API until the status query shows it: gunicorn, Redis, one Celery worker.

Figure: p99 of the time from sending a designation (POST /api/v1/designations/, a health
department's token) to the first public status query (POST /api/v1/status/query/) that answers
集中观察. Also measured: the time until the worker itself has stored the new status (polled in the
database, no query in between), the path a status takes when nobody asks, and on that path where the
time goes: the worker notes when each task arrives, starts and ends (devtools/bench/tasks.py), so the
result splits a change into the API call, the way to the worker, the wait inside it and the task
itself. Baseline, same run: a bare Celery round trip through Redis (a no-op task and its result).

The server is warmed first, as a running one is: `--warm-up` changes (default 30, about ten for each
of gunicorn's three processes) go through the same two requests before the clock starts. A fresh
process's first requests pay for what it makes once — its database and broker connections, Django's
per-model caches, DRF's first request — and are reported apart (`cold_*`), not hidden.
"""
from __future__ import annotations

import json
import os
import random
import time
import urllib.error
import urllib.request
from datetime import timedelta

from devtools.bench.common import (
    PYTHON,
    ROOT,
    celery_worker,
    child,
    child_env,
    database_ensure,
    emit,
    percentile,
    population_ensure,
    queue_purge,
    say,
)

PORT = 8766
QUEUE = "bench-propagation"


def add_arguments(parser) -> None:
    parser.add_argument("--persons", type=int, default=100_000, help="population to pick persons from")
    parser.add_argument("--samples", type=int, default=200, help="changes measured on each path")
    parser.add_argument("--warm-up", type=int, default=30, help="changes sent before the clock starts (default 30)")


def _post(path: str, body: dict, token: str | None = None) -> dict:
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Token {token}"
    request = urllib.request.Request(
        f"http://127.0.0.1:{PORT}{path}", data=json.dumps(body).encode(), headers=headers, method="POST"
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())


def _token() -> str:
    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from knox.models import AuthToken

    call_command("create_staff", "bench-health", "--password", "bench-Only-Secret-42", "--department", "health")
    user = get_user_model().objects.get(username="bench-health")
    return AuthToken.objects.create(user=user)[1]


def _candidates(count: int, persons: int) -> list[tuple[str, str, int]]:
    """Persons whose status is not 集中观察 yet (a designation must change it), with their ID numbers."""
    from devtools.population import person_identity
    from health.identity import id_number_digest
    from health.models import HealthStatus, Person

    chosen = []
    for number in random.Random(time.time_ns()).sample(range(persons), min(persons, count * 4)):
        name, id_number = person_identity(number)
        person = Person.objects.filter(id_digest=id_number_digest(id_number)).first()
        if person is None:
            continue
        if HealthStatus.objects.filter(person=person).exclude(status="centralized_observation").exists():
            chosen.append((name, id_number, person.pk))
        if len(chosen) == count:
            break
    return chosen


def _worker_phases(path, stored: list[tuple[int, float, float]]) -> dict:
    """p50 and p99 of each phase of the worker-only path, in ms, from the worker's notes and the driver's clock.

    Per change: the API call start; the task's arrival in the worker's main process; its start in the
    pool process (after the fixups' `task_prerun`); its end (and the pool process's CPU in between);
    the driver seeing the stored status.
    """
    tasks: dict[str, dict] = {}
    for line in path.read_text().splitlines() if path.exists() else []:
        note = json.loads(line)
        tasks.setdefault(note["task"], {})[note["moment"]] = note["at"]
        if "cpu" in note:
            tasks[note["task"]][f"{note['moment']}_cpu"] = note["cpu"]
        if "args" in note:
            tasks[note["task"]]["args"] = note["args"]
    by_person = {}
    for moments in tasks.values():
        args = moments.get("args") or [[]]
        if isinstance(args[0], list) and len(args[0]) == 1 and {"received", "started", "ended"} <= moments.keys():
            by_person.setdefault(args[0][0], moments)
    spans: dict[str, list[float]] = {"to_worker": [], "in_worker": [], "task": [], "task_cpu": [], "after_task": []}
    for person_id, started, seen in stored:
        moments = by_person.get(person_id)
        if moments is None:
            continue
        spans["to_worker"].append(moments["received"] - started)
        spans["in_worker"].append(moments["started"] - moments["received"])
        spans["task"].append(moments["ended"] - moments["started"])
        spans["task_cpu"].append(moments["ended_cpu"] - moments["started_cpu"])
        spans["after_task"].append(seen - moments["ended"])
    result = {"phases_matched": len(spans["task"])}
    for name, values in spans.items():
        result[f"phase_{name}_p50_ms"] = round(percentile(values, 0.5) * 1000, 2)
        result[f"phase_{name}_p99_ms"] = round(percentile(values, 0.99) * 1000, 2)
    return result


def run(options: dict) -> None:
    from django.conf import settings
    from django.utils import timezone

    from devtools.bench.tasks import noop
    from health.models import HealthStatus

    database_ensure()
    total = population_ensure(options["persons"])
    token = _token()
    samples = options["samples"]
    warm = options["warm_up"]
    people = _candidates(2 * samples + warm, min(total, options["persons"]))
    warming, people = people[:warm], people[warm:]
    settings.STATUS_RECOMPUTE_QUEUE = QUEUE
    queue_purge(QUEUE)
    env = child_env(GUNICORN_BIND=f"127.0.0.1:{PORT}", STATUS_RECOMPUTE_QUEUE=QUEUE)
    gunicorn = [PYTHON, "-m", "gunicorn", "-c", "config/gunicorn.py", "config.wsgi"]
    phases_file = ROOT / "var" / "bench-propagation-phases.jsonl"
    phases_file.unlink(missing_ok=True)
    worker = celery_worker(concurrency=1, queue=f"{QUEUE},celery", env=child_env(BENCH_PHASES_FILE=str(phases_file)))
    with child(gunicorn, name="gunicorn-propagation", env=env), worker:
        from devtools.bench.common import workers_wait

        workers_wait(1)
        deadline = time.monotonic() + 30
        while True:
            try:
                _post("/api/v1/status/query/", {"name": "x", "id_number": "x"})
            except urllib.error.HTTPError:
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise SystemExit("gunicorn did not start") from None
                time.sleep(0.3)
        round_trips = []
        for _ in range(samples):
            started = time.perf_counter()
            noop.apply_async(queue=QUEUE).get(timeout=10)
            round_trips.append(time.perf_counter() - started)

        def designate(name: str, id_number: str) -> float:
            started = time.perf_counter()
            walls.append(time.time())
            _post(
                "/api/v1/designations/",
                {
                    "person": {"name": name, "id_number": id_number},
                    "kind": "close_contact",
                    "designated_at": (timezone.now() - timedelta(minutes=1)).isoformat(),
                },
                token,
            )
            writes.append(time.perf_counter() - started)
            return started

        def until_the_query_shows_it(name: str, id_number: str) -> float:
            started = designate(name, id_number)
            while _post("/api/v1/status/query/", {"name": name, "id_number": id_number})["status"] != "centralized_observation":
                pass
            return time.perf_counter() - started

        writes, walls, stored_walls, worker_stores = [], [], [], []
        cold_shows = [until_the_query_shows_it(name, id_number) for name, id_number, _person in warming]
        cold_writes = writes[:]
        writes.clear()
        walls.clear()
        query_shows = [until_the_query_shows_it(name, id_number) for name, id_number, _person in people[:samples]]
        for name, id_number, person_id in people[samples:]:
            started = designate(name, id_number)
            row = HealthStatus.objects.filter(person_id=person_id)
            while not row.filter(dirty=False, status="centralized_observation").exists():
                time.sleep(0.001)
            worker_stores.append(time.perf_counter() - started)
            stored_walls.append((person_id, walls[-1], time.time()))
    phases = _worker_phases(phases_file, stored_walls)
    figure = percentile(query_shows, 0.99) * 1000
    baseline = percentile(round_trips, 0.50) * 1000
    say(f"query shows it: p50 {percentile(query_shows, 0.5) * 1000:.1f} ms, p99 {figure:.1f} ms")
    emit(
        {
            "benchmark": "propagation",
            "figure": round(figure, 1),
            "unit": "ms (p99, API change -> status query shows it)",
            "baseline": round(baseline, 2),
            "ratio": round(figure / baseline, 1),
            "ratio_means": "figure / a bare Celery round trip through Redis (p50)",
            "target": "p99 < 50 ms",
            "query_p50_ms": round(percentile(query_shows, 0.5) * 1000, 1),
            "api_write_p50_ms": round(percentile(writes, 0.5) * 1000, 1),
            "api_write_p99_ms": round(percentile(writes, 0.99) * 1000, 1),
            "worker_p50_ms": round(percentile(worker_stores, 0.5) * 1000, 1),
            "worker_p99_ms": round(percentile(worker_stores, 0.99) * 1000, 1),
            "celery_round_trip_p99_ms": round(percentile(round_trips, 0.99) * 1000, 2),
            # The warm-up's changes, the first requests of each fresh process among them: not in the figure.
            "cold_changes": len(cold_shows),
            "cold_query_max_ms": round(max(cold_shows, default=0) * 1000, 1),
            "cold_api_write_max_ms": round(max(cold_writes, default=0) * 1000, 1),
            "samples": len(query_shows),
            **phases,
            "load_average": round(os.getloadavg()[0], 2),
            "met": figure < 50,
        }
    )
