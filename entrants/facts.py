"""The entrants app's loader: its records -> engine facts, for a batch of persons."""
from collections.abc import Iterator, Sequence

from health.registry import FactSource


def load_facts(person_ids: Sequence[int]) -> Iterator[tuple[int, object]]:
    return iter(())


SOURCE = FactSource(name="entrants", load=load_facts)
