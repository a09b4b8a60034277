"""Settings read from the environment: PostgreSQL connection reuse and its health check."""
import os
import subprocess
import sys

import pytest

READ = "import django; django.setup(); from django.conf import settings; d = settings.DATABASES['default']; print(d['CONN_MAX_AGE'], d['CONN_HEALTH_CHECKS'])"


@pytest.mark.parametrize(
    ("environment", "expected"),
    [({}, "60 True"), ({"CONN_HEALTH_CHECKS": "false", "CONN_MAX_AGE": "300"}, "300 False")],
)
@pytest.mark.parametrize("module", ["config.settings.local", "config.settings.production"])
def test_postgresql_connections_are_kept_and_checked_unless_told_otherwise(environment, expected, module):
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": module,
        "DATABASE_URL": "postgres://postgres@127.0.0.1:5432/unused",
        "DJANGO_SECRET_KEY": "x" * 50,
        "PERSON_ID_HASH_KEY": "y" * 32,
        "DJANGO_ALLOWED_HOSTS": "example.org",
        "REDIS_URL": "redis://127.0.0.1:6379/15",
        "CELERY_BROKER_URL": "redis://127.0.0.1:6379/15",
        **environment,
    }
    for name in ("CONN_HEALTH_CHECKS", "CONN_MAX_AGE"):
        if name not in environment:
            env.pop(name, None)
    read = subprocess.run([sys.executable, "-c", READ], env=env, capture_output=True, text=True, timeout=60)
    assert read.returncode == 0, read.stderr
    assert read.stdout.split("\n")[-2] == expected
