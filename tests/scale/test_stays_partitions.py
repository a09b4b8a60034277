"""Stays partitioned by month on PostgreSQL: the migration keeps every row, partitions are made ahead,
strays in the default partition move into their month's own."""

from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from health import partitions
from health.models import ItineraryStay
from health.services.persons import person_resolve
from tests import factories

pytestmark = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="partitions are PostgreSQL's; SQLite keeps a plain table"
)

BEFORE = [("health", "0007_stay_purge_runs")]
COLUMNS = "id, person_id, region_id, arrived_at, left_at, source, received_at"


def rows() -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {COLUMNS} FROM health_itinerarystay ORDER BY id")
        return cursor.fetchall()


def migrate(targets) -> None:
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)


def latest() -> list[tuple[str, str]]:
    executor = MigrationExecutor(connection)
    return [key for key in executor.loader.graph.leaf_nodes() if key[0] == "health"]


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_the_migration_converts_the_table_and_back_without_losing_a_row():
    person = person_resolve(**factories.person_payload())
    migrate(BEFORE)
    assert not partitions.is_partitioned()
    months = [datetime(2025, 11, 3, tzinfo=UTC), datetime(2026, 2, 27, 23, tzinfo=UTC), datetime(2026, 12, 1, tzinfo=UTC)]
    with connection.cursor() as cursor:
        for index, arrived in enumerate(months):
            cursor.execute(
                "INSERT INTO health_itinerarystay (person_id, region_id, arrived_at, left_at, source, received_at) "
                "VALUES (%s, %s, %s, %s, 'platform', now())",
                [person.pk, "110105" if index % 2 else "120101", arrived, arrived + timedelta(hours=5)],
            )
        cursor.execute("DELETE FROM health_itinerarystay WHERE arrived_at = %s", [months[1]])  # a gap in the ids
        cursor.execute(
            "INSERT INTO health_itinerarystay (person_id, region_id, arrived_at, left_at, source, received_at) "
            "VALUES (%s, '130102', %s, NULL, 'platform', now())",
            [person.pk, months[1]],
        )
    before = rows()

    migrate(latest())

    assert partitions.is_partitioned()
    assert rows() == before
    names = {partition.name for partition in partitions.stays_partitions()}
    assert {"health_itinerarystay_y2025m11", "health_itinerarystay_y2026m02", "health_itinerarystay_y2026m12"} <= names
    assert partitions.DEFAULT in names
    # New rows get ids after every id given before, gaps included.
    stay = ItineraryStay.objects.create(
        person=person, region_id="110105", arrived_at=months[2] + timedelta(days=1), left_at=None
    )
    assert stay.pk > max(row[0] for row in before)

    migrate(BEFORE)
    assert not partitions.is_partitioned()
    assert rows()[:-1] == before
    migrate(latest())
    assert partitions.is_partitioned()


@pytest.mark.django_db
def test_partitions_are_made_ahead_and_strays_move_out_of_the_default_partition():
    person = person_resolve(**factories.person_payload())
    far = datetime(2031, 5, 20, 8, tzinfo=UTC)
    stray = ItineraryStay.objects.create(person=person, region_id="110105", arrived_at=far, left_at=far + timedelta(hours=6))
    assert _partition_of(stray.pk) == partitions.DEFAULT

    made = partitions.stays_partitions_ensure(now=far, months_ahead=1)

    assert made == ["health_itinerarystay_y2031m04", "health_itinerarystay_y2031m05", "health_itinerarystay_y2031m06"]
    assert _partition_of(stray.pk) == "health_itinerarystay_y2031m05"
    assert ItineraryStay.objects.get(pk=stray.pk).arrived_at == far
    assert partitions.stays_partitions_ensure(now=far, months_ahead=1) == []  # idempotent


@pytest.mark.django_db
def test_the_feed_upserts_into_partitions():
    from health.services.itinerary import StayInput, stays_ingest

    payload = factories.person_payload()
    arrived = datetime.now(UTC) - timedelta(days=2)
    stay = StayInput(name=payload["name"], id_number=payload["id_number"], region_code="120101", arrived_at=arrived, left_at=None)
    assert stays_ingest(actor=None, stays=[stay]) == 1
    left = StayInput(**{**stay.__dict__, "left_at": arrived + timedelta(hours=8)})
    assert stays_ingest(actor=None, stays=[left]) == 1
    (stored,) = ItineraryStay.objects.all()
    assert stored.left_at == arrived + timedelta(hours=8)
    assert _partition_of(stored.pk) == partitions.partition_name(partitions.month_start(arrived))


def _partition_of(pk: int) -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT tableoid::regclass::text FROM health_itinerarystay WHERE id = %s", [pk])
        return cursor.fetchone()[0]


# --- the purge drops whole months ------------------------------------------------------------------
PURGE_NOW = datetime(2022, 6, 15, 4, tzinfo=UTC)  # horizon 2022-05-16 04:00 (28 days + 2 of margin)


def stay(person, region: str, arrived: datetime, hours: float | None) -> ItineraryStay:
    left = None if hours is None else arrived + timedelta(hours=hours)
    return ItineraryStay.objects.create(person=person, region_id=region, arrived_at=arrived, left_at=left)


def months_of_2022() -> None:
    partitions.stays_partitions_cover(datetime(2022, 1, 1, tzinfo=UTC), datetime(2022, 7, 1, tzinfo=UTC))


@pytest.mark.django_db
def test_a_month_no_evaluation_can_see_is_dropped_whole_and_the_edge_month_purged_by_rows():
    from health.purge import stays_purge

    months_of_2022()
    person = person_resolve(**factories.person_payload())
    march = [stay(person, "120101", datetime(2022, 3, day, tzinfo=UTC), 30) for day in (2, 9, 20)]
    in_may_before_horizon = stay(person, "130102", datetime(2022, 5, 3, tzinfo=UTC), 20)
    in_may_after_horizon = stay(person, "130102", datetime(2022, 5, 20, tzinfo=UTC), 20)

    deleted = stays_purge(now=PURGE_NOW)

    names = {partition.name for partition in partitions.stays_partitions()}
    # March (three records) and the empty months before the horizon are dropped; May holds the horizon.
    assert not names & {f"health_itinerarystay_y2022m0{month}" for month in (1, 2, 3, 4)}
    assert {"health_itinerarystay_y2022m05", "health_itinerarystay_y2022m06"} <= names
    assert deleted == len(march) + 1
    assert set(ItineraryStay.objects.values_list("pk", flat=True)) == {in_may_after_horizon.pk}
    assert not ItineraryStay.objects.filter(pk=in_may_before_horizon.pk).exists()


@pytest.mark.django_db
def test_a_month_holding_a_record_of_a_stay_that_goes_on_is_not_dropped():
    from health.purge import stays_purge

    months_of_2022()
    resident, other = (person_resolve(**factories.person_payload(name)) for name in ("张三", "李四"))
    # The resident's March record touches an April one that is still going on: one merged stay, kept whole.
    kept_march = stay(resident, "110105", datetime(2022, 3, 25, tzinfo=UTC), 24 * 7)
    going_on = stay(resident, "110105", datetime(2022, 4, 1, tzinfo=UTC), None)
    gone = stay(other, "110105", datetime(2022, 3, 25, tzinfo=UTC), 24)

    stays_purge(now=PURGE_NOW)

    assert "health_itinerarystay_y2022m03" in {partition.name for partition in partitions.stays_partitions()}
    assert set(ItineraryStay.objects.values_list("pk", flat=True)) == {kept_march.pk, going_on.pk}
    assert not ItineraryStay.objects.filter(pk=gone.pk).exists()


@pytest.mark.django_db
def test_a_month_holding_a_record_merged_through_a_municipal_synonym_is_not_dropped():
    from health.purge import stays_purge

    months_of_2022()
    resident = person_resolve(**factories.person_payload())
    # 110000 and 110100 are one place for the rules: the March record is part of a stay that goes on.
    kept_march = stay(resident, "110000", datetime(2022, 3, 28, tzinfo=UTC), 24 * 5)
    going_on = stay(resident, "110100", datetime(2022, 4, 2, tzinfo=UTC), None)

    stays_purge(now=PURGE_NOW)

    assert "health_itinerarystay_y2022m03" in {partition.name for partition in partitions.stays_partitions()}
    assert set(ItineraryStay.objects.values_list("pk", flat=True)) == {kept_march.pk, going_on.pk}
