"""Itinerary stays partitioned by month of arrival on PostgreSQL (declarative range partitions).

The national platform's stays are the one table that grows with every person every day; the purge
removes a month of them as one `DROP TABLE` of its partition instead of millions of row deletes,
and the feed's upserts touch the indexes of recent months only. The partitions are made ahead by a
periodic task (`stays_partitions_ensure`); a default partition takes a stay of a month that has no
partition yet (a stray: a far-future typo, a month the task has not reached), and is emptied into
the month's own partition when that is made. SQLite keeps a plain table: every function here does
nothing there.

Bounds are UTC months: `[YYYY-MM-01 00:00 UTC, next month)`. The partitioned table's primary key is
`(id, arrived_at)` (PostgreSQL requires the partition key in it); `id` alone stays unique in practice
(one identity sequence) and is what Django uses.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.db import connection, transaction
from django.utils import timezone

TABLE = "health_itinerarystay"
DEFAULT = f"{TABLE}_default"
# The column list of the table, in its order: used to copy rows between tables.
COLUMNS = "id, arrived_at, left_at, source, received_at, person_id, region_id"


@dataclass(frozen=True)
class Partition:
    name: str
    lower: datetime | None  # None: the default partition
    upper: datetime | None


def month_start(moment: datetime) -> datetime:
    moment = moment.astimezone(UTC)
    return datetime(moment.year, moment.month, 1, tzinfo=UTC)


def month_next(start: datetime) -> datetime:
    return datetime(start.year + start.month // 12, start.month % 12 + 1, 1, tzinfo=UTC)


def partition_name(start: datetime) -> str:
    return f"{TABLE}_y{start.year:04d}m{start.month:02d}"


def is_partitioned() -> bool:
    if connection.vendor != "postgresql":
        return False
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_partitioned_table WHERE partrelid = %s::regclass", [TABLE])
        return cursor.fetchone() is not None


def stays_partitions() -> list[Partition]:
    """The partitions of the stays table, months in order, then the default one; [] when not partitioned."""
    if not is_partitioned():
        return []
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT child.relname, pg_get_expr(child.relpartbound, child.oid)
            FROM pg_inherits JOIN pg_class child ON child.oid = pg_inherits.inhrelid
            WHERE pg_inherits.inhparent = %s::regclass
            """,
            [TABLE],
        )
        rows = cursor.fetchall()
    months, default = [], []
    for name, bound in rows:
        if bound == "DEFAULT":
            default.append(Partition(name, None, None))
            continue
        lower = datetime.strptime(name[-8:], "y%Ym%m").replace(tzinfo=UTC)
        months.append(Partition(name, lower, month_next(lower)))
    return sorted(months, key=lambda partition: partition.lower) + default


def stays_partitions_ensure(*, now: datetime | None = None, months_ahead: int = 2) -> list[str]:
    """Make the partitions of last month (a feed sends stays of the past weeks), this month and
    `months_ahead` more, if missing; the names made.

    Idempotent. A stay already in the default partition for such a month is moved into the new
    partition in the same transaction (PostgreSQL refuses a partition whose rows sit in the default).
    """
    this_month = month_start(now or timezone.now())
    last_month = month_start(this_month - timedelta(days=1))
    upper = this_month
    for _ in range(months_ahead):
        upper = month_next(upper)
    return stays_partitions_cover(last_month, upper)


def stays_partitions_cover(lower: datetime, upper: datetime) -> list[str]:
    """Make the month partitions from `lower`'s month up to the one holding `upper` (a migration, a load)."""
    if not is_partitioned():
        return []
    existing = {partition.name for partition in stays_partitions()}
    made = []
    start = month_start(lower)
    while start <= upper:
        if partition_name(start) not in existing:
            _partition_create(start)
            made.append(partition_name(start))
        start = month_next(start)
    return made


@transaction.atomic
def _partition_create(start: datetime) -> None:
    end = month_next(start)
    name = partition_name(start)
    with connection.cursor() as cursor:
        # Strays of this month leave the default partition first, and come back into their own.
        cursor.execute(
            f"CREATE TEMPORARY TABLE stays_moving AS "
            f"WITH moved AS (DELETE FROM {DEFAULT} WHERE arrived_at >= %s AND arrived_at < %s RETURNING {COLUMNS}) "
            f"SELECT * FROM moved",
            [start, end],
        )
        cursor.execute(f"CREATE TABLE {name} PARTITION OF {TABLE} FOR VALUES FROM (%s) TO (%s)", [start, end])
        cursor.execute(f"INSERT INTO {TABLE} ({COLUMNS}) SELECT {COLUMNS} FROM stays_moving")
        cursor.execute("DROP TABLE stays_moving")


@transaction.atomic
def stays_partition_drop(partition: Partition) -> int:
    """Drop a month's partition with every row in it (the purge decides that none can still matter);
    the number of rows it held."""
    if partition.lower is None:
        raise ValueError("the default partition is never dropped")
    with connection.cursor() as cursor:
        # Deferred foreign-key checks of rows written in this transaction are run first (a table with
        # pending trigger events cannot be dropped); in the nightly purge there are none.
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cursor.execute(f"SELECT count(*) FROM {partition.name}")
        (rows,) = cursor.fetchone()
        cursor.execute(f"DROP TABLE {partition.name}")
        cursor.execute("SET CONSTRAINTS ALL DEFERRED")  # back to how the project's foreign keys start
    return rows
