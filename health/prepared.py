"""Querysets compiled once and run many times with other values: for the few reads on the hottest path.

Django compiles a queryset's SQL on every evaluation; for a join with `select_related` that is
about 0.3 ms of Python, more than the indexed read it describes. `Prepared(build)` compiles the
queryset `build(placeholder)` once per database connection and then runs the same SQL with the
real value, converting each row with the ORM's own converters (JSON, times, booleans: the values
are exactly those of the queryset). Only for querysets whose SQL does not depend on the value —
a plain filter on one column, no `IN` list whose length varies.

On PostgreSQL the statement is also prepared on the server (`PREPARED_STATEMENTS`, on by default):
parsed and planned once per connection instead of per read — the backend's CPU for the public
status read went from ~135 to ~42 µs (measured). Django leaves psycopg's prepared statements off
for the sake of connection poolers; turn this off behind a pooler in transaction mode that does
not keep them (PgBouncer before 1.21).
With `CONN_HEALTH_CHECKS`, Django checks a kept connection (`SELECT 1`) before the first query of
each request: a second round trip on the public status query, whose only query this is. Here the
read goes first instead; a kept connection that the server has dropped fails it, and the read is
made again, once, on a new connection (a read: safe to repeat). The guarantee is the same — no failed
request after a database restart — for one round trip instead of two. Inside a transaction the
check is Django's, as before.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, InterfaceError, OperationalError, connections
from django.db.models import QuerySet

_PLACEHOLDER = "\x1fprepared-placeholder\x1f"


class Prepared:
    def __init__(self, build: Callable[[Any], QuerySet], *, using: str = DEFAULT_DB_ALIAS):
        self.build = build
        self.using = using
        self.attribute = f"_prepared_{id(self)}"

    def _compiled(self, connection):
        # Per connection (a thread's own): a compiler keeps the connection it was made for.
        compiled = getattr(connection, self.attribute, None)
        if compiled is None:
            queryset = self.build(_PLACEHOLDER)
            compiler = queryset.query.get_compiler(using=connection.alias)
            sql, params = compiler.as_sql()
            positions = [index for index, param in enumerate(params) if param == _PLACEHOLDER]
            if len(positions) != 1:
                raise ValueError("a prepared queryset takes its value exactly once")
            converters = compiler.get_converters([column[0] for column in compiler.select[: compiler.col_count]])
            compiled = (compiler, converters, sql, tuple(params), positions[0])
            setattr(connection, self.attribute, compiled)
        return compiled

    def rows(self, value: Any, *, using: str | None = None) -> list[tuple]:
        """The rows of the queryset built for `value` (tuples of its `values_list` fields), read
        on `using` (a replica, health/replicas.py) or the database the statement was made for."""
        connection = connections[using or self.using]
        compiler, converters, sql, params, position = self._compiled(connection)
        params = (*params[:position], value, *params[position + 1 :])
        unchecked = _check_deferred(connection)
        try:
            fetched = _fetch(connection, sql, params, check=not unchecked)
        except (OperationalError, InterfaceError):
            if not unchecked:
                raise
            # The kept connection was dropped (a restart, an idle timeout): what the check would have found.
            connection.close()
            fetched = _fetch(connection, sql, params, check=True)
        if unchecked:
            connection.health_check_done = True
        if not converters:
            return fetched
        return [tuple(row) for row in compiler.apply_converters(fetched, converters)]


def _check_deferred(connection) -> bool:
    """Whether this read goes before the connection's health check (and is retried if it fails)."""
    return (
        connection.vendor == "postgresql"
        and settings.PREPARED_STATEMENTS
        and connection.connection is not None
        and connection.health_check_enabled
        and not connection.health_check_done
        and not connection.in_atomic_block
    )


def _fetch(connection, sql: str, params: tuple, *, check: bool) -> list[tuple]:
    with _cursor(connection, check=check) as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def _cursor(connection, *, check: bool = True):
    """Django's cursor; on PostgreSQL over a psycopg cursor that binds on the server and prepares.

    Either way the wrapper is Django's own (health check, error wrapping, the query log and the
    execute wrappers that count queries in the tests).
    """
    if connection.vendor != "postgresql" or not settings.PREPARED_STATEMENTS:
        return connection.cursor()
    if check:
        connection.close_if_health_check_failed()
    connection.ensure_connection()
    if connection.connection.prepare_threshold is None:
        # Django turns psycopg's preparing off (threshold None), which also refuses an explicit
        # prepare=True. Only this cursor class asks for it: Django's own cursors bind on the client
        # and never prepare, and the threshold is too high for anything to be prepared unasked.
        connection.connection.prepare_threshold = _NEVER_UNASKED
    with connection.wrap_database_errors:
        # What BaseDatabaseWrapper._cursor does, with another psycopg cursor class.
        return connection._prepare_cursor(_preparing_cursor_class()(connection.connection))


_PREPARING = None
_NEVER_UNASKED = 2**31 - 1


def _preparing_cursor_class():
    global _PREPARING
    if _PREPARING is None:
        from django.db.backends.postgresql.base import ServerBindingCursor

        class PreparingCursor(ServerBindingCursor):
            # Django's wrapper calls execute(sql, params): prepare on the server from the first call.
            def execute(self, query, params=None, *, prepare=True, binary=None):
                return super().execute(query, params, prepare=prepare, binary=binary)

        _PREPARING = PreparingCursor
    return _PREPARING
