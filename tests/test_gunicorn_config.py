"""The production gunicorn configuration: values from the environment, the collector kept off the preloaded app."""
import gc
import importlib.util
from pathlib import Path

CONFIG = Path(__file__).resolve().parent.parent / "config" / "gunicorn.py"


def load(monkeypatch, **environment):
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    spec = importlib.util.spec_from_file_location("gunicorn_config_under_test", CONFIG)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_values_come_from_the_environment(monkeypatch):
    config = load(monkeypatch, GUNICORN_WORKERS="7", GUNICORN_THREADS="2", GUNICORN_BIND="0.0.0.0:9000")
    assert (config.workers, config.threads, config.bind) == (7, 2, "0.0.0.0:9000")
    assert config.preload_app is True
    assert config.worker_class == "gthread"
    assert (config.max_requests, config.max_requests_jitter) == (200_000, 20_000)


def test_the_preloaded_app_is_frozen_before_each_fork(monkeypatch):
    config = load(monkeypatch)
    gc.unfreeze()
    try:
        config.pre_fork(None, None)
        # every object alive in the master now sits in the permanent generation the collector skips
        assert gc.get_freeze_count() > 1000
    finally:
        gc.unfreeze()


MASTER = """
import gc, importlib.util, sys
import config.wsgi  # what preload_app loads in the master
from django.db import connection
from django.core.cache import caches
from django.utils.translation import trans_real
spec = importlib.util.spec_from_file_location("gunicorn_conf", "config/gunicorn.py")
conf = importlib.util.module_from_spec(spec)
spec.loader.exec_module(conf)
assert "health.api.status_query" not in sys.modules
conf.pre_fork(None, None)
assert "health.api.status_query" in sys.modules, "the URL configuration was not imported"
assert {"zh-hans", "en"} <= set(trans_real._translations), "the catalogs were not loaded"
assert connection.connection is None, "the master opened a database connection"
assert caches["default"]._cache._pools == {}, "the master made a Redis connection pool"
assert gc.get_freeze_count() > 1000
print("ok")
"""


def test_the_master_warms_the_app_up_without_a_database_or_redis_connection():
    import os
    import subprocess
    import sys

    environment = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings.local",
        "DATABASE_URL": "postgres://postgres@127.0.0.1:5432/unused",
        "REDIS_URL": "redis://127.0.0.1:6379/15",
    }
    master = subprocess.run(
        [sys.executable, "-c", MASTER], cwd=CONFIG.parent.parent, env=environment, capture_output=True, text=True, timeout=120
    )
    assert master.returncode == 0, master.stderr
    assert master.stdout.strip() == "ok"
