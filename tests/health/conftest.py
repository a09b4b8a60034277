"""Fixtures of the core app's tests: staff of each kind, and a fact source that says who holds whom."""
import pytest
from django.core.cache import cache
from django.test import TestCase

from health import registry
from health.registry import FactSource
from tests import factories


@pytest.fixture(autouse=True)
def _throttle_counters_cleared():
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def committed():
    """`with committed(): service(...)`: the service's on-commit callbacks run at the end of the block."""
    return lambda: TestCase.captureOnCommitCallbacks(execute=True)


@pytest.fixture
def health_user(db):
    return factories.staff(organisation=factories.department("health"))


@pytest.fixture
def platform_user(db):
    return factories.staff(organisation=factories.department("platform"))


@pytest.fixture
def hotel_user(db):
    return factories.staff(organisation=factories.organisation("hotel", "H-1"))


@pytest.fixture
def held():
    """A registered source whose `holds` is true for the (organisation id, person id) pairs added to the set."""
    pairs: set[tuple[int, int]] = set()
    source = FactSource(
        name="test-holds", load=lambda person_ids: iter(()), holds=lambda organisation, pk: (organisation.pk, pk) in pairs
    )
    registry.register(source)
    yield pairs
    registry._sources.pop("test-holds", None)

