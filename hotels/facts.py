"""The hotels app's loader: guests' stays and their tests -> engine facts, for a batch of persons."""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator, Sequence
from datetime import timedelta

from django.db.models import Q, QuerySet
from django.utils import timezone

from health import bulk
from health.engine import CheckInFact, NatTestFact
from health.engine.regions import Reach
from health.facts import region_reach_q
from health.models import Organisation
from health.registry import FactSource
from hotels.models import CheckIn, NucleicAcidTest

# A hotel without a region (never created by hotel_create) is placed nowhere in JJJ: its stay
# cannot make anyone eligible, and no risk designation can reach it.
UNKNOWN_REGION = "000000"


def fact_reads(person_ids: Sequence[int]) -> list:
    """Two queries for the whole batch: the stays (with their hotel's region), then their tests."""
    ids = bulk.IdArray(person_ids)
    # Only tests recorded against a stay reach the engine (R3 and G2 read a check-in's tests);
    # the services always attach one.
    return [
        CheckIn.objects.filter(person_id__any_of=ids).order_by().values_list(
            "pk",
            "person_id",
            "hotel__region_id",
            "checked_in_at",
            "origin_region_id",
            "health_management_accepted",
            "checked_out_at",
        ),
        NucleicAcidTest.objects.filter(person_id__any_of=ids, checkin__isnull=False)
        .values_list("checkin_id", "sampled_at", "result", "source")
        .order_by("sampled_at", "pk"),
    ]


def facts_from_rows(person_ids: Sequence[int], rows: list[list[tuple]]) -> Iterator[tuple[int, CheckInFact]]:
    stays, test_rows = rows
    tests: dict[int, list[NatTestFact]] = defaultdict(list)
    for checkin_id, sampled_at, result, source in test_rows:
        tests[checkin_id].append(NatTestFact(sampled_at, result, source))
    for pk, person_id, hotel_region, checked_in_at, origin_region, accepted, checked_out_at in stays:
        yield person_id, CheckInFact(
            hotel_region=hotel_region or UNKNOWN_REGION,
            checked_in_at=checked_in_at,
            origin_region=origin_region,
            health_management_accepted=accepted,
            checked_out_at=checked_out_at,
            nat_tests=tuple(tests.get(pk, ())),
        )


def load_facts(person_ids: Sequence[int]) -> Iterator[tuple[int, CheckInFact]]:
    """On its own: the stays, then their tests only if there are any (the registry sends both at once)."""
    stays, tests = fact_reads(person_ids)
    stay_rows = bulk.rows(stays)
    if not stay_rows:
        return iter(())
    return facts_from_rows(person_ids, [stay_rows, bulk.rows(tests)])


def persons_at(reach: Reach) -> QuerySet:
    """Guests whose origin or hotel is a place the risk designation reaches (risk fan-out).

    Only stays that can still matter: open ones (G2 reads their origin and hotel) and those
    that ended within the window, with a day to spare (a hotel stay is a qualifying stay).
    """
    from health.services.statuses import policy_current

    horizon = timezone.now() - timedelta(days=policy_current().window_days + 1)
    places = region_reach_q(reach, "origin_region_id") | region_reach_q(reach, "hotel__region_id")
    recent = Q(checked_out_at__isnull=True) | Q(checked_out_at__gte=horizon)
    return CheckIn.objects.filter(places, recent).order_by().values_list("person_id", flat=True).distinct()


def holds(organisation: Organisation, person_id: int) -> bool:
    """A hotel keeps a record of every guest it has registered (open or checked out)."""
    if organisation is None or organisation.kind != Organisation.Kind.HOTEL:
        return False
    return CheckIn.objects.filter(hotel=organisation, person_id=person_id).exists()


def holds_queryset(organisation: Organisation) -> QuerySet:
    """The ids of every person this hotel holds a record of (set-based counterpart of `holds`)."""
    if organisation is None or organisation.kind != Organisation.Kind.HOTEL:
        return CheckIn.objects.none().values_list("person_id", flat=True)
    return CheckIn.objects.filter(hotel=organisation).values_list("person_id", flat=True).distinct()


SOURCE = FactSource(
    name="hotels",
    load=load_facts,
    persons_at=persons_at,
    holds=holds,
    holds_queryset=holds_queryset,
    reads=fact_reads,
    facts=facts_from_rows,
)
