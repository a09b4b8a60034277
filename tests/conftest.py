"""Shared fixtures: API clients authenticated as a given staff account."""
import pytest
from rest_framework.test import APIClient

from tests import factories


@pytest.fixture
def api():
    return APIClient()


@pytest.fixture
def client_for():
    """client_for(user) -> an APIClient sending that user's token."""

    def make(user):
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Token {user.auth_token.key}")
        return client

    return make


@pytest.fixture
def admin_user(db):
    return factories.staff("admin", admin=True)
