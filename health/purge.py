"""Keep no itinerary longer than the rules need: records of merged stays that ended before the retention horizon.

The horizon is `now - retention - margin`, where the retention (health.retention) is never shorter
than any window a policy published in the last 60 days, nor than RETENTION_FLOOR_DAYS. A record is
deleted only when the engine's own merge (`stays_unseen`) says that no evaluation, now or later,
can see it: every record of its merged stay (records of one region that touch or overlap) ended
before the horizon. Deleting the older record of a stay that goes on would move its arrival (and
could turn 核验失败 into 未见异常), so such a record is kept with its stay. The persons concerned
are not marked dirty: nothing deleted changes a decision or a `valid_until`.

Old records are found region by region on the (region, left_at) index, oldest first; for each batch
the persons' stays are read whole and decided with the engine, in one short transaction, so that
the platform's feed (which upserts stays) never waits long behind the purge.
"""
from __future__ import annotations

import time
from collections import defaultdict
from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from health import partitions
from health.engine import StayFact
from health.engine.regions import normalize
from health.engine.rules import stays_unseen
from health.models import ItineraryStay, Region, StayPurge
from health.retention import retention_days

MARGIN_DAYS = 2
BATCH = 5000


def stays_purge_horizon(*, now: datetime | None = None, margin_days: int = MARGIN_DAYS) -> datetime:
    now = now or timezone.now()
    return now - timedelta(days=retention_days(now=now) + margin_days)


def stays_purge(
    *,
    now: datetime | None = None,
    margin_days: int = MARGIN_DAYS,
    batch_size: int = BATCH,
    pause: float = 0.0,
    limit: int | None = None,
    drop_partitions: bool = True,
) -> int:
    """Delete the records of stays that ended before the horizon, a batch at a time; the number deleted.

    With `drop_partitions` (PostgreSQL's month partitions) whole months go first, one DROP each;
    without, every record is deleted by rows (the benchmark's baseline)."""
    now = now or timezone.now()
    retention = retention_days(now=now)
    horizon = now - timedelta(days=retention + margin_days)
    # Recorded (committed) before anything is deleted: from now on a policy whose window needs data
    # from before this horizon is refused (health.retention.window_days_check).
    run = StayPurge.objects.create(ran_at=now, horizon=horizon, retention_days=retention)
    # Whole months first, where no record in them can be seen (PostgreSQL's partitions: one DROP each).
    deleted = _partitions_drop(now=now, horizon=horizon) if drop_partitions else 0
    old = ItineraryStay.objects.filter(left_at__lt=horizon)
    region = ""
    while limit is None or deleted < limit:
        # The next region holding an old record: one step on the (region, left_at) index.
        region = old.filter(region_id__gt=region).order_by("region_id", "left_at").values_list("region_id", flat=True).first()
        if region is None:
            break
        # Within the region, oldest first, by keyset: records kept with a stay that goes on are passed over.
        last: tuple[datetime, int] | None = None
        while limit is None or deleted < limit:
            size = batch_size if limit is None else min(batch_size, limit - deleted)
            rows = old.filter(region_id=region).order_by("left_at", "pk")
            if last is not None:
                rows = rows.filter(left_at__gte=last[0]).exclude(left_at=last[0], pk__lte=last[1])
            batch = list(rows.values_list("left_at", "pk", "person_id")[:size])
            if not batch:
                break
            last = batch[-1][:2]
            deleted += _purge_persons({person_id for _left, _pk, person_id in batch}, now=now, horizon=horizon)
            if pause:
                time.sleep(pause)
    StayPurge.objects.filter(pk=run.pk).update(deleted=deleted)
    return deleted


@transaction.atomic
def _purge_persons(person_ids: set[int], *, now: datetime, horizon: datetime) -> int:
    """Delete every record of these persons that the engine says no evaluation can see any more."""
    doomed = _records_unseen(person_ids, now=now, horizon=horizon)
    if not doomed:
        return 0
    # Nothing refers to a stay and it sends no signals: Django deletes it with one DELETE.
    return ItineraryStay.objects.filter(pk__in=doomed, left_at__lt=horizon).delete()[0]


def _records_unseen(
    person_ids: set[int], *, now: datetime, horizon: datetime, regions: set[str] | None = None
) -> list[int]:
    """The ids of these persons' records that the engine says no evaluation can see any more.

    `regions`: only the records of these codes are read and decided (whole folded regions: the engine
    merges a person's records region by region, so the others cannot change these)."""
    records: dict[int, list[tuple[int, StayFact]]] = defaultdict(list)
    rows = ItineraryStay.objects.filter(person_id__in=sorted(person_ids))
    if regions is not None:
        rows = rows.filter(region_id__in=sorted(regions))
    rows = rows.order_by().values_list("pk", "person_id", "region_id", "arrived_at", "left_at")
    for pk, person_id, region, arrived_at, left_at in rows:
        records[person_id].append((pk, StayFact(region, arrived_at, left_at)))
    doomed: list[int] = []
    for person_records in records.values():
        # StayFacts are values: two identical records of one person are one record for the rules too.
        pks_of: dict[StayFact, list[int]] = defaultdict(list)
        for pk, fact in person_records:
            pks_of[fact].append(pk)
        unseen = set(stays_unseen(pks_of, now=now, horizon=horizon))
        doomed.extend(pk for fact in unseen for pk in pks_of[fact])
    return doomed


def _partitions_drop(*, now: datetime, horizon: datetime) -> int:
    """Drop the month partitions (health/partitions.py) none of whose records any evaluation can see.

    Only months that end before the horizon are candidates. A record there can be seen only through
    its merged stay, which then holds a record still going on at the horizon (`left_at` null or not
    before it) that arrived before the horizon (a merged stay's first such record arrives before the
    end of the records before it): those few records, found in one scan of the old months, name the
    persons whose records the engine decides on, exactly as the row purge does. A month with a record
    the engine keeps is left to the row purge. Returns the number of records dropped.
    """
    candidates = [p for p in partitions.stays_partitions() if p.upper is not None and p.upper <= horizon]
    if not candidates:
        return 0
    upper = max(partition.upper for partition in candidates)
    # Records still going on at the horizon that arrived before it, as (person, folded region): the
    # engine merges a person's records by folded region, so only records sharing such a pair can join one.
    live: dict[int, set[str]] = defaultdict(set)
    for person_id, region in (
        ItineraryStay.objects.filter(arrived_at__lt=horizon)
        .filter(Q(left_at__isnull=True) | Q(left_at__gte=horizon))
        .values_list("person_id", "region_id")
        .iterator(chunk_size=BATCH)
    ):
        live[person_id].add(normalize(region))
    codes_of = _codes_by_folded_region()
    kept: set[str] = set()  # the candidate months holding a record that the engine keeps
    for chunk in _chunks(sorted(live), BATCH):
        folded = set().union(*(live[person_id] for person_id in chunk))
        codes = set().union(*(codes_of.get(region, {region}) for region in folded))
        records = [
            (pk, person_id, arrived)
            for pk, person_id, region, arrived in ItineraryStay.objects.filter(
                person_id__in=chunk, region_id__in=sorted(codes), arrived_at__lt=upper
            ).values_list("pk", "person_id", "region_id", "arrived_at")
            if normalize(region) in live[person_id]
        ]
        if not records:
            continue
        persons = {person_id for _pk, person_id, _arrived in records}
        unseen = set(_records_unseen(persons, now=now, horizon=horizon, regions=codes))
        kept.update(
            partitions.partition_name(partitions.month_start(arrived)) for pk, _person, arrived in records if pk not in unseen
        )
    return sum(partitions.stays_partition_drop(partition) for partition in candidates if partition.name not in kept)


def _codes_by_folded_region() -> dict[str, set[str]]:
    """Every region code under the engine's folded form (a municipality's synonyms under XX0000)."""
    codes: dict[str, set[str]] = defaultdict(set)
    for code in Region.objects.values_list("code", flat=True):
        codes[normalize(code)].add(code)
    return codes


def _chunks(items, size: int):
    chunk = []
    for item in items:
        chunk.append(item)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk
