"""Public status queries under gunicorn against PostgreSQL, driven by wrk on loopback for a bounded time.

Figure: requests per second of the real endpoint (POST /api/v1/status/query/: validation,
throttling on Redis, middleware, the fresh-status read). Baseline, same server and config, same
run: the hand-written lookup of `devtools/bench/wsgi.py` (no Django, no middleware: HMAC of the ID number,
one select prepared on the server on a raw psycopg cursor, JSON): `ratio` = real / hand-written.
Also measured: the Django minimal view of `bench/views.py` (middleware, one select, JSON; the
former baseline, `ratio_vs_minimal_view`), the same with its select prepared
(`ratio_vs_prepared_baseline`), and a bare JSON view, the server's own ceiling.
"""
from __future__ import annotations

import json
import os
import random
import re
import shutil
import subprocess
import time
import urllib.request
from pathlib import Path

from devtools.bench.common import PYTHON, ROOT, child, child_env, database_ensure, emit, population_ensure, say

PORT = 8765
HANDWRITTEN = "/bench/handwritten-status/"


def add_arguments(parser) -> None:
    parser.add_argument("--persons", type=int, default=1_000_000)
    parser.add_argument("--duration", type=int, default=15, help="seconds per measured endpoint")
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--threads", type=int, default=2, help="wrk threads")
    parser.add_argument("--identities", type=int, default=20_000, help="distinct persons queried")
    parser.add_argument(
        "--replicas", type=int, choices=(0, 1), default=0,
        help="1: gunicorn reads from the streaming replica on this machine (scripts/replica.sh, port 5433)",
    )  # fmt: skip


def _replica_url(replicas: int) -> str:
    """The replica's URL for the benchmark's database, started if it is not running; '' for none."""
    if not replicas:
        return ""
    from django.conf import settings

    subprocess.run([str(ROOT / "scripts" / "replica.sh"), "start"], check=True, timeout=600)
    name = settings.DATABASES["default"]["NAME"]
    return subprocess.run(
        [str(ROOT / "scripts" / "replica.sh"), "url", name], check=True, capture_output=True, text=True
    ).stdout.strip()


def _replica_transactions(url: str) -> int:
    """Transactions the replica has served for its database so far (pg_stat_database)."""
    import psycopg

    with psycopg.connect(url, autocommit=True) as connection:
        return connection.execute(
            "SELECT xact_commit + xact_rollback FROM pg_stat_database WHERE datname = current_database()"
        ).fetchone()[0]


def _script(identities: int, persons: int) -> Path:
    from devtools.population import person_identity

    numbers = random.Random(3).sample(range(persons), min(identities, persons))
    bodies = [json.dumps(dict(zip(("name", "id_number"), person_identity(n), strict=True)), ensure_ascii=False) for n in numbers]
    lua = ROOT / "var" / "bench-lookup.lua"
    lua.parent.mkdir(exist_ok=True)
    quoted = ",\n".join("[==[" + body + "]==]" for body in bodies)
    lua.write_text(
        "local bodies = {\n" + quoted + "\n}\n"
        "local n = #bodies\nlocal i = 0\n"
        'wrk.method = "POST"\nwrk.headers["Content-Type"] = "application/json"\n'
        "function setup(thread) thread:set('offset', math.random(n)) end\n"
        "function init(args) i = tonumber(offset) or 0 end\n"
        "request = function()\n  i = (i % n) + 1\n  return wrk.format(nil, nil, nil, bodies[i])\nend\n",
        encoding="utf-8",
    )
    return lua


def _wrk(path: str, script: Path, options: dict, duration: int) -> dict:
    output = subprocess.run(
        [
            "wrk", f"-t{options['threads']}", f"-c{options['connections']}", f"-d{duration}s", "--latency",
            "--timeout", "5s", "-s", str(script), f"http://127.0.0.1:{PORT}{path}",
        ],  # fmt: skip
        capture_output=True,
        text=True,
        timeout=duration + 60,
        check=True,
    ).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))

    def ms(label: str) -> float:
        match = re.search(rf"\s{label}%\s+([\d.]+)(us|ms|s)\b", output)
        value, unit = float(match.group(1)), match.group(2)
        return value / 1000 if unit == "us" else value * 1000 if unit == "s" else value

    errors = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", output)
    socket_errors = re.search(r"Socket errors:.*", output)
    return {
        "rps": round(rps),
        "p50_ms": round(ms("50"), 2),
        "p99_ms": round(ms("99"), 2),
        "non_2xx": int(errors.group(1)) if errors else 0,
        "socket_errors": socket_errors.group(0) if socket_errors else "",
    }


def _queries_per_request(identity: tuple[str, str]) -> int:
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    client = Client(HTTP_HOST="127.0.0.1")
    body = {"name": identity[0], "id_number": identity[1]}
    client.post("/api/v1/status/query/", body, content_type="application/json")
    with CaptureQueriesContext(connection) as queries:
        response = client.post("/api/v1/status/query/", body, content_type="application/json")
    assert response.status_code == 200, response.status_code
    return len(queries)


def run(options: dict) -> None:
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is needed on loopback: apt-get install -y wrk")
    from devtools.population import person_identity

    database_ensure()
    total = population_ensure(options["persons"])
    script = _script(options["identities"], min(total, options["persons"]))
    # What the sweep does every few seconds in a deployment (no beat runs here): statuses past their
    # valid_until, or left dirty by an earlier benchmark, are recomputed before the clock starts, so
    # that the reads measure reads.
    from django.core.management import call_command

    call_command("recompute_statuses", "--due", "--inline", "--batch-size", "5000")
    call_command("recompute_statuses", "--dirty", "--inline", "--batch-size", "5000")
    queries = _queries_per_request(person_identity(0))
    from devtools.bench.pass_cost import pass_cpu_us

    pass_cost = pass_cpu_us()  # the signed pass's share of a query (issue 17: < 1 ms of CPU)
    replica = _replica_url(options["replicas"])
    env = child_env(GUNICORN_BIND=f"127.0.0.1:{PORT}", DATABASE_REPLICA_URLS=replica)
    served_before = _replica_transactions(replica) if replica else 0
    # The product's application with the hand-written lookup in front of it (devtools/bench/wsgi.py).
    gunicorn = [PYTHON, "-m", "gunicorn", "-c", "config/gunicorn.py", "devtools.bench.wsgi:application"]
    with child(gunicorn, name="gunicorn", env=env):
        deadline = time.monotonic() + 30
        while True:
            try:
                urllib.request.urlopen(urllib.request.Request(f"http://127.0.0.1:{PORT}/bench/hello/", data=b"{}"), timeout=2)
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise SystemExit("gunicorn did not start (see var/bench-gunicorn.log)") from None
                time.sleep(0.3)
        say("warming up")
        _wrk("/api/v1/status/query/", script, options, 3)
        _wrk("/bench/minimal-status/", script, options, 3)
        _wrk("/bench/minimal-status-prepared/", script, options, 3)
        _wrk(HANDWRITTEN, script, options, 3)
        # Interleaved, so that the machine's other load weighs on both alike.
        half = max(1, options["duration"] // 2)
        # The real endpoint's select is a server-side prepared statement (health/prepared.py); the
        # minimal view's is not. The same minimal view with its select prepared, for comparison.
        load = os.getloadavg()[0]
        hand_a = _wrk(HANDWRITTEN, script, options, half)
        minimal_a = _wrk("/bench/minimal-status/", script, options, half)
        prepared_a = _wrk("/bench/minimal-status-prepared/", script, options, half)
        real_a = _wrk("/api/v1/status/query/", script, options, half)
        real_b = _wrk("/api/v1/status/query/", script, options, half)
        prepared_b = _wrk("/bench/minimal-status-prepared/", script, options, half)
        minimal_b = _wrk("/bench/minimal-status/", script, options, half)
        hand_b = _wrk(HANDWRITTEN, script, options, half)
        load = (load + os.getloadavg()[0]) / 2
        bare = _wrk("/bench/hello/", script, options, max(3, half // 2))
    served_by_replica = _replica_transactions(replica) - served_before if replica else 0
    real = {"rps": (real_a["rps"] + real_b["rps"]) // 2, "p99_ms": max(real_a["p99_ms"], real_b["p99_ms"]),
            "p50_ms": (real_a["p50_ms"] + real_b["p50_ms"]) / 2, "non_2xx": real_a["non_2xx"] + real_b["non_2xx"]}  # fmt: skip
    minimal = {"rps": (minimal_a["rps"] + minimal_b["rps"]) // 2, "p99_ms": max(minimal_a["p99_ms"], minimal_b["p99_ms"]),
               "non_2xx": minimal_a["non_2xx"] + minimal_b["non_2xx"]}  # fmt: skip
    prepared = {"rps": (prepared_a["rps"] + prepared_b["rps"]) // 2, "non_2xx": prepared_a["non_2xx"] + prepared_b["non_2xx"]}
    hand = {"rps": (hand_a["rps"] + hand_b["rps"]) // 2, "p99_ms": max(hand_a["p99_ms"], hand_b["p99_ms"]),
            "non_2xx": hand_a["non_2xx"] + hand_b["non_2xx"]}  # fmt: skip
    ratio = real["rps"] / hand["rps"]
    say(f"real {real['rps']}/s p99 {real['p99_ms']} ms; hand-written {hand['rps']}/s: ratio {ratio:.3f} (load {load:.2f})")
    emit(
        {
            "benchmark": "lookup",
            "figure": real["rps"],
            "unit": "requests/s",
            "baseline": hand["rps"],
            "ratio": round(ratio, 3),
            "ratio_means": "real endpoint / hand-written lookup without Django (devtools/bench/wsgi.py), requests per second",
            "target": "ratio >= 0.8; p99 < 20 ms at 8 connections",
            "p50_ms": round(real["p50_ms"], 2),
            "p99_ms": real["p99_ms"],
            "baseline_p99_ms": hand["p99_ms"],
            "minimal_view_rps": minimal["rps"],
            "minimal_view_p99_ms": minimal["p99_ms"],
            "ratio_vs_minimal_view": round(real["rps"] / minimal["rps"], 3),
            "bare_json_rps": bare["rps"],
            "baseline_prepared_rps": prepared["rps"],
            "ratio_vs_prepared_baseline": round(real["rps"] / prepared["rps"], 3),
            "non_2xx": real["non_2xx"] + minimal["non_2xx"] + prepared["non_2xx"] + hand["non_2xx"],
            "load_average": round(load, 2),
            "queries_per_request": queries,
            "statuses": total,
            "connections": options["connections"],
            "replicas": options["replicas"],
            "replica_transactions": served_by_replica,
            **pass_cost,
            "met": ratio >= 0.8 and real["p99_ms"] < 20 and pass_cost["pass_new_cpu_us"] < 1000,
        }
    )
