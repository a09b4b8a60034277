"""The embedded default: SQLite under var/, tasks in-process, debug on. Nothing to configure."""
from .base import *  # noqa: F403
from .base import env

DEBUG = env.bool("DJANGO_DEBUG", default=True)
