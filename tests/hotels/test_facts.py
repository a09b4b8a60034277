"""The hotels loader: stays and tests as engine facts in two queries, the risk fan-out, who holds a guest."""
from datetime import timedelta

from django.utils import timezone

from health.engine import CheckInFact, NatTestFact
from health.engine.regions import Reach
from health.registry import organisation_holds
from hotels import facts, services
from tests import factories
from tests.hotels.conftest import register


def test_load_yields_each_stay_with_its_hotel_region_and_tests_in_two_queries(hotel, other_hotel, django_assert_num_queries):
    checked_in_at = timezone.now() - timedelta(hours=3)
    certificate = checked_in_at - timedelta(days=1)
    first = register(hotel, checked_in_at=checked_in_at, origin="310104", tests=[(certificate, "negative", "certificate")])
    second = register(other_hotel, checked_in_at=checked_in_at, origin="120101", accepted=True)
    services.checkout(actor=None, checkin=second)
    second.refresh_from_db()
    with django_assert_num_queries(2):
        loaded = sorted(facts.load_facts([first.person_id, second.person_id]), key=lambda pair: pair[0])
    assert loaded == [
        (first.person_id, CheckInFact("110101", checked_in_at, "310104", False, None, (NatTestFact(certificate, "negative", "certificate"),))),
        (second.person_id, CheckInFact("110105", checked_in_at, "120101", True, second.checked_out_at, ())),
    ]


def test_load_of_persons_without_stays_is_one_query(db, django_assert_num_queries):
    with django_assert_num_queries(1):
        assert list(facts.load_facts([1, 2, 3])) == []


def test_persons_at_finds_guests_by_origin_or_hotel_region_and_skips_old_stays(hotel, other_hotel):
    now = timezone.now()
    from_xuhui = register(hotel, checked_in_at=now - timedelta(hours=1), origin="310104")
    from_tianjin = register(other_hotel, checked_in_at=now - timedelta(hours=1), origin="120101")
    long_gone = register(other_hotel, checked_in_at=now - timedelta(days=30), origin="310104", name="旧客")
    services.checkout(actor=None, checkin=long_gone, checked_out_at=now - timedelta(days=20))
    assert set(facts.persons_at(Reach((("31", ""),), frozenset({"310000"})))) == {from_xuhui.person_id}
    assert set(facts.persons_at(Reach((("110105", ""),)))) == {from_tianjin.person_id}  # the hotel's district
    assert set(facts.persons_at(Reach((("44", ""),), frozenset({"440000"})))) == set()
    # a prefix with an exception: Beijing but the hotel's district leaves only the other hotel's guest
    assert set(facts.persons_at(Reach((("11", "110105"),)))) == {from_xuhui.person_id}


def test_a_hotel_holds_its_guests_and_no_one_elses(hotel, other_hotel):
    guest = register(hotel, checked_in_at=timezone.now() - timedelta(hours=1))
    assert facts.holds(hotel, guest.person_id) is True
    assert facts.holds(other_hotel, guest.person_id) is False
    assert facts.holds(factories.department("health"), guest.person_id) is False
    assert list(facts.holds_queryset(hotel)) == [guest.person_id]
    assert list(facts.holds_queryset(other_hotel)) == []
    assert organisation_holds(hotel, guest.person_id) is True
