"""The embedded default: SQLite under var/, tasks in-process, debug on. Nothing to configure.

The development tools (demo data, population generator, benchmarks) are installed and routed
here, never in production."""
from .base import *  # noqa: F403
from .base import INSTALLED_APPS, env

DEBUG = env.bool("DJANGO_DEBUG", default=True)
INSTALLED_APPS = [*INSTALLED_APPS, "devtools"]
# The product's routes plus the benchmarks' baselines under /bench/.
ROOT_URLCONF = "devtools.bench.urls"
