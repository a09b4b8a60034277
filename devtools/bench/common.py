"""What the benchmarks share: the database and the population, child processes (gunicorn, Celery), the result line."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PYTHON = sys.executable


def say(message: str) -> None:
    print(f"[bench] {message}", file=sys.stderr, flush=True)


def machine() -> dict:
    memory = 0
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                memory = int(line.split()[1]) // 1024
    except OSError:
        pass
    return {"cpus": os.cpu_count(), "memory_mb": memory}


def emit(result: dict) -> None:
    """The final line of every benchmark: one JSON object on stdout."""
    figure, baseline = result.get("figure"), result.get("baseline")
    if "ratio" not in result and figure and baseline:
        result["ratio"] = round(figure / baseline, 3)
    result["machine"] = machine()
    print(json.dumps(result, ensure_ascii=False), flush=True)


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    index = min(len(ordered) - 1, max(0, round(fraction * (len(ordered) - 1))))
    return ordered[index]


def database_ensure() -> None:
    """Create the benchmark's database if missing and migrate it (never a test database)."""
    import psycopg
    from django.conf import settings
    from django.core.management import call_command

    database = settings.DATABASES["default"]
    if database["ENGINE"] != "django.db.backends.postgresql":
        raise SystemExit("the benchmarks run on PostgreSQL: set DATABASE_URL=postgres://…")
    name = database["NAME"]
    if name.startswith("test_") or name == "health_ci":
        raise SystemExit(f"refusing to benchmark on {name!r}: use a database of its own (default health_bench)")
    params = {
        "host": database.get("HOST") or "127.0.0.1",
        "port": database.get("PORT") or 5432,
        "user": database.get("USER") or "postgres",
        "password": database.get("PASSWORD") or None,
        "dbname": "postgres",
        "autocommit": True,
    }
    with psycopg.connect(**{k: v for k, v in params.items() if v is not None}) as connection:
        exists = connection.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
        if not exists:
            say(f"creating database {name}")
            connection.execute(f'CREATE DATABASE "{name}"')
    call_command("migrate", verbosity=0, interactive=False)


def population_ensure(persons: int) -> int:
    """At least `persons` generated persons with computed statuses; returns the number of statuses."""
    from devtools.population import persons_generated, population_generate
    from health.models import HealthStatus

    have = persons_generated()
    if have < persons:
        say(f"generating {persons - have} persons (have {have}); this is done once per database")
        started = time.monotonic()
        population_generate(persons=persons - have, progress=lambda m: say(f"  {m} ({time.monotonic() - started:.0f} s)"))
    return HealthStatus.objects.count()


def child_env(**extra: str) -> dict:
    env = dict(os.environ)
    env["DJANGO_SETTINGS_MODULE"] = "devtools.bench.settings"
    env.setdefault("PYTHONUNBUFFERED", "1")
    env.update({k: str(v) for k, v in extra.items()})
    return env


@contextmanager
def child(args: list[str], *, name: str, env: dict | None = None, log: Path | None = None):
    """A child process for the duration of a benchmark; stopped (its own process group) afterwards."""
    log = log or (ROOT / "var" / f"bench-{name}.log")
    log.parent.mkdir(exist_ok=True)
    with open(log, "wb") as output:
        process = subprocess.Popen(
            args, cwd=ROOT, env=env or child_env(), stdout=output, stderr=subprocess.STDOUT, start_new_session=True
        )
        try:
            yield process
        finally:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
                try:
                    process.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    os.killpg(process.pid, signal.SIGKILL)
                    process.wait()


def celery_worker(*, concurrency: int, queue: str, name: str = "worker", env: dict | None = None):
    """A Celery worker (prefork) consuming `queue`, as `celery -A config worker` runs in production."""
    return child(
        [
            PYTHON, "-m", "celery", "-A", "config", "worker", "--loglevel", "WARNING", "--pool", "prefork",
            "--concurrency", str(concurrency), "--queues", queue, "--hostname", f"{name}-{os.getpid()}@%h",
            "--without-gossip", "--without-mingle", "--without-heartbeat", "--prefetch-multiplier", "1",
        ],  # fmt: skip
        name=name,
        env=env,
    )


def workers_wait(expected: int, *, timeout: float = 60.0) -> None:
    from config.celery_app import app

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        replies = app.control.ping(timeout=1.0) or []
        if len(replies) >= expected:
            return
        time.sleep(0.5)
    raise SystemExit("the Celery worker did not start (see var/bench-worker.log)")


def queue_purge(queue: str) -> None:
    from config.celery_app import app

    with app.connection_for_write() as connection:
        connection.default_channel.queue_purge(queue)


def orm_loop_seconds_per_person(person_ids: list[int]) -> float:
    """The naive baseline: per person, read its row, load its facts, evaluate, save the row (ORM only)."""
    from django.db import transaction
    from django.utils import timezone

    from health import registry
    from health.engine import evaluate
    from health.models import HealthStatus
    from health.services.statuses import policy_current, risk_areas_current

    now = timezone.now()
    policy = policy_current()
    risks = risk_areas_current(now=now, policy=policy)
    started = time.perf_counter()
    for person_id in person_ids:
        with transaction.atomic():
            status = HealthStatus.objects.select_for_update().get(person_id=person_id)
            decision = evaluate(registry.facts_for([person_id])[person_id], now=now, policy=policy, risk_areas=risks)
            status.status = decision.status
            status.reasons = list(decision.reasons)
            status.valid_until = decision.valid_until
            status.computed_at = now
            status.policy_version = decision.policy_version
            status.needs_review = "nat_positive" in decision.review_flags
            status.save()
    return (time.perf_counter() - started) / max(1, len(person_ids))


def proc_peak_rss_mib(pid: int) -> float:
    """VmHWM (the peak resident set) of a process and its children, in MiB."""
    total = 0
    pids = [pid]
    try:
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
        pids += [int(c) for c in children]
    except OSError:
        pass
    for one in pids:
        try:
            for line in Path(f"/proc/{one}/status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    total += int(line.split()[1])
        except OSError:
            continue
    return round(total / 1024, 1)


def tables_vacuum(*tables: str) -> None:
    """VACUUM ANALYZE, as autovacuum does between two runs: each run leaves a million dead status rows."""
    from django.db import connection

    with connection.cursor() as cursor:
        for table in tables:
            cursor.execute(f"VACUUM ANALYZE {connection.ops.quote_name(table)}")


def proc_cpu_seconds(pid: int) -> float:
    """User + system CPU seconds used so far by a process and its live children."""
    ticks = os.sysconf("SC_CLK_TCK")
    pids = [pid]
    try:
        pids += [int(c) for c in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        pass
    total = 0
    for one in pids:
        try:
            fields = Path(f"/proc/{one}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / ticks


def machine_cpu_busy() -> tuple[float, float]:
    """(busy, all) CPU seconds of the whole machine since boot, from /proc/stat: their differences give its load."""
    ticks = os.sysconf("SC_CLK_TCK")
    fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = fields[3] + fields[4]  # idle, iowait
    return (sum(fields) - idle) / ticks, sum(fields) / ticks
