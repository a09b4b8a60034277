"""What an operator runs after a policy change: each id range marked once, then sent as one range task."""
import logging

import pytest
from django.utils import timezone

from devtools.population import population_generate
from health.models import HealthStatus
from health.services import status_fanout, statuses
from health.services.policy import policy_republish
from health.services.statuses import policy_current, statuses_sweep

pytestmark = pytest.mark.django_db


def _spy_ranges(monkeypatch) -> list[tuple[int, int]]:
    """Record the ranges sent (the tasks still run, in-process here as without a broker)."""
    sent: list[tuple[int, int]] = []
    real = statuses.statuses_enqueue_ranges

    def recording(ranges, *, cause=""):
        ranges = list(ranges)
        sent.extend(ranges)
        return real(ranges, cause=cause)

    monkeypatch.setattr(status_fanout, "statuses_enqueue_ranges", recording)
    return sent


def test_publishing_a_version_marks_each_range_once_and_sends_it_as_one_range_task(
    settings, monkeypatch, django_capture_on_commit_callbacks
):
    # given 250 computed persons and ranges of 100
    settings.STATUS_RECOMPUTE_CHUNK_SIZE = 100
    population_generate(persons=250, seed=5)
    before = dict(HealthStatus.objects.values_list("person_id", "inputs_version"))
    sent = _spy_ranges(monkeypatch)

    # when a new version is published
    with django_capture_on_commit_callbacks(execute=True):
        version = policy_republish(actor=None, base=policy_current()).version

    # then three ranges were sent, covering everyone once, in order
    ids = sorted(before)
    assert len(sent) == 3
    assert (sent[0][0], sent[-1][1]) == (ids[0], ids[-1])
    assert [len([pk for pk in ids if first <= pk <= last]) for first, last in sent] == [100, 100, 50]
    # and everyone was marked once (one more inputs version) and recomputed with the new version
    after = {row[0]: row[1:] for row in HealthStatus.objects.values_list("person_id", "inputs_version", "computed_version", "dirty", "policy_version")}
    assert {pk: row[0] for pk, row in after.items()} == {pk: v + 1 for pk, v in before.items()}
    assert all(row[1] == row[0] and row[2] is False and row[3] == version for row in after.values())


def test_a_broker_that_refuses_a_range_is_not_asked_again_and_the_sweep_finishes_the_run(
    settings, monkeypatch, django_capture_on_commit_callbacks, caplog
):
    # given 250 computed persons, ranges of 100, and a broker that refuses every publish
    settings.STATUS_RECOMPUTE_CHUNK_SIZE = 100
    settings.STATUS_SWEEP_GRACE_SECONDS = 0
    population_generate(persons=250, seed=6)
    attempts = []

    def refused(ranges, *, cause=""):
        attempts.append(list(ranges))
        raise ConnectionError("broker down")

    monkeypatch.setattr(status_fanout, "statuses_enqueue_ranges", refused)
    monkeypatch.setattr(status_fanout, "_eager", lambda: False)

    # when everyone is recomputed after a policy change
    with caplog.at_level(logging.WARNING, logger="health.services.statuses"):
        with django_capture_on_commit_callbacks(execute=True):
            marked = statuses.statuses_recompute_all(cause="policy_change")

    # then everyone is marked dirty, the broker was asked once (not once per range), and it is logged
    assert marked == 250
    assert len(attempts) == 1
    assert HealthStatus.objects.filter(dirty=True, dirty_cause="policy_change").count() == 250
    assert "not enqueued" in caplog.text

    # when the broker is back and the sweep runs (tasks in-process here)
    monkeypatch.undo()
    with django_capture_on_commit_callbacks(execute=True):
        statuses_sweep(now=timezone.now() + timezone.timedelta(seconds=1))

    # then nobody is left dirty
    assert not HealthStatus.objects.filter(dirty=True).exists()


def test_recompute_all_durable_with_a_broker_marks_each_range_and_sends_it(
    settings, monkeypatch, django_capture_on_commit_callbacks
):
    # given 250 computed persons and a broker (not the in-process mode): the ranges sent are recorded
    from django.core.management import call_command

    from config.celery_app import app

    population_generate(persons=250, seed=8)
    before = dict(HealthStatus.objects.values_list("person_id", "inputs_version"))
    sent = []
    monkeypatch.setitem(app.conf, "task_always_eager", False)
    monkeypatch.setattr(status_fanout, "statuses_enqueue_ranges", lambda ranges, *, cause="": sent.extend(ranges) or len(sent))

    # when the operator runs a durable full recompute in ranges of 100
    with django_capture_on_commit_callbacks(execute=True):
        call_command("recompute_statuses", "--all", "--durable", "--chunk-size", "100")

    # then everyone was marked once, with the operator's cause, and three ranges were sent in order
    after = dict(HealthStatus.objects.values_list("person_id", "inputs_version"))
    assert after == {pk: version + 1 for pk, version in before.items()}
    assert set(HealthStatus.objects.values_list("dirty", "dirty_cause")) == {(True, "recompute_all")}
    ids = sorted(before)
    assert [len([pk for pk in ids if first <= pk <= last]) for first, last in sent] == [100, 100, 50]
