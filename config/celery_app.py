"""The Celery application: configured from Django settings (CELERY_* names)."""
import os

from celery import Celery
from celery.signals import task_postrun, task_prerun

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")

app = Celery("health_kit")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@task_prerun.connect
@task_postrun.connect
def database_connections_tidied(sender=None, **kwargs) -> None:
    """Before and after each task, what Django does around each request: a kept connection is
    closed only when it is older than CONN_MAX_AGE or broken (and checked first, CONN_HEALTH_CHECKS).

    Celery's own Django fixup closes the connection around every task instead (unless
    CELERY_DB_REUSE_MAX, set in the settings, tells it otherwise): a new PostgreSQL connection per
    task cost ~27 ms of a single person's propagation (docs/scaling.md, "Fourth round").
    An eager task runs inside its caller's request or transaction, which owns the connection.
    """
    if sender is not None and getattr(sender.request, "is_eager", False):
        return
    from django.db import close_old_connections

    close_old_connections()
