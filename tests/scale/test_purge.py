"""The purge deletes only records no evaluation can see (merged stays ended before retention plus margin), changing no status."""
from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.db import connection
from django.test import Client, override_settings
from django.utils import timezone

from health.models import HealthStatus, ItineraryStay, Policy, StayPurge
from health.retention import judgeable_window_days, retention_days
from health.services.itinerary import StayInput, declaration_submit, stays_ingest
from health.services.persons import person_resolve
from health.services.policy import policy_publish
from health.services.statuses import person_status_fresh, statuses_recompute
from tests import factories

pytestmark = pytest.mark.django_db


def test_purge_deletes_only_what_is_old(capsys):
    # given stays that ended 31 and 40 days ago (past the 28 days kept + 2), 15 and 17 days ago (kept), and open ones
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

    old = [stay("130102", 40, 31), stay("130104", 50, 40)]
    kept = [stay("110108", 20, 15), stay("120101", 18, 17), stay("110105", 300, None), stay("310101", 5, 3)]

    # when the purge runs in batches of one
    call_command("purge_itineraries", "--batch-size", "1")

    # then exactly the old stays are gone, and the status was not touched
    assert "deleted 2 stays" in capsys.readouterr().out
    assert set(ItineraryStay.objects.values_list("pk", flat=True)) == {s.pk for s in kept}
    assert not ItineraryStay.objects.filter(pk__in=[s.pk for s in old]).exists()
    after = HealthStatus.objects.get(person=person)
    assert (after.inputs_version, after.computed_at, after.dirty) == (before.inputs_version, before.computed_at, False)


# --- merged stays: a record goes only with its whole stay -------------------------------------------
def purge_now():
    call_command("purge_itineraries")


def test_the_older_record_of_a_stay_that_goes_on_is_kept_and_the_mismatch_stands(django_capture_on_commit_callbacks):
    # given two touching records of one place: 40 to 31 days ago, and 31 to 1 day ago (one merged stay),
    # and a declaration 35 days ago that names another city: the stay began before it, so 核验失败
    now = timezone.now()
    number = factories.id_number()
    with django_capture_on_commit_callbacks(execute=True):
        stays_ingest(
            actor=None,
            stays=[
                StayInput("张三", number, "130102", now - timedelta(days=40), now - timedelta(days=31)),
                StayInput("张三", number, "130102", now - timedelta(days=31), now - timedelta(days=1)),
            ],
        )
        person = declaration_submit(name="张三", id_number=number, region_codes=["110105"], declared_at=now - timedelta(days=35))
    before = person_status_fresh(person.pk)
    assert (before.status, before.reasons) == ("popup", ["P", "itinerary_mismatch"])

    # when the nightly purge runs, and the person is evaluated afresh
    purge_now()
    statuses_recompute([person.pk], cause="test")

    # then both records are kept, and the answer is still 核验失败, not 未见异常
    assert ItineraryStay.objects.filter(person=person).count() == 2
    after = HealthStatus.objects.get(person=person)
    assert (after.status, after.reasons, after.valid_until) == (before.status, before.reasons, before.valid_until)


def test_every_record_of_a_stay_that_ended_before_the_horizon_goes_together():
    # given a chain of three touching records of one place that ended 31 days ago, and a gap before a recent one
    now = timezone.now()
    person = person_resolve(name="张三", id_number=factories.id_number())
    chain = [(60, 50), (50, 40), (40, 31)]
    for arrived, left in chain:
        ItineraryStay.objects.create(
            person=person, region_id="130102", arrived_at=now - timedelta(days=arrived), left_at=now - timedelta(days=left)
        )
    recent = ItineraryStay.objects.create(person=person, region_id="130102", arrived_at=now - timedelta(days=30), left_at=now)

    # when the purge runs
    purge_now()

    # then the old stay is gone as a whole and the recent one stays
    assert list(ItineraryStay.objects.filter(person=person).values_list("pk", flat=True)) == [recent.pk]


# --- retention: a floor, and every window published in the last 60 days --------------------------------
def stay_ended(days: int, region: str = "130102") -> ItineraryStay:
    now = timezone.now()
    person = person_resolve(name=f"旅客{days}", id_number=factories.id_number(serial=days))
    return ItineraryStay.objects.create(
        person=person, region_id=region, arrived_at=now - timedelta(days=days + 1), left_at=now - timedelta(days=days)
    )


def publish(window_days: int) -> Policy:
    return policy_publish(
        actor=None,
        window_days=window_days,
        min_stay_hours=4,
        nat_valid_days=7,
        inbound_observation_days=28,
        inbound_arrival_grace_days=1,
        eligible_provinces=["11", "12", "13"],
        home_region="110000",
    )


def test_a_mistaken_narrow_window_purged_then_rolled_back_destroys_nothing():
    # given stays that ended 10 and 25 days ago, and a mistaken window of 7 days (the narrowest the
    # parameter's bounds allow: a window of one day is refused outright, docs/rules.md)
    recent, older = stay_ended(10), stay_ended(25)
    publish(7)

    # when the purge runs under it, and the window is rolled back to 14 days
    purge_now()
    publish(14)

    # then nothing within the floor of 28 days was deleted
    assert set(ItineraryStay.objects.values_list("pk", flat=True)) == {recent.pk, older.pk}
    assert StayPurge.objects.get().retention_days == 28


@override_settings(RETENTION_FLOOR_DAYS=40)
def test_the_floor_comes_from_the_settings():
    # given stays that ended 35 and 43 days ago, and a floor of 40 days (plus the margin of 2)
    kept, _gone = stay_ended(35), stay_ended(43)
    # when the purge runs
    purge_now()
    # then only the one past 42 days is deleted
    assert list(ItineraryStay.objects.values_list("pk", flat=True)) == [kept.pk]
    assert retention_days() == 40


def test_the_largest_window_published_in_the_last_60_days_is_kept_whatever_the_current_one():
    # given a window of 30 days (the widest allowed) published, then 14 again; and stays that ended 31 and 33 days ago
    publish(30)
    publish(14)
    kept, _gone = stay_ended(31), stay_ended(33)
    # when the purge runs
    purge_now()
    # then 30 + 2 days are kept
    assert retention_days() == 30
    assert list(ItineraryStay.objects.values_list("pk", flat=True)) == [kept.pk]


def test_a_window_published_more_than_60_days_ago_no_longer_counts():
    # given a window of 30 days published 61 days ago, and 14 since (a published version is never
    # edited: its publication time is moved back in SQL, as 61 days passing would)
    publish(30)
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {Policy._meta.db_table} SET created_at = %s WHERE window_days = 30",
            [timezone.now() - timedelta(days=61)],
        )
    publish(14)
    # then the floor alone is kept
    assert retention_days() == 28


# --- a window longer than the data kept is refused ---------------------------------------------------------
def test_a_window_longer_than_the_data_kept_is_refused_by_the_service():
    # given a purge that kept 28 + 2 days
    purge_now()
    versions = Policy.objects.count()
    # when a window of 31 days is published, then it is refused with the reason, and nothing is written
    with pytest.raises(ValidationError) as refused:
        publish(31)
    assert "30" in refused.value.message_dict["window_days"][0]
    assert Policy.objects.count() == versions
    # and a window the data kept can judge is published
    assert publish(30).window_days == 30


def test_before_any_purge_every_window_can_be_published():
    assert judgeable_window_days() is None
    assert publish(30).window_days == 30


def test_a_window_longer_than_the_data_kept_is_refused_in_the_admin(admin_user):
    # given a purge that kept 28 + 2 days
    purge_now()
    versions = Policy.objects.count()
    browser = Client()
    browser.force_login(admin_user)
    form = {
        "window_days": 31,
        "min_stay_hours": 4,
        "nat_valid_days": 7,
        "inbound_observation_days": 28,
        "inbound_arrival_grace_days": 1,
        "eligible_provinces": "11,12,13",
        "home_region": "110000",
        "comment": "",
    }
    # when an administrator publishes 31 days, then the form shows why and nothing is published
    response = browser.post("/admin/health/policy/add/", form)
    assert response.status_code == 200
    assert "行程数据只保留了最近 30 天" in response.content.decode()
    assert Policy.objects.count() == versions
    # and 30 days is published, once its impact preview is confirmed
    preview = browser.post("/admin/health/policy/add/", {**form, "window_days": 30})
    assert 'id="impact-preview"' in preview.content.decode() and Policy.objects.count() == versions
    assert browser.post("/admin/health/policy/add/", {**form, "window_days": 30, "_impact_confirmed": "1"}).status_code == 302
    assert Policy.objects.count() == versions + 1
