"""Publishing to a broker that is down fails fast, and the change it was for is kept (no worker needed)."""
import time
from datetime import timedelta

import pytest
from django.db import transaction
from django.utils import timezone

from health.models import Designation, HealthStatus, StatusEvent
from health.services.persons import person_resolve
from health.services.statuses import persons_mark_dirty, statuses_enqueue, statuses_recompute
from tests import factories
from tests.reliability.helpers import broker, eager_off, free_port, mute_server

pytestmark = pytest.mark.django_db

REFUSED_BOUND = 1.0  # seconds: nothing listens, the connection is refused at once
MUTE_BOUND = 3.0  # seconds: something accepts and never answers; bounded by the socket timeouts (2 s)


def designation_written(person) -> None:
    with transaction.atomic():
        Designation.objects.create(
            person=person, kind="close_contact", designated_at=timezone.now() - timedelta(hours=1)
        )
        persons_mark_dirty([person.pk], cause="designation")


def computed_person():
    person = person_resolve(name="王五", id_number=factories.id_number())
    statuses_recompute([person.pk], cause="person_created")
    return person


def test_a_write_with_a_refusing_broker_returns_at_once_and_keeps_the_dirty_mark(django_capture_on_commit_callbacks):
    # given a person computed as popup, and a broker port nothing listens on
    person = computed_person()
    events = StatusEvent.objects.filter(person=person).count()
    with broker(f"redis://127.0.0.1:{free_port()}/0"), eager_off():
        # when a change is committed (its task published on commit)
        started = time.monotonic()
        with django_capture_on_commit_callbacks(execute=True):
            designation_written(person)
        elapsed = time.monotonic() - started

    # then the write returned quickly; the change is kept and marked, the status awaits the sweep
    print(f"\nwrite with the broker refusing: {elapsed * 1000:.1f} ms")
    assert elapsed < REFUSED_BOUND
    assert Designation.objects.filter(person=person).count() == 1
    status = HealthStatus.objects.get(person=person)
    assert (status.status, status.dirty, status.dirty_cause) == ("popup", True, "designation")
    assert StatusEvent.objects.filter(person=person).count() == events


def test_publishing_to_a_mute_broker_fails_within_the_socket_timeout():
    # given a broker address that accepts connections and never answers
    with mute_server() as port, broker(f"redis://127.0.0.1:{port}/0"), eager_off():
        # when a recomputation is enqueued
        started = time.monotonic()
        sent = statuses_enqueue([1, 2, 3])
        elapsed = time.monotonic() - started

    # then it gives up within the bound and reports that nothing was sent
    print(f"\npublish to a mute broker gave up after {elapsed:.2f} s")
    assert sent is False
    assert elapsed < MUTE_BOUND
