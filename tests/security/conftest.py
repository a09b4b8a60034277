"""Fixtures of the security tests: clients whose requests run their on-commit callbacks, as after a real commit."""
import pytest
from django.test import TestCase
from rest_framework.test import APIClient


class CommittingClient(APIClient):
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
