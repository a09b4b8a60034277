"""Hotels test fixtures: two hotels in Beijing with a front desk each, and a guest's registration helper."""
from datetime import timedelta

import pytest
from django.db import transaction
from django.utils import timezone

from health.models import HealthStatus, ItineraryDeclaration, ItineraryStay, Region
from health.services.risk_areas import risk_area_create
from health.services.statuses import person_status_fresh, persons_mark_dirty
from hotels import services
from tests import factories


@pytest.fixture
def hotel(db):
    return services.hotel_create(code="bj-hotel-1", name="北京前门饭店", region_code="110101")


@pytest.fixture
def other_hotel(db):
    return services.hotel_create(code="bj-hotel-2", name="北京朝阳宾馆", region_code="110105")


@pytest.fixture
def desk(hotel):
    return factories.staff("desk1", organisation=hotel)


@pytest.fixture
def other_desk(other_hotel):
    return factories.staff("desk2", organisation=other_hotel)


@pytest.fixture
def community_worker(db):
    return factories.staff("worker1", organisation=factories.organisation("community", "c-1"))


@pytest.fixture
def health_officer(db):
    return factories.staff("health1", organisation=factories.department("health"))


def register(hotel, *, checked_in_at, tests=(), origin="310104", accepted=False, actor=None, name="李四", number=None):
    """A registration through the service, as the API and the admin make it."""
    return services.checkin_register(
        actor=actor,
        hotel=hotel,
        person_name=name,
        id_number=number or factories.id_number(),
        checked_in_at=checked_in_at,
        origin_region_code=origin,
        health_management_accepted=accepted,
        nat_tests=[{"sampled_at": at, "result": result, "source": source} for at, result, source in tests],
    )


def status_of(person_id) -> HealthStatus:
    return person_status_fresh(person_id)


def risk_area_declared(region_code, *, effective_from, effective_to=None, level="medium"):
    """The health authority's designation, through its service (stored and fanned out in one transaction)."""
    return risk_area_create(
        actor=None, region=Region.objects.get(code=region_code), level=level, effective_from=effective_from, effective_to=effective_to
    )


def jjj_itinerary(person, *, days=20, regions=("110000",)):
    """The national platform's stay in Beijing covering the window, and the person's declaration of it."""
    now = timezone.now()
    with transaction.atomic():
        ItineraryStay.objects.create(person=person, region_id="110000", arrived_at=now - timedelta(days=days))
        ItineraryDeclaration.objects.create(person=person, declared_at=now - timedelta(minutes=1), region_codes=list(regions))
        persons_mark_dirty([person.pk], cause="test_itinerary")
