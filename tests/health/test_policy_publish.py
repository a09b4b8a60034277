"""Policy versions: numbered without gaps or clashes, even when published concurrently."""
import threading

import pytest
from django.conf import settings
from django.db import connections

from health.models import Policy
from health.services.policy import policy_publish

PARAMETERS = dict(
    window_days=14,
    min_stay_hours=4,
    nat_valid_days=7,
    inbound_observation_days=28,
    inbound_arrival_grace_days=1,
    eligible_provinces=["11", "12", "13"],
    home_region="110000",
)


def test_a_policy_row_created_without_provinces_keeps_jjj(db):
    assert Policy(version=99).eligible_provinces == ["11", "12", "13"]


def test_publishing_takes_the_next_version(db):
    before = Policy.objects.order_by("-version").first().version
    policy = policy_publish(actor=None, **PARAMETERS)
    assert policy.version == before + 1


# Skipped before any database setup on SQLite (which serialises writers: no race to lose); the
# serialized rollback restores the migrations' data (regions, policy v1) for the tests after it.
@pytest.mark.skipif("sqlite" in settings.DATABASES["default"]["ENGINE"], reason="needs concurrent writers (PostgreSQL)")
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_concurrent_publications_each_get_their_own_version():
    before = Policy.objects.count()
    barrier = threading.Barrier(4)
    errors = []

    def publish(index: int) -> None:
        try:
            barrier.wait()
            policy_publish(actor=None, comment=f"concurrent {index}", **PARAMETERS)
        except Exception as error:  # noqa: BLE001 - collected and asserted below
            errors.append(error)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=publish, args=(index,)) for index in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert errors == []
    versions = sorted(Policy.objects.values_list("version", flat=True))
    assert len(versions) == before + 4
    assert versions == list(range(1, len(versions) + 1))
