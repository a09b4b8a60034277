"""The beat schedule names only tasks the workers know (a typo would silently schedule nothing)."""
from django.conf import settings

from config.celery_app import app


def test_every_scheduled_task_is_registered():
    app.loader.import_default_modules()
    scheduled = {entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}
    assert scheduled == {
        "health.tasks.statuses_sweep",
        "health.tasks.itinerary_purge",
        "health.tasks.stays_partitions_ensure",
        "health.tasks.statuses_verify_sample",
    }
    assert scheduled <= set(app.tasks)
