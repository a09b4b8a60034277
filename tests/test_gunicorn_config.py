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


def test_the_preloaded_app_is_frozen_before_each_fork(monkeypatch):
    config = load(monkeypatch)
    gc.unfreeze()
    try:
        config.pre_fork(None, None)
        # every object alive in the master now sits in the permanent generation the collector skips
        assert gc.get_freeze_count() > 1000
    finally:
        gc.unfreeze()
