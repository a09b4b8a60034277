import pytest
from django.core.cache import cache
from rest_framework.test import APIClient

from health.passes import issue, keys


@pytest.fixture(autouse=True)
def pass_keys_apart(settings, tmp_path):
    """Each test signs with a key of its own (embedded mode, under a temporary folder)."""
    settings.PASS_KEY_DIR = tmp_path / "pass-keys"
    settings.PASS_SIGNING_KEY = ""
    keys.reset()
    issue.forget()
    cache.clear()
    yield
    keys.reset()
    issue.forget()
    cache.clear()


@pytest.fixture
def api():
    return APIClient()
