"""The web server's warm-up: what gunicorn's master builds before forking connects to nothing, and what each
worker loads after the fork is loaded before its first request (config/warmup.py, config/gunicorn.py)."""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.db import connection

from config.warmup import warm_up_worker
from health.passes import keys

ROOT = Path(__file__).resolve().parent.parent

WARM = """
import json, sys
import django
django.setup()
from config.warmup import warm_up
warm_up()
from config.celery_app import app
print(json.dumps({
    "finalized": app.finalized,
    "transport": "kombu.transport.redis" in sys.modules,
    "crypto": "cryptography.hazmat.backends.openssl" in sys.modules,
    "urls": "health.api.urls" in sys.modules,
}))
"""


def test_the_masters_warm_up_builds_celery_and_connects_to_nothing():
    # given a database, a broker, a result backend and a cache that all refuse every connection (port 1)
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings.production",
        "DATABASE_URL": "postgres://nobody@127.0.0.1:1/none",
        "CELERY_BROKER_URL": "redis://127.0.0.1:1/0",
        "CELERY_RESULT_BACKEND": "redis://127.0.0.1:1/1",
        "REDIS_URL": "redis://127.0.0.1:1/2",
        "DJANGO_SECRET_KEY": "x" * 50,
        "PERSON_ID_HASH_KEY": "y" * 32,
        "DJANGO_ALLOWED_HOSTS": "example.org",
    }
    # when the master's warm-up runs in a fresh process
    run = subprocess.run([sys.executable, "-c", WARM], env=env, cwd=ROOT, capture_output=True, text=True, timeout=120)
    # then it succeeds without any of them (a connection would have been refused), with Celery's app
    # finalized and its Redis transport imported, the signing library's backend and the URLs loaded
    assert run.returncode == 0, run.stderr
    assert json.loads(run.stdout.strip().splitlines()[-1]) == {
        "finalized": True,
        "transport": True,
        "crypto": True,
        "urls": True,
    }


TRANSACTIONAL = pytest.mark.django_db(transaction=True, serialized_rollback=True)  # it closes the connection


def closed(conn) -> bool:
    # Django never closes an in-memory SQLite database (its data would go with it): nothing to see there.
    return conn.connection is None or getattr(conn, "is_in_memory_db", lambda: False)()


@TRANSACTIONAL
def test_a_worker_loads_the_pass_signer_before_its_first_request_and_keeps_no_connection():
    # given a worker process that has not signed a pass yet
    keys.reset()
    # when gunicorn's post_worker_init runs the worker's warm-up
    warm_up_worker()
    # then the database connection is closed again, and the signing key is loaded and on the published list
    assert closed(connection)
    assert keys._current.signer is not None
    assert keys.PassKey.objects.filter(kid=keys._current.signer.kid_text, revoked_at=None).exists()


@TRANSACTIONAL
def test_a_worker_starts_even_when_its_warm_up_fails(monkeypatch, caplog):
    # given a signer that cannot be loaded (the database is down, say)
    keys.reset()

    def refused():
        raise ConnectionRefusedError

    monkeypatch.setattr(keys._current, "get", refused)
    # when the worker's warm-up runs
    warm_up_worker()
    # then it says so and returns: the first request loads the signer as it did before
    assert "worker warm-up skipped: ConnectionRefusedError" in caplog.text
    assert closed(connection)
