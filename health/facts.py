"""The core app's loader: designations, itinerary stays and declarations -> engine facts."""
from collections.abc import Iterator, Sequence

from django.db.models import Q

from health import bulk
from health.engine import DeclarationFact, DesignationFact, StayFact
from health.models import Designation, ItineraryDeclaration, ItineraryStay
from health.registry import FactSource


def load_facts(person_ids: Sequence[int]) -> Iterator[tuple[int, object]]:
    ids = bulk.IdArray(person_ids)
    # No ordering: the models' default ordering by person joins the persons table (a million rows)
    # for nothing, since the engine reads facts as sets.
    designations = Designation.objects.filter(person_id__any_of=ids).order_by().values_list(
        "person_id", "kind", "designated_at", "cleared_at"
    )
    for person_id, kind, designated_at, cleared_at in bulk.rows(designations):
        yield person_id, DesignationFact(kind, designated_at, cleared_at)
    stays = ItineraryStay.objects.filter(person_id__any_of=ids).order_by().values_list(
        "person_id", "region_id", "arrived_at", "left_at"
    )
    for person_id, region, arrived_at, left_at in bulk.rows(stays):
        yield person_id, StayFact(region, arrived_at, left_at)
    declarations = ItineraryDeclaration.objects.filter(person_id__any_of=ids).order_by().values_list(
        "person_id", "declared_at", "region_codes"
    )
    for person_id, declared_at, region_codes in bulk.rows(declarations):
        yield person_id, DeclarationFact(declared_at, tuple(region_codes))


def persons_at(prefix: str, exact: Sequence[str]):
    return (
        ItineraryStay.objects.filter(Q(region__code__startswith=prefix) | Q(region_id__in=exact))
        .order_by()  # the model's ordering would join persons and defeat DISTINCT
        .values_list("person_id", flat=True)
        .distinct()
    )


SOURCE = FactSource(name="health", load=load_facts, persons_at=persons_at)
