"""Fixtures of the core app's tests: staff of each kind, and a fact source that says who holds whom."""
import pytest
from django.core.cache import cache
from django.test import TestCase
from rest_framework.test import APIClient

from health import registry
from health.registry import FactSource
from tests import factories


@pytest.fixture(autouse=True)
def _throttle_counters_cleared():
    cache.clear()
    yield
    cache.clear()


class CommittingClient(APIClient):
    """Each request's on-commit callbacks run when it returns, as after a real commit.

    pytest-django wraps a test in one transaction that is never committed; without this, the
    recomputation enqueued on commit would never run and the test would read stale statuses.
    """

    def generic(self, *args, **kwargs):
        with TestCase.captureOnCommitCallbacks(execute=True):
            return super().generic(*args, **kwargs)


@pytest.fixture
def api():
    return CommittingClient()


@pytest.fixture
def client_for():
    def make(user):
        client = CommittingClient()
        client.credentials(HTTP_AUTHORIZATION=f"Token {user.auth_token.key}")
        return client

    return make


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

