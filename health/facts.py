"""The core app's loader: designations, itinerary stays and declarations -> engine facts."""
from collections.abc import Iterator, Sequence

from django.db.models import Q

from health import bulk
from health.engine import DeclarationFact, DesignationFact, StayFact
from health.engine.regions import Reach
from health.models import Designation, ItineraryDeclaration, ItineraryStay
from health.registry import FactSource


def fact_reads(person_ids: Sequence[int]) -> list:
    """The three reads of a batch's facts (see `facts_from_rows`)."""
    ids = bulk.IdArray(person_ids)
    # No ordering: the models' default ordering by person joins the persons table (a million rows)
    # for nothing, since the engine reads facts as sets.
    # A withdrawn designation never existed for the rules.
    return [
        Designation.objects.standing().filter(person_id__any_of=ids).order_by().values_list(
            "person_id", "kind", "designated_at", "cleared_at"
        ),
        ItineraryStay.objects.filter(person_id__any_of=ids).order_by().values_list(
            "person_id", "region_id", "arrived_at", "left_at"
        ),
        ItineraryDeclaration.objects.filter(person_id__any_of=ids).order_by().values_list(
            "person_id", "declared_at", "region_codes"
        ),
    ]


def facts_from_rows(person_ids: Sequence[int], rows: list[list[tuple]]) -> Iterator[tuple[int, object]]:
    designation_rows, stay_rows, declaration_rows = rows
    for person_id, kind, designated_at, cleared_at in designation_rows:
        yield person_id, DesignationFact(kind, designated_at, cleared_at)
    for person_id, region, arrived_at, left_at in stay_rows:
        yield person_id, StayFact(region, arrived_at, left_at)
    for person_id, declared_at, region_codes in declaration_rows:
        yield person_id, DeclarationFact(declared_at, tuple(region_codes))


def load_facts(person_ids: Sequence[int]) -> Iterator[tuple[int, object]]:
    return facts_from_rows(person_ids, bulk.rows_many(fact_reads(person_ids)))


def region_prefix_range(prefix: str, field: str = "region_id") -> Q:
    """Rows whose region code (`field`) starts with `prefix`, as a range of codes an index can serve.

    Region codes are digits only, so `>= prefix` and `< the next prefix` selects exactly the codes
    that start with it ("1101" -> ["1101", "1102"); "19" -> ["19", "20"); "99" -> no upper bound).
    """
    if not prefix.isdigit():
        return Q(**{f"{field}__startswith": prefix})
    following = str(int(prefix) + 1).zfill(len(prefix))
    if len(following) > len(prefix):
        return Q(**{f"{field}__gte": prefix})
    return Q(**{f"{field}__gte": prefix, f"{field}__lt": following})


def region_reach_q(reach: Reach, field: str = "region_id") -> Q:
    """Rows whose region code (`field`) is a place the risk designation reaches (engine's Reach)."""
    condition = Q(**{f"{field}__in": sorted(reach.exact)}) if reach.exact else Q(pk__in=[])
    for prefix, but in reach.prefixes:
        inside = region_prefix_range(prefix, field)
        condition |= (inside & ~region_prefix_range(but, field)) if but else inside
    return condition


def persons_at(reach: Reach):
    """Persons with a stay at a place the designation reaches (the risk fan-out)."""
    return (
        ItineraryStay.objects.filter(region_reach_q(reach))
        .order_by()  # the model's ordering would join persons and defeat DISTINCT
        .values_list("person_id", flat=True)
        .distinct()
    )


SOURCE = FactSource(name="health", load=load_facts, persons_at=persons_at, reads=fact_reads, facts=facts_from_rows)
