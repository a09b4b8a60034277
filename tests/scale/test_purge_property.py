"""Through the real purge and the real loaders: for random histories, every decision is the same before and after.

Stays (chains of records that touch, overlap or leave a gap, across the purge's horizon, open ones),
declarations and check-ins are stored; `stays_purge` runs at NOW; the person's facts are loaded again
and evaluated at NOW and at later instants, under windows the retention allows.
"""
from __future__ import annotations

import itertools
import os
from datetime import datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from health import registry
from health.engine import Policy, evaluate
from health.models import ItineraryDeclaration, ItineraryStay, Person
from health.purge import stays_purge
from tests.test_purge_properties import HORIZON, NOW, PLACES, TIMES, risks, stay_chains

pytestmark = pytest.mark.django_db
_serial = itertools.count()


def decisions(person_id: int, instants: list[datetime], risk_areas, window_days: int) -> list[tuple]:
    facts = registry.facts_for([person_id])[person_id]
    policy = Policy(window_days=window_days)
    found = []
    for at in instants:
        decision = evaluate(facts, now=at, policy=policy, risk_areas=risk_areas)
        found.append((decision.status, decision.reasons, decision.valid_until))
    return found


@settings(
    max_examples=int(os.environ.get("PURGE_EXAMPLES", "30")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(
    chains=st.lists(stay_chains(), min_size=1, max_size=3),
    declarations=st.lists(st.tuples(TIMES, st.lists(st.sampled_from(PLACES), min_size=1, max_size=2)), max_size=2),
    risk_areas=risks,
    window_days=st.sampled_from([7, 14, 28]),
    later=st.lists(st.timedeltas(timedelta(0), timedelta(days=45)), max_size=3),
)
def test_the_purge_changes_no_decision_now_or_later(chains, declarations, risk_areas, window_days, later):
    # given a person with these records, stored as the feed and the declaration endpoint store them
    person = Person.objects.create(name="张三", id_digest=f"digest-purge-property-{next(_serial)}", id_masked="x")
    records = {(stay.region, stay.arrived_at): stay for chain in chains for stay in chain}
    ItineraryStay.objects.bulk_create(
        ItineraryStay(person=person, region_id=stay.region, arrived_at=stay.arrived_at, left_at=stay.left_at)
        for stay in records.values()
    )
    for declared_at, codes in declarations:
        ItineraryDeclaration.objects.create(person=person, declared_at=declared_at, region_codes=codes)
    instants = [NOW] + [NOW + delta for delta in later]
    before = decisions(person.pk, instants, risk_areas, window_days)

    # when the purge runs at NOW
    stays_purge(now=NOW)

    # then no record of a stay that goes on past the horizon is gone, and every decision is the same
    remaining = set(ItineraryStay.objects.filter(person=person).values_list("region_id", "arrived_at"))
    assert {key for key, stay in records.items() if stay.left_at is None or stay.left_at >= HORIZON} <= remaining
    assert decisions(person.pk, instants, risk_areas, window_days) == before
