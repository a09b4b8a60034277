"""Reads on PostgreSQL streaming replicas: which database serves a read, and when a replica is skipped.

`DATABASE_REPLICA_URLS` (settings) adds the aliases `replica_1`, `replica_2`, … . Only reads that
ask for a replica get one: the public status read (`read`) and staff list pages (`reads()`, through
the router). Everything else — every write, every read inside a transaction, the recomputation of
a stale status, the answer to a resident's own declaration — uses the primary.

A replica is used only while it is healthy, checked at most once per `REPLICA_CHECK_SECONDS` per
process: it answers, its WAL replay is not paused, it is streaming from the primary, and it lags by
no more than `REPLICA_MAX_LAG_SECONDS`. A read that fails on a replica marks it down and is run
again on the primary, so a replica that stops costs no failed request.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import random
import threading
import time
from collections.abc import Callable, Iterator
from contextvars import ContextVar
from typing import TypeVar

from django.conf import settings
from django.core.cache import cache
from django.db import DEFAULT_DB_ALIAS, InterfaceError, OperationalError, connections

logger = logging.getLogger(__name__)
T = TypeVar("T")

PRIMARY = DEFAULT_DB_ALIAS
# The alias that ORM reads without an explicit `using` go to (None: the primary); set by reads().
_read_alias: ContextVar[str | None] = ContextVar("replica_read_alias", default=None)

# Lag in seconds; replay paused; streaming from the primary. On a server that is not in recovery
# (a promoted standby, or a URL that names the primary itself) every read is current: lag 0. A
# standby that has replayed all it received is current (after a restart the receiver starts at the
# beginning of a segment, behind the replay position); otherwise the lag is the age of the last
# transaction replayed.
_HEALTH_SQL = """
SELECT
  CASE
    WHEN NOT pg_is_in_recovery() THEN 0
    WHEN pg_last_wal_receive_lsn() <= pg_last_wal_replay_lsn() THEN 0
    ELSE COALESCE(EXTRACT(EPOCH FROM clock_timestamp() - pg_last_xact_replay_timestamp()), 0)
  END,
  pg_is_in_recovery() AND pg_is_wal_replay_paused(),
  NOT pg_is_in_recovery() OR EXISTS (SELECT 1 FROM pg_stat_wal_receiver WHERE status = 'streaming')
"""


def replica_aliases() -> list[str]:
    return list(getattr(settings, "DATABASE_REPLICAS", ()))


class _Health:
    """Per process: when each replica was last checked and what was found."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.checked: dict[str, tuple[float, bool]] = {}

    def usable(self, alias: str) -> bool:
        now = time.monotonic()
        with self.lock:
            checked = self.checked.get(alias)
            if checked is not None and now - checked[0] < settings.REPLICA_CHECK_SECONDS:
                return checked[1]
            healthy, why = _probe(alias)
            if checked is None or checked[1] != healthy:
                if healthy:
                    logger.info("replica %s is in use", alias)
                else:
                    logger.warning("replica %s is skipped: %s", alias, why)
            self.checked[alias] = (now, healthy)
            return healthy

    def down(self, alias: str, why: str) -> None:
        with self.lock:
            previous = self.checked.get(alias)
            self.checked[alias] = (time.monotonic(), False)
        if previous is None or previous[1]:
            logger.warning("replica %s is skipped: %s", alias, why)

    def forget(self) -> None:
        with self.lock:
            self.checked.clear()


_health = _Health()


def _probe(alias: str) -> tuple[bool, str]:
    connection = connections[alias]
    try:
        with connection.cursor() as cursor:
            cursor.execute(_HEALTH_SQL)
            lag, paused, streaming = cursor.fetchone()
    except Exception as error:  # not answering, refused, or not allowed here (a test's databases)
        _close(alias)
        return False, f"no answer ({type(error).__name__})"
    if paused:
        return False, "WAL replay is paused"
    if not streaming:
        return False, "not streaming from the primary"
    if float(lag) > settings.REPLICA_MAX_LAG_SECONDS:
        return False, f"{float(lag):.1f} s behind the primary"
    return True, ""


def _close(alias: str) -> None:
    with contextlib.suppress(Exception):
        connections[alias].close()


def forget_health() -> None:
    """Check every replica again at its next use (tests; an operator's signal handler could too)."""
    _health.forget()


def read_alias() -> str:
    """The database for a read that may be served by a replica: a healthy replica, else the primary.

    Inside a transaction on the primary the read stays there: it must see that transaction's writes.
    """
    aliases = replica_aliases()
    if not aliases or connections[PRIMARY].in_atomic_block:
        return PRIMARY
    usable = [alias for alias in aliases if _health.usable(alias)]
    return random.choice(usable) if usable else PRIMARY


# --- a resident who has just changed their own facts reads from the primary ------------------------
def _pin_key(key: str) -> str:
    return f"replicas:primary:{key}"


def pin_to_primary(key: str) -> None:
    """The next reads for `key` (a person's digest) go to the primary until a replica has surely
    replayed the write: the resident who just declared sees their new status on every path."""
    if replica_aliases():
        cache.set(_pin_key(key), 1, timeout=max(1, int(settings.REPLICA_MAX_LAG_SECONDS) + 1))


def read_alias_for(key: str) -> str:
    alias = read_alias()
    if alias != PRIMARY and cache.get(_pin_key(key)):
        return PRIMARY
    return alias


# --- running a read ------------------------------------------------------------------------------
_FAILURES = (OperationalError, InterfaceError)


def read(function: Callable[[str], T], *, alias: str | None = None) -> T:
    """`function(alias)` on a replica (or `alias`, if given), again on the primary if the replica fails."""
    alias = alias or read_alias()
    if alias == PRIMARY:
        return function(PRIMARY)
    try:
        return function(alias)
    except _FAILURES as error:
        _health.down(alias, f"a read failed ({type(error).__name__})")
        _close(alias)
        return function(PRIMARY)


@contextlib.contextmanager
def _reading_from(alias: str | None) -> Iterator[None]:
    token = _read_alias.set(alias)
    try:
        yield
    finally:
        _read_alias.reset(token)


def reads(function: Callable[[], T], *, user=None) -> T:
    """`function()` with its ORM reads routed to a replica (staff list pages), with the same fallback.

    A staff member who has just changed something reads the primary (`PrimaryAfterWriteMiddleware`):
    the list they are sent back to shows their change."""
    alias = read_alias_for(_user_key(user)) if user is not None and user.is_authenticated else read_alias()
    return read(lambda alias: _run_reading_from(alias, function), alias=alias)


def _user_key(user) -> str:
    return f"user:{user.pk}"


class PrimaryAfterWriteMiddleware:
    """After a staff member's write (any unsafe method), their list reads go to the primary for a while."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if replica_aliases() and request.method not in ("GET", "HEAD", "OPTIONS"):
            user = getattr(request, "user", None)
            if user is not None and user.is_authenticated:
                pin_to_primary(_user_key(user))
        return response


def _run_reading_from(alias: str, function: Callable[[], T]) -> T:
    with _reading_from(None if alias == PRIMARY else alias):
        return function()


@contextlib.contextmanager
def primary() -> Iterator[None]:
    """Reads in this block go to the primary, even inside `reads()` (a recomputation, a write)."""
    with _reading_from(None):
        yield


def on_primary(function: Callable[..., T]) -> Callable[..., T]:
    """A function whose reads must see the primary (a recomputation reads facts it will store from)."""

    @functools.wraps(function)
    def wrapper(*args, **kwargs):
        with primary():
            return function(*args, **kwargs)

    return wrapper


class ReplicaRouter:
    """Writes and migrations on the primary; reads on the replica that `reads()` chose, if any."""

    def db_for_read(self, model, **hints):
        alias = _read_alias.get()
        if alias is None or connections[PRIMARY].in_atomic_block:
            return PRIMARY
        return alias

    def db_for_write(self, model, **hints):
        return PRIMARY

    def allow_relation(self, obj1, obj2, **hints):
        return True  # replicas are copies of the primary: the same rows

    def allow_migrate(self, db, app_label, model_name=None, **hints):
        return db == PRIMARY
