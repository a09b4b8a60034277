"""The sources' reads sent together (one round trip on PostgreSQL) give each source's own facts."""
import dataclasses

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from devtools.population import population_generate
from health import registry
from health.engine.facts import FACT_FIELDS
from health.models import HealthStatus

pytestmark = pytest.mark.django_db


def test_facts_read_together_are_each_sources_own_facts():
    # given generated persons with every kind of record (stays, declarations, designations,
    # quarantines, hotel stays with tests, inbound cases)
    population_generate(persons=300, seed=11, compute=False)
    ids = list(HealthStatus.objects.order_by("person_id").values_list("person_id", flat=True))

    # when the facts are read by the registry (all sources at once) and source by source
    together = registry.facts_for(ids)
    one_by_one = {pk: {name: [] for name in FACT_FIELDS.values()} for pk in ids}
    for source in registry.sources():
        for person_id, fact in source.load(ids):
            one_by_one[person_id][FACT_FIELDS[type(fact)]].append(fact)

    # then every person's facts are the same, and there are facts of every kind
    for pk in ids:
        for name in FACT_FIELDS.values():
            assert sorted(map(repr, getattr(together[pk], name))) == sorted(map(repr, one_by_one[pk][name])), (pk, name)
    kinds = {name for pk in ids for name in FACT_FIELDS.values() if getattr(together[pk], name)}
    assert kinds == set(FACT_FIELDS.values())


def test_a_leading_read_comes_back_first_with_the_facts():
    population_generate(persons=20, seed=12, compute=False)
    ids = list(HealthStatus.objects.order_by("person_id").values_list("person_id", flat=True))
    leading = HealthStatus.objects.filter(person_id__in=ids).values_list("person_id", "inputs_version")

    with CaptureQueriesContext(connection) as queries:
        (rows,), facts = registry.facts_for_after([leading], ids)

    assert dict(rows) == dict(HealthStatus.objects.values_list("person_id", "inputs_version"))
    assert set(facts) == set(ids)
    # the leading read is the first statement sent (the inputs version is read before the facts)
    assert "inputs_version" in queries.captured_queries[0]["sql"]


def test_the_sources_reads_are_compiled_once_per_process_and_each_batch_gets_its_own_facts(monkeypatch):
    # given generated persons with every kind of record, and sources that count how often their reads are built
    population_generate(persons=60, seed=13, compute=False)
    ids = list(HealthStatus.objects.order_by("person_id").values_list("person_id", flat=True))
    built = []

    def counted(source):
        def reads(person_ids):
            built.append(source.name)
            return source.reads(person_ids)

        return dataclasses.replace(source, reads=reads)

    monkeypatch.setattr(registry, "_compiled", {})
    for source in registry.sources():
        if source.reads is not None:
            monkeypatch.setitem(registry._sources, source.name, counted(source))

    # when three batches of different persons are read
    batches = [ids[:20], ids[20:40], ids[40:]]
    read = [registry.facts_for(batch) for batch in batches]

    # then each batch has its own persons' facts, as each source loads them on its own
    for batch, facts in zip(batches, read, strict=True):
        assert set(facts) == set(batch)
        for source in registry.sources():
            for person_id, fact in source.load(batch):
                assert fact in getattr(facts[person_id], FACT_FIELDS[type(fact)])
    # and on PostgreSQL each source's reads were built once (compiled, then reused with the batch's
    # ids); elsewhere once per batch
    per_source = 1 if connection.vendor == "postgresql" else len(batches)
    assert sorted(built) == sorted(
        name for name in registry._sources if registry._sources[name].reads is not None for _ in range(per_source)
    )
