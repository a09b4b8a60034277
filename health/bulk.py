"""Bulk writes at database speed: COPY into PostgreSQL, batched multi-row statements on SQLite.

Callers hand over plain Python values (datetimes aware, JSON already dumped to text, booleans);
this module adapts them to the backend. It bypasses model validation on purpose: every caller
validates its rows in full first (feeds) or builds them from trusted data (the generator, the
recompute's own decisions).
"""
from __future__ import annotations

import itertools
from collections.abc import Iterable, Iterator, Sequence
from datetime import date, datetime

from django.db import connection as default_connection
from django.db import connections
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import Field, ForeignObject, Lookup

# SQLite: rows per executemany; large enough to amortise, small enough to keep memory flat.
SQLITE_BATCH = 2000


def is_postgresql(connection: BaseDatabaseWrapper | None = None) -> bool:
    return (connection or default_connection).vendor == "postgresql"


def batched(items: Iterable, size: int) -> Iterator[list]:
    iterator = iter(items)
    while chunk := list(itertools.islice(iterator, size)):
        yield chunk


def _quoted(connection: BaseDatabaseWrapper, names: Sequence[str]) -> str:
    return ", ".join(connection.ops.quote_name(name) for name in names)


def _sqlite_value(connection: BaseDatabaseWrapper, value):
    # Django keeps SQLite datetimes as naive UTC text; the sqlite3 default adapter would keep the offset.
    if isinstance(value, datetime):
        return connection.ops.adapt_datetimefield_value(value)
    if isinstance(value, date):
        return connection.ops.adapt_datefield_value(value)
    return value


def copy_rows(
    table: str,
    columns: Sequence[str],
    rows: Iterable[Sequence],
    *,
    connection: BaseDatabaseWrapper | None = None,
) -> int:
    """Append rows to `table` (COPY on PostgreSQL, executemany elsewhere); the number of rows written."""
    connection = connection or default_connection
    count = 0
    with connection.cursor() as cursor:
        if is_postgresql(connection):
            statement = f"COPY {connection.ops.quote_name(table)} ({_quoted(connection, columns)}) FROM STDIN"
            with cursor.cursor.copy(statement) as copy:
                for row in rows:
                    copy.write_row(row)
                    count += 1
            return count
        placeholders = ", ".join(["%s"] * len(columns))
        statement = f"INSERT INTO {connection.ops.quote_name(table)} ({_quoted(connection, columns)}) VALUES ({placeholders})"
        for chunk in batched(rows, SQLITE_BATCH):
            cursor.executemany(statement, [[_sqlite_value(connection, value) for value in row] for row in chunk])
            count += len(chunk)
    return count


def copy_text(
    table: str,
    columns: Sequence[str],
    blocks: Iterable[str | bytes],
    *,
    connection: BaseDatabaseWrapper | None = None,
) -> None:
    """Stream rows already in PostgreSQL's COPY text format (tab-separated, `\\N` for NULL, one a line) into `table`.

    For rows formatted where they are made (the feed's checking processes): the server parses
    them, this process only passes the blocks on. PostgreSQL only.
    """
    connection = connection or default_connection
    statement = f"COPY {connection.ops.quote_name(table)} ({_quoted(connection, columns)}) FROM STDIN"
    with connection.cursor() as cursor, cursor.cursor.copy(statement) as copy:
        for block in blocks:
            copy.write(block)


def temp_table_create(name: str, columns_sql: str, *, connection: BaseDatabaseWrapper | None = None) -> None:
    """A PostgreSQL temporary table for the current transaction (dropped at commit, or by temp_table_drop).

    Created and dropped per use rather than kept per session: an enclosing transaction (a test,
    a feed imported in one transaction) never finds rows of an earlier batch in it.
    """
    connection = connection or default_connection
    with connection.cursor() as cursor:
        cursor.execute(f"CREATE TEMPORARY TABLE {connection.ops.quote_name(name)} ({columns_sql}) ON COMMIT DROP")


def temp_table_drop(name: str, *, connection: BaseDatabaseWrapper | None = None) -> None:
    connection = connection or default_connection
    with connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE IF EXISTS {connection.ops.quote_name(name)}")


def sequence_reserve(table: str, count: int, *, connection: BaseDatabaseWrapper | None = None) -> int:
    """Reserve `count` consecutive primary keys of `table`; returns the first.

    PostgreSQL: the identity sequence is advanced by `count` in one statement (setval under a
    table lock, so that concurrent inserts take keys after the block). SQLite: the next key
    after the current maximum (the caller's transaction holds the write lock).
    """
    connection = connection or default_connection
    quoted = connection.ops.quote_name(table)
    with connection.cursor() as cursor:
        if is_postgresql(connection):
            cursor.execute(f"LOCK TABLE {quoted} IN SHARE ROW EXCLUSIVE MODE")
            cursor.execute(
                "SELECT pg_get_serial_sequence(%s, 'id')",
                [table],
            )
            (sequence,) = cursor.fetchone()
            cursor.execute(f"SELECT GREATEST((SELECT COALESCE(MAX(id), 0) FROM {quoted}), (SELECT last_value FROM {sequence}))")
            (last,) = cursor.fetchone()
            cursor.execute("SELECT setval(%s, %s)", [sequence, last + count])
            return last + 1
        cursor.execute(f"SELECT COALESCE(MAX(id), 0) FROM {quoted}")
        (last,) = cursor.fetchone()
        return last + 1


class IdArray:
    """Integer keys for `any_of`, prepared once: not iterable, so the ORM does not walk thousands of values."""

    __slots__ = ("ids", "literal")

    def __init__(self, ids) -> None:
        self.ids = [int(pk) for pk in ids]
        self.literal = "{" + ",".join(map(str, self.ids)) + "}"

    def __len__(self) -> int:
        return len(self.ids)


class AnyOf(Lookup):
    """`pk_field__any_of=IdArray(ids)` (or a list of ints): one array parameter on PostgreSQL, IN elsewhere.

    A batch of thousands of ids as one `= ANY('{...}'::bigint[])` costs the client and the server
    one value to quote and parse instead of thousands of placeholders (the IN list was a third of
    a batch's time). Integer keys only.
    """

    lookup_name = "any_of"
    prepare_rhs = False

    def as_sql(self, compiler, connection):
        lhs, lhs_params = self.process_lhs(compiler, connection)
        ids = self.rhs if isinstance(self.rhs, IdArray) else IdArray(self.rhs)
        if connection.vendor == "postgresql":
            return f"{lhs} = ANY(%s::bigint[])", [*lhs_params, ids.literal]
        if not ids.ids:
            return "1 = 0", list(lhs_params)
        return f"{lhs} IN ({', '.join(['%s'] * len(ids.ids))})", [*lhs_params, *ids.ids]


Field.register_lookup(AnyOf)
# Foreign keys keep lookups of their own: register there too, so that `person_id__any_of` works.
ForeignObject.register_lookup(AnyOf)


def _fast_loaders():
    import psycopg
    from psycopg.pq import Format
    from psycopg.types.json import JsonbLoader, JsonLoader

    timestamptz = psycopg.postgres.types["timestamptz"].oid
    return {
        "timestamptz": psycopg.adapters.get_loader(timestamptz, Format.TEXT),
        "jsonb": JsonbLoader,
        "json": JsonLoader,
    }


_LOADERS: dict | None = None


def rows(queryset) -> list[tuple]:
    """The rows of a `values_list` queryset as plain tuples, read at the driver's speed on PostgreSQL.

    Django's per-connection timestamp loader is written in Python (about 5 µs a value) and its
    JSON columns are parsed a second time per row; for the millions of rows a full recompute
    reads, the statement compiled by the ORM is run on a cursor with psycopg's own C loaders
    instead (the session time zone is UTC, as Django sets it, so the values are the same). On
    other backends the queryset is simply evaluated.
    """
    global _LOADERS
    connection = connections[queryset.db]
    if not is_postgresql(connection):
        return list(queryset)
    if _LOADERS is None:
        _LOADERS = _fast_loaders()
    sql, params = queryset.query.sql_with_params()
    # Django's cursor keeps the query log and the execute wrappers; the loaders are the cursor's own.
    with connection.cursor() as cursor:
        for name, loader in _LOADERS.items():
            cursor.cursor.adapters.register_loader(name, loader)
        cursor.execute(sql, params)
        return cursor.cursor.fetchall()


def rows_many(querysets: Sequence) -> list[list[tuple]]:
    """`rows()` of several `values_list` querysets of one database, in one round trip on PostgreSQL.

    The statements are sent together in psycopg's pipeline mode and run by the server in the
    order given (each sees what the one before it saw, as when sent one by one); their results
    are read afterwards. A person's recompute reads its facts with a handful of small statements
    whose time is mostly the wait for each answer: one wait instead of one per statement.
    Django's cursors carry them (query log, execute wrappers). Elsewhere: one after the other.
    """
    if not querysets:
        return []
    connection = connections[querysets[0].db]
    if not is_postgresql(connection) or len(querysets) == 1:
        return [rows(queryset) for queryset in querysets]
    return statements_rows(connection, [queryset.query.sql_with_params() for queryset in querysets])


def statements_rows(connection: BaseDatabaseWrapper, compiled: Sequence[tuple[str, Sequence]]) -> list[list[tuple]]:
    """`rows_many()` of statements already compiled (SQL and parameters), on PostgreSQL."""
    global _LOADERS
    if _LOADERS is None:
        _LOADERS = _fast_loaders()
    connection.ensure_connection()
    cursors = [connection.cursor() for _ in compiled]
    try:
        with connection.wrap_database_errors, connection.connection.pipeline():
            for cursor, (sql, params) in zip(cursors, compiled, strict=True):
                for name, loader in _LOADERS.items():
                    cursor.cursor.adapters.register_loader(name, loader)
                cursor.execute(sql, params)
            return [cursor.cursor.fetchall() for cursor in cursors]
    finally:
        for cursor in cursors:
            cursor.close()


def pipeline(connection: BaseDatabaseWrapper | None = None):
    """psycopg's pipeline mode on PostgreSQL (statements sent without waiting for each answer;
    no COPY inside), nothing elsewhere."""
    from contextlib import nullcontext

    connection = connection or default_connection
    if not is_postgresql(connection):
        return nullcontext()
    connection.ensure_connection()
    return connection.connection.pipeline()


def insert_rows(
    table: str, columns: Sequence[str], rows: Sequence[Sequence], *, connection: BaseDatabaseWrapper | None = None
) -> int:
    """A few rows by one executemany INSERT (one round trip in a pipeline, where a COPY takes two)."""
    connection = connection or default_connection
    placeholders = ", ".join(["%s"] * len(columns))
    statement = f"INSERT INTO {connection.ops.quote_name(table)} ({_quoted(connection, columns)}) VALUES ({placeholders})"
    with connection.cursor() as cursor:
        cursor.executemany(statement, [[_sqlite_value(connection, value) for value in row] for row in rows])
    return len(rows)
