"""Tests: the same settings, fast hashing, tasks eager unless a test starts a real worker, and the
development tools installed (the demo data and the population generator are tested)."""
from .base import *  # noqa: F403
from .base import INSTALLED_APPS

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
CELERY_TASK_ALWAYS_EAGER = True
PUBLIC_THROTTLE_RATE = "1000/minute"
REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"] = dict.fromkeys(REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"], PUBLIC_THROTTLE_RATE)  # noqa: F405
INSTALLED_APPS = [*INSTALLED_APPS, "devtools"]
ROOT_URLCONF = "devtools.bench.urls"
