"""The entrants loader: one query for a batch of persons, exact facts, and who holds a case."""

import pytest
from django.db import IntegrityError, connection, transaction
from django.test.utils import CaptureQueriesContext

from entrants import facts, services
from entrants.models import InboundCase
from health import registry
from health.engine import InboundCaseFact
from tests import factories
from tests.entrants.conftest import beijing, days_ago, utc

pytestmark = pytest.mark.django_db


def register(name, **fields):
    return services.inbound_register(
        actor=None,
        person_name=name,
        id_number=factories.id_number(),
        entered_country_on=fields.pop("entered_country_on", days_ago(10)),
        port="首都机场",
        origin_country="GB",
        **fields,
    )


def test_load_yields_every_case_in_one_query(community):
    ended = utc(beijing(days_ago(5), 23, 30))
    managed = register("甲", community_code=community.code, quarantine_ended_at=ended, entered_city_on=days_ago(4))
    plain = register("乙")
    register("丙")  # another person, not asked for

    with CaptureQueriesContext(connection) as queries:
        loaded = sorted(facts.load_facts([managed.person_id, plain.person_id]), key=lambda pair: pair[0])

    assert len(queries) == 1
    assert loaded == sorted(
        [
            (managed.person_id, InboundCaseFact(days_ago(10), ended, days_ago(4), community.code, None)),
            (plain.person_id, InboundCaseFact(days_ago(10), None, None, None, None)),
        ],
        key=lambda pair: pair[0],
    )


def test_the_source_is_registered_with_holds():
    source = next(s for s in registry.sources() if s.name == "entrants")
    assert source.holds is facts.holds
    assert source.holds_queryset is facts.holds_queryset


def test_border_holds_every_case_and_a_community_the_cases_it_manages(border, community, other_community):
    managed = register("甲", community_code=community.code)
    plain = register("乙")
    hotel = factories.organisation("hotel", "hotel-9")

    assert facts.holds(border, managed.person_id) and facts.holds(border, plain.person_id)
    assert facts.holds(community, managed.person_id)
    assert not facts.holds(community, plain.person_id)
    assert not facts.holds(other_community, managed.person_id)
    assert not facts.holds(hotel, managed.person_id)
    assert set(facts.holds_queryset(border)) == {managed.person_id, plain.person_id}
    assert set(facts.holds_queryset(community)) == {managed.person_id}
    assert list(facts.holds_queryset(hotel)) == []


@pytest.mark.parametrize(
    "fields",
    [
        # a quarantine ending (Beijing date) before entry
        {"quarantine_ended_at": utc(beijing(days_ago(11), 12)), "quarantine_ended_on": days_ago(11)},
        # the denormalised date missing
        {"quarantine_ended_at": utc(beijing(days_ago(9), 12)), "quarantine_ended_on": None},
        # a release without a managing community
        {"released_at": utc(beijing(days_ago(9), 12)), "released_on": days_ago(9)},
        # a city entry before the country entry
        {"entered_city_on": days_ago(11)},
    ],
)
def test_the_database_refuses_what_the_services_refuse(fields):
    case = register("甲")
    with pytest.raises(IntegrityError), transaction.atomic():
        InboundCase.objects.filter(pk=case.pk).update(**fields)


def test_the_database_refuses_a_release_before_entry(community):
    case = register("甲", community_code=community.code)
    with pytest.raises(IntegrityError), transaction.atomic():
        InboundCase.objects.filter(pk=case.pk).update(
            released_at=utc(beijing(days_ago(11), 12)), released_on=days_ago(11)
        )


def test_the_database_refuses_a_release_date_missing(community):
    case = register("甲", community_code=community.code)
    with pytest.raises(IntegrityError), transaction.atomic():
        InboundCase.objects.filter(pk=case.pk).update(released_at=utc(beijing(days_ago(9), 12)), released_on=None)
