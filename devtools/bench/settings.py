"""Settings of a benchmark run: the production-like base, PostgreSQL and Redis on loopback, a baseline view mounted.

Only what a benchmark needs differs from the base: its own database (never a test database),
its own Redis database numbers, a result backend so that the driver can wait for a group of
tasks, and the development tools (`devtools`: the minimal baseline views and a no-op task).
"""
import os

os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/health_bench")
os.environ.setdefault("CELERY_BROKER_URL", "redis://127.0.0.1:6379/12")
os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:6379/14")
# Throttling stays on, with a rate a load generator cannot reach from one address.
for _rate in ("PUBLIC_THROTTLE_RATE", "PUBLIC_ID_NUMBER_CEILING_RATE", "DECLARATION_THROTTLE_RATE", "CORRECTION_THROTTLE_RATE"):
    os.environ.setdefault(_rate, "1000000000/minute")

from config.settings.base import *  # noqa: E402, F403
from config.settings.base import INSTALLED_APPS, env  # noqa: E402

DEBUG = False
ROOT_URLCONF = "devtools.bench.urls"
INSTALLED_APPS = [*INSTALLED_APPS, "devtools"]
# The propagation benchmark's no-op task (Celery discovers only `<app>.tasks`).
CELERY_IMPORTS = ["devtools.bench.tasks"]
CELERY_RESULT_BACKEND = env("BENCH_RESULT_BACKEND", default="redis://127.0.0.1:6379/13")
CELERY_TASK_IGNORE_RESULT = False
CELERY_RESULT_EXPIRES = 3600
LOGGING = {"version": 1, "disable_existing_loggers": False, "root": {"level": "WARNING"}}
