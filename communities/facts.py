"""The communities app's loader: quarantine records -> engine facts, for a batch of persons."""
from collections.abc import Iterator, Sequence

from communities.models import QuarantineRecord
from health import bulk
from health.engine import QuarantineFact
from health.registry import FactSource


def fact_reads(person_ids: Sequence[int]) -> list:
    """One query for the whole batch; the community code comes through the join."""
    ids = bulk.IdArray(person_ids)
    return [
        QuarantineRecord.objects.filter(person_id__any_of=ids).order_by().values_list(
            "person_id", "kind", "started_at", "lifted_at", "community__code"
        )
    ]


def facts_from_rows(person_ids: Sequence[int], rows: list[list[tuple]]) -> Iterator[tuple[int, QuarantineFact]]:
    for person_id, kind, started_at, lifted_at, community_code in rows[0]:
        yield person_id, QuarantineFact(kind, started_at, lifted_at, community=community_code)


def load_facts(person_ids: Sequence[int]) -> Iterator[tuple[int, QuarantineFact]]:
    return facts_from_rows(person_ids, bulk.rows_many(fact_reads(person_ids)))


def holds(organisation, person_id: int) -> bool:
    """A community holds a person when it has a quarantine record of them (lifted or not)."""
    return QuarantineRecord.objects.filter(community_id=organisation.pk, person_id=person_id).exists()


def holds_queryset(organisation):
    """The ids of the persons this community has quarantine records of."""
    return QuarantineRecord.objects.filter(community_id=organisation.pk).values_list("person_id", flat=True).distinct()


SOURCE = FactSource(
    name="communities",
    load=load_facts,
    persons_at=None,
    holds=holds,
    holds_queryset=holds_queryset,
    reads=fact_reads,
    facts=facts_from_rows,
)
