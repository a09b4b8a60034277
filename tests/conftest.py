"""Shared fixtures: API clients authenticated as a given staff account; real-service gating."""
import os

import pytest
from django.test import TestCase
from rest_framework.test import APIClient

from tests import factories


def services_required() -> bool:
    """CI sets REQUIRE_SERVICES=1: then a test that needs a real service fails instead of skipping."""
    return os.environ.get("REQUIRE_SERVICES", "") == "1"


def services_missing() -> list[str]:
    """What a `worker` test needs and this environment lacks: a broker and a server database."""
    from django.conf import settings

    missing = []
    if not os.environ.get("CELERY_BROKER_URL", ""):
        missing.append("CELERY_BROKER_URL")
    if settings.DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql":
        missing.append("DATABASE_URL=postgres://…")
    return missing


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(config, items):
    # Every transactional test restores the migrations' data (serialized_rollback): after a plain one's
    # flush the content types come back, and the next serialized test's set-up inserts them again,
    # failing every transactional test after it.
    plain = [
        item.nodeid
        for item in items
        if (marker := item.get_closest_marker("django_db")) is not None
        and marker.kwargs.get("transaction")
        and not marker.kwargs.get("serialized_rollback")
    ]
    if plain:
        raise pytest.UsageError(f"transactional tests without serialized_rollback=True: {', '.join(plain)}")
    worker_items = [item for item in items if item.get_closest_marker("worker")]
    # Last of all, after pytest-django's own ordering: a transactional test empties the tables when
    # it ends (migration data such as regions included), which a later test without a db mark
    # that asks for `db` dynamically would otherwise inherit.
    late = [item for item in items if item.get_closest_marker("worker") or item.get_closest_marker("replica")]
    items[:] = [item for item in items if item not in late] + late
    if not worker_items or services_required():
        return  # required: never skipped; the `worker_services` fixture fails if they are missing
    missing = services_missing()
    if missing:
        skip = pytest.mark.skip(reason=f"needs a real broker and database: set {', '.join(missing)}")
        for item in worker_items:
            item.add_marker(skip)


@pytest.fixture
def worker_services():
    """Fails (never skips) when REQUIRE_SERVICES=1 and the broker or PostgreSQL is not configured."""
    missing = services_missing()
    if missing:
        pytest.fail(f"REQUIRE_SERVICES=1 but not configured: {', '.join(missing)}", pytrace=False)


@pytest.fixture(autouse=True)
def _cache_cleared():
    """Throttle counters live in the cache (Redis in CI): no test inherits another's requests."""
    from django.core.cache import cache

    cache.clear()
    yield


class CommittingClient(APIClient):
    """Each request's on-commit callbacks run when it returns, as after a real commit.

    pytest-django wraps a test in one transaction that is never committed; without this, the
    recomputation enqueued on commit would never run and a test would read stale statuses.
    """

    def generic(self, *args, **kwargs):
        with TestCase.captureOnCommitCallbacks(execute=True):
            return super().generic(*args, **kwargs)


@pytest.fixture
def api():
    return CommittingClient()


@pytest.fixture
def client_for():
    """client_for(user) -> an API client sending that user's token."""

    def make(user):
        client = CommittingClient()
        client.credentials(HTTP_AUTHORIZATION=f"Token {user.auth_token.key}")
        return client

    return make


@pytest.fixture
def admin_user(db):
    return factories.staff("admin", admin=True)
