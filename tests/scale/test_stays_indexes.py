"""The stays table keeps only the indexes a query needs: the fan-out's prefix search is a range on (region, left_at)."""

from datetime import timedelta

import pytest
from django.utils import timezone

from health.engine.regions import Reach
from health.facts import persons_at, region_prefix_range
from health.models import ItineraryStay, Person

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("prefix", "expected"),
    [
        ("1101", {"region_id__gte": "1101", "region_id__lt": "1102"}),
        ("19", {"region_id__gte": "19", "region_id__lt": "20"}),
        ("1199", {"region_id__gte": "1199", "region_id__lt": "1200"}),
        ("99", {"region_id__gte": "99"}),
        ("110105", {"region_id__gte": "110105", "region_id__lt": "110106"}),
    ],
)
def test_a_region_prefix_is_a_range_of_codes(prefix, expected):
    assert dict(region_prefix_range(prefix).children) == expected


def test_persons_at_a_prefix_are_exactly_those_with_a_stay_in_a_region_it_starts(tmp_path):
    # given one person's stay in each of four regions
    arrived = timezone.now() - timedelta(days=1)
    person_of = {}
    for code in ("110105", "110108", "120101", "130102"):
        person = Person.objects.create(name=code, id_digest=f"digest-{code}", id_masked="x")
        ItineraryStay.objects.create(person=person, region_id=code, arrived_at=arrived)
        person_of[code] = person.pk

    # then a prefix reaches exactly the regions that start with it, and exact codes add theirs
    assert set(persons_at(Reach((("11", ""),)))) == {person_of["110105"], person_of["110108"]}
    assert set(persons_at(Reach((("1101", ""),)))) == {person_of["110105"], person_of["110108"]}
    assert set(persons_at(Reach((("110105", ""),)))) == {person_of["110105"]}
    assert set(persons_at(Reach((("12", ""),), frozenset({"130102"})))) == {person_of["120101"], person_of["130102"]}
    assert set(persons_at(Reach((("14", ""),)))) == set()
    # and a prefix with an exception leaves out the codes that start with the exception
    assert set(persons_at(Reach((("11", "110105"),)))) == {person_of["110108"]}
    assert set(persons_at(Reach())) == set()


def test_the_purge_finds_old_stays_per_region_oldest_first_without_an_index_of_left_at():
    # given two travellers' stays in one region that ended long ago (past 28 + 2 days), and one recent
    from health.purge import stays_purge

    now = timezone.now()

    def stay(days_left):
        person = Person.objects.create(name="张三", id_digest=f"digest-purge-{days_left}", id_masked="x")
        return ItineraryStay.objects.create(
            person=person,
            region_id="130102",
            arrived_at=now - timedelta(days=days_left + 1),
            left_at=now - timedelta(days=days_left),
        )

    older, old, recent = stay(50), stay(40), stay(3)

    # when the purge may delete one stay, then all of them
    assert stays_purge(now=now, limit=1) == 1
    remaining_after_one = set(ItineraryStay.objects.values_list("pk", flat=True))
    assert not ItineraryStay.objects.filter(pk=older.pk).exists()
    assert stays_purge(now=now) == 1

    # then the older went first, and the recent one is kept
    assert remaining_after_one == {old.pk, recent.pk}
    assert set(ItineraryStay.objects.values_list("pk", flat=True)) == {recent.pk}
