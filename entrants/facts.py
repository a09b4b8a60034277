"""The entrants app's loader: inbound cases -> engine facts (R4, G1), and who holds them."""

from collections.abc import Iterator, Sequence

from entrants.models import InboundCase
from entrants.selectors import inbound_cases_held_by
from health import bulk
from health.engine import InboundCaseFact
from health.registry import FactSource


def fact_reads(person_ids: Sequence[int]) -> list:
    ids = bulk.IdArray(person_ids)
    return [
        InboundCase.objects.filter(person_id__any_of=ids).order_by().values_list(
            "person_id",
            "entered_country_on",
            "quarantine_ended_at",
            "entered_city_on",
            "managing_community__code",
            "released_at",
        )
    ]


def facts_from_rows(person_ids: Sequence[int], rows: list[list[tuple]]) -> Iterator[tuple[int, object]]:
    for person_id, entered_country_on, quarantine_ended_at, entered_city_on, community, released_at in rows[0]:
        yield (
            person_id,
            InboundCaseFact(
                entered_country_on=entered_country_on,
                quarantine_ended_at=quarantine_ended_at,
                entered_city_on=entered_city_on,
                managing_community=community,
                released_at=released_at,
            ),
        )


def load_facts(person_ids: Sequence[int]) -> Iterator[tuple[int, object]]:
    return facts_from_rows(person_ids, bulk.rows_many(fact_reads(person_ids)))


def holds_queryset(organisation):
    """Ids of the persons this organisation keeps an inbound case of."""
    return inbound_cases_held_by(organisation).values_list("person_id", flat=True)


def holds(organisation, person_id: int) -> bool:
    return inbound_cases_held_by(organisation).filter(person_id=person_id).exists()


SOURCE = FactSource(
    name="entrants",
    load=load_facts,
    holds=holds,
    holds_queryset=holds_queryset,
    reads=fact_reads,
    facts=facts_from_rows,
)
