"""The purge deletes only stays that ended before the window plus the margin, and changes no status."""
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone

from health.models import HealthStatus, ItineraryStay
from health.services.persons import person_resolve
from health.services.statuses import statuses_recompute
from tests import factories

pytestmark = pytest.mark.django_db


def test_purge_deletes_only_what_is_old(capsys):
    # given stays that ended 17 and 30 days ago (past 14 + 2), 15 days ago (kept), and long open ones
    now = timezone.now()
    person = person_resolve(name="张三", id_number=factories.id_number())
    statuses_recompute([person.pk])
    before = HealthStatus.objects.get(person=person)

    def stay(region, arrived_days, left_days):
        return ItineraryStay.objects.create(
            person=person,
            region_id=region,
            arrived_at=now - timedelta(days=arrived_days),
            left_at=None if left_days is None else now - timedelta(days=left_days),
        )

    old = [stay("130102", 40, 30), stay("120101", 18, 17)]
    kept = [stay("110108", 20, 15), stay("110105", 300, None), stay("310101", 5, 3)]

    # when the purge runs in batches of one
    call_command("purge_itineraries", "--batch-size", "1")

    # then exactly the old stays are gone, and the status was not touched
    assert "deleted 2 stays" in capsys.readouterr().out
    assert set(ItineraryStay.objects.values_list("pk", flat=True)) == {s.pk for s in kept}
    assert not ItineraryStay.objects.filter(pk__in=[s.pk for s in old]).exists()
    after = HealthStatus.objects.get(person=person)
    assert (after.inputs_version, after.computed_at, after.dirty) == (before.inputs_version, before.computed_at, False)
