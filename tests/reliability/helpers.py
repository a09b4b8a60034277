"""Real processes for the reliability tests: a Celery worker on the test database, a private Redis, a mute socket."""
from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path
from urllib.parse import quote

import kombu.pools
from django.db import connection

from config.celery_app import app

ROOT = Path(__file__).resolve().parent.parent.parent


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def current_database_url() -> str:
    """The URL of the database this test runs on (pytest-django's test_… database, not the configured one)."""
    db = connection.settings_dict
    credentials = quote(db["USER"] or "", safe="")
    if db["PASSWORD"]:
        credentials += ":" + quote(db["PASSWORD"], safe="")
    return f"postgres://{credentials}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


@contextlib.contextmanager
def eager_off():
    """Publish to the broker for real during the block (test settings run tasks eagerly)."""
    previous = app.conf.task_always_eager
    app.conf.task_always_eager = False
    try:
        yield
    finally:
        app.conf.task_always_eager = previous


def _drop_connection_pools() -> None:
    # What Celery itself does after a fork; kombu's registry keeps closed pools by URL, so clear it too.
    kombu.pools.reset()
    app._pool = None
    with contextlib.suppress(AttributeError, KeyError):
        app.__dict__["amqp"]._producer_pool = None


@contextlib.contextmanager
def broker(url: str):
    """Point this process's Celery app at another broker for the block."""
    # Celery reads CELERY_BROKER_URL from the environment before its own configuration.
    previous = app.conf.get("broker_url"), app.conf.get("broker_write_url"), os.environ.get("CELERY_BROKER_URL")
    _drop_connection_pools()
    app.conf.broker_url = app.conf.broker_write_url = url
    os.environ["CELERY_BROKER_URL"] = url
    try:
        yield
    finally:
        _drop_connection_pools()
        app.conf.broker_url, app.conf.broker_write_url = previous[0], previous[1]
        if previous[2] is None:
            os.environ.pop("CELERY_BROKER_URL", None)
        else:
            os.environ["CELERY_BROKER_URL"] = previous[2]


def queue_purge(broker_url: str, queue: str) -> None:
    with app.connection_for_write(broker_url) as conn:
        conn.default_channel.queue_purge(queue)


class Worker:
    """`celery -A config worker --pool solo` on one queue, on the test database; its log kept for failures."""

    def __init__(self, *, broker_url: str, queue: str, extra_env: dict | None = None) -> None:
        self.broker_url, self.queue = broker_url, queue
        self.extra_env = extra_env or {}
        self.name = f"test-{uuid.uuid4().hex[:8]}@%h"
        self.lines: list[str] = []
        self.ready = threading.Event()
        self.process: subprocess.Popen | None = None

    def start(self, timeout: float = 60) -> float:
        env = dict(os.environ)
        env.update(
            DJANGO_SETTINGS_MODULE="config.settings.local",
            DJANGO_DEBUG="0",
            DATABASE_URL=current_database_url(),
            CONN_MAX_AGE="0",
            CELERY_BROKER_URL=self.broker_url,
            PYTHONUNBUFFERED="1",
        )
        env.pop("REDIS_URL", None)
        env.update(self.extra_env)
        command = [sys.executable, "-m", "celery", "-A", "config", "worker", "--pool", "solo", "-Q", self.queue]
        command += ["-n", self.name, "--loglevel", "INFO", "--without-mingle", "--without-gossip", "--without-heartbeat"]
        started = time.monotonic()
        self.process = subprocess.Popen(
            command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, bufsize=1
        )
        threading.Thread(target=self._read, daemon=True).start()
        if not self.ready.wait(timeout):
            self.stop()
            raise AssertionError(f"worker not ready within {timeout} s:\n{self.log()}")
        return time.monotonic() - started

    def _read(self) -> None:
        assert self.process is not None and self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.append(line.rstrip())
            if " ready." in line:
                self.ready.set()

    def log(self) -> str:
        return "\n".join(self.lines[-60:])

    def kill(self) -> None:
        """SIGKILL: no warm shutdown, no acknowledgement, no cleanup (a power cut, the OOM killer)."""
        assert self.process is not None
        self.process.kill()
        self.process.wait(10)

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)  # warm shutdown: the current task finishes
        try:
            self.process.wait(15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(5)


class RedisServer:
    """A private redis-server on a spare port, started and stopped by the test."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self, timeout: float = 10) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            raise AssertionError("redis-server is not installed")
        self.process = subprocess.Popen(
            [binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", self.port), 0.2) as conn:
                conn.sendall(b"PING\r\n")
                if conn.recv(16).startswith(b"+PONG"):
                    return
            time.sleep(0.05)
        self.stop()
        raise AssertionError(f"redis-server on port {self.port} did not answer within {timeout} s")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(10)


@contextlib.contextmanager
def mute_server():
    """A TCP port that accepts connections and never answers: a broker that hangs rather than refuses."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(64)
    listener.settimeout(0.2)
    accepted: list[socket.socket] = []
    stopping = threading.Event()

    def accept() -> None:
        while not stopping.is_set():
            with contextlib.suppress(OSError):
                accepted.append(listener.accept()[0])

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield listener.getsockname()[1]
    finally:
        stopping.set()
        thread.join(2)
        for conn in accepted:
            conn.close()
        listener.close()


def wait_until(predicate, *, timeout: float, interval: float = 0.01, between=None) -> float | None:
    """Seconds until predicate() held, or None after `timeout`; `between()` runs before each poll."""
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        if between is not None:
            between()
        if predicate():
            return time.monotonic() - started
        time.sleep(interval)
    return None


def actor_env(**extra: str) -> dict:
    """The environment of a process started by a test: the test database, local settings, no shared cache."""
    env = dict(os.environ)
    env.update(
        DJANGO_SETTINGS_MODULE="config.settings.local",
        DJANGO_DEBUG="0",
        DATABASE_URL=current_database_url(),
        CONN_MAX_AGE="0",
        PYTHONUNBUFFERED="1",
        DJANGO_LOG_LEVEL="WARNING",
    )
    env.pop("REDIS_URL", None)
    env.update(extra)
    return env


def actor_start(*args: str, env: dict) -> subprocess.Popen:
    """`python -m tests.reliability.actors ARGS` (see actors.py), its output captured."""
    return subprocess.Popen(
        [sys.executable, "-m", "tests.reliability.actors", *map(str, args)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def engine_mismatches() -> list[tuple[int, str, str]]:
    """Every person whose stored status is dirty or differs from the engine's answer on the current data.

    The answer is computed here, independently of the pipeline: the loaders (registry.facts_for), the
    policy and risk areas in force, and the one engine, at this moment. Empty when all have converged.
    """
    from django.utils import timezone

    from health import registry
    from health.engine import evaluate
    from health.models import HealthStatus
    from health.services.statuses import policy_current, risk_areas_current

    now = timezone.now()
    policy = policy_current()
    risks = risk_areas_current(now=now, policy=policy)
    rows = {row.person_id: row for row in HealthStatus.objects.all()}
    facts = registry.facts_for(sorted(rows))
    wrong = []
    for pk, row in rows.items():
        decision = evaluate(facts[pk], now=now, policy=policy, risk_areas=risks)
        expected = f"{decision.status} {list(decision.reasons)}"
        stored = f"{row.status} {row.reasons}" + (" (dirty)" if row.dirty else "")
        if row.dirty or stored != expected:
            wrong.append((pk, stored, expected))
    return wrong


def status_events_monotonic() -> list[str]:
    """Per person, in the order StatusEvents were written: inputs versions never go back, each event
    starts where the previous one ended. Returns the violations (empty when none)."""
    from health.models import StatusEvent

    problems, last = [], {}
    for event in StatusEvent.objects.order_by("pk"):
        previous = last.get(event.person_id)
        if previous is not None:
            if event.inputs_version < previous.inputs_version:
                problems.append(f"person {event.person_id}: version {event.inputs_version} after {previous.inputs_version}")
            if (event.old_status, event.old_reasons) != (previous.new_status, previous.new_reasons):
                problems.append(f"person {event.person_id}: event {event.pk} does not start where {previous.pk} ended")
        last[event.person_id] = event
    return problems
