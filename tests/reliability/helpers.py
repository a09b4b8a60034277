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

    def __init__(self, *, broker_url: str, queue: str) -> None:
        self.broker_url, self.queue = broker_url, queue
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
