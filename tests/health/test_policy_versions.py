"""Policy versions: parameters within bounds, versions never edited or deleted, rollback as a new version,
and a planned start that the sweep applies at its moment, recomputing everyone exactly once."""
import threading
import time
from datetime import timedelta

import pytest
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import connections
from django.test import Client, TestCase
from django.utils import timezone

from health.identity import id_number_digest
from health.models import POLICY_BOUNDS, HealthStatus, Person, Policy, PolicyActivation, Region
from health.services.itinerary import StayInput, stays_ingest
from health.services.policy import policy_activate_due, policy_publish, policy_republish
from health.services.risk_areas import risk_area_create
from health.services.statuses import policy_current, statuses_sweep
from tests import factories

PARAMETERS = dict(
    window_days=14,
    min_stay_hours=4,
    nat_valid_days=7,
    inbound_observation_days=28,
    inbound_arrival_grace_days=1,
    eligible_provinces=["11", "12", "13"],
    home_region="110000",
)


def latest() -> Policy:
    return Policy.objects.order_by("-version").first()


def publish(**changes) -> Policy:
    with TestCase.captureOnCommitCallbacks(execute=True):
        return policy_publish(actor=None, **{**PARAMETERS, **changes})


# --- bounds ----------------------------------------------------------------------------------------
BOUNDARY_CASES = [
    (name, value, accepted)
    for name, (low, high) in POLICY_BOUNDS.items()
    for value, accepted in ((low - 1, False), (low, True), (high, True), (high + 1, False))
    if value >= 0
] + [("window_days", 32767, False), ("min_stay_hours", 0, False), ("nat_valid_days", 0, False)]


@pytest.mark.parametrize("name, value, accepted", BOUNDARY_CASES)
def test_each_parameter_is_published_only_within_its_bounds(db, name, value, accepted):
    before = latest().version
    if accepted:
        assert getattr(publish(**{name: value}), name) == value
        assert latest().version == before + 1
    else:
        with pytest.raises(ValidationError) as refused:
            publish(**{name: value})
        assert list(refused.value.message_dict) == [name]
        assert latest().version == before  # nothing published


def test_the_documented_bounds_are_the_enforced_ones():
    # docs/rules.md has a row per parameter with its bounds as "low–high"
    text = (settings.BASE_DIR / "docs" / "rules.md").read_text(encoding="utf-8")
    for name, (low, high) in POLICY_BOUNDS.items():
        row = next(line for line in text.splitlines() if line.startswith(f"| `{name.upper()}`"))
        assert f"{low}–{high}" in row, row


@pytest.mark.parametrize(
    "provinces, home, field",
    [
        (["00", "11"], "110000", "eligible_provinces"),
        (["11", "99"], "110000", "eligible_provinces"),
        ([], "110000", "eligible_provinces"),
        (["110000"], "110000", "eligible_provinces"),
        (["11"], "110105", "home_region"),  # a district
        (["11"], "110100", "home_region"),  # Beijing's synonym, not a province-level code
        (["11", "13"], "130100", "home_region"),  # a prefecture-level city
        (["11"], "990000", "home_region"),
        (["12", "13"], "110000", "eligible_provinces"),  # home's own province not eligible
    ],
)
def test_provinces_must_be_real_and_home_a_province(db, provinces, home, field):
    before = latest().version
    with pytest.raises(ValidationError) as refused:
        publish(eligible_provinces=provinces, home_region=home)
    assert field in refused.value.message_dict
    assert latest().version == before


def test_any_real_province_may_be_eligible_and_home(db):
    policy = publish(eligible_provinces=["12", "13", "65", "71", "81", "82"], home_region="120000")
    assert (policy.eligible_provinces, policy.home_region) == (["12", "13", "65", "71", "81", "82"], "120000")


# --- never edited, never deleted -------------------------------------------------------------------
def test_a_published_version_is_never_edited_or_deleted(db):
    policy = publish(window_days=10)
    policy.window_days = 20
    with pytest.raises(ValidationError):
        policy.save()
    with pytest.raises(ValidationError):
        Policy.objects.get(pk=policy.pk).delete()
    with pytest.raises(ValidationError):
        Policy.objects.filter(pk=policy.pk).delete()
    with pytest.raises(ValidationError):
        Policy.objects.filter(pk=policy.pk).update(window_days=20)
    assert Policy.objects.get(pk=policy.pk).window_days == 10


def test_a_rollback_is_a_new_version_with_the_old_values(db):
    old = latest()
    mistaken = publish(window_days=7, min_stay_hours=12, comment="误")
    rolled_back = policy_republish(actor=None, base=old)
    assert rolled_back.version == mistaken.version + 1
    for name in PARAMETERS:
        assert getattr(rolled_back, name) == getattr(old, name)
    assert (Policy.objects.get(pk=mistaken.pk).window_days, policy_current().version) == (7, rolled_back.version)


def browser(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def form(**changes) -> dict:
    return {**PARAMETERS, "eligible_provinces": "11,12,13", "comment": "", "effective_from": "", **changes}


@pytest.mark.parametrize(
    "changes, field",
    [
        ({"window_days": 0}, "window_days"),
        ({"window_days": 32767}, "window_days"),
        ({"min_stay_hours": 0}, "min_stay_hours"),
        ({"nat_valid_days": 0}, "nat_valid_days"),
        ({"inbound_observation_days": 0}, "inbound_observation_days"),
        ({"inbound_arrival_grace_days": 8}, "inbound_arrival_grace_days"),
        ({"eligible_provinces": "00,11,99"}, "eligible_provinces"),
        ({"home_region": "110105"}, "home_region"),
        ({"effective_from": "2020-01-01 00:00:00"}, "effective_from"),
    ],
)
def test_the_admin_form_refuses_what_is_out_of_bounds_and_publishes_nothing(admin_user, changes, field):
    before = latest().version
    response = browser(admin_user).post("/admin/health/policy/add/", form(**changes))
    assert response.status_code == 200
    assert field in response.context["adminform"].form.errors
    assert latest().version == before


def test_the_admin_neither_changes_nor_deletes_a_version(admin_user):
    policy = latest()
    client = browser(admin_user)
    assert client.post(f"/admin/health/policy/{policy.pk}/change/", form(window_days=7)).status_code == 403
    assert client.post(f"/admin/health/policy/{policy.pk}/delete/", {"post": "yes"}).status_code == 403
    bulk = client.post(
        "/admin/health/policy/", {"action": "delete_selected", "_selected_action": [policy.pk], "post": "yes"}
    )
    assert Policy.objects.filter(pk=policy.pk).exists()
    assert bulk.status_code in (200, 302)
    assert "delete_selected" not in client.get("/admin/health/policy/").content.decode()


def test_the_admin_publishes_a_new_version_based_on_an_old_one(admin_user):
    # given v1 and a mistaken v2
    old = latest()
    publish(window_days=7, comment="误")
    client = browser(admin_user)
    # when the administrator picks v1 and the action "以此版本为基础发布新版本"
    picked = client.post("/admin/health/policy/", {"action": "publish_based_on", "_selected_action": [old.pk]})
    # then the form opens filled with v1's values
    assert picked.status_code == 302
    assert picked["Location"].endswith(f"/admin/health/policy/add/?base={old.pk}")
    page = client.get(picked["Location"])
    initial = page.context["adminform"].form.initial
    assert (initial["window_days"], initial["eligible_provinces"], initial["home_region"]) == (14, "11,12,13", "110000")
    # and publishing it makes v3 with those values, v1 and v2 untouched
    with TestCase.captureOnCommitCallbacks(execute=True):
        done = client.post(picked["Location"], form(comment=str(initial["comment"])) | {"_impact_confirmed": "1"})
    assert done.status_code == 302
    assert (latest().version, latest().window_days, policy_current().version) == (old.version + 2, 14, old.version + 2)
    assert Policy.objects.get(version=old.version + 1).window_days == 7


def test_picking_two_versions_for_a_rollback_is_refused(admin_user):
    publish(window_days=7)
    response = browser(admin_user).post(
        "/admin/health/policy/", {"action": "publish_based_on", "_selected_action": list(Policy.objects.values_list("pk", flat=True))}
    )
    assert response.status_code == 302
    assert response["Location"].endswith("/admin/health/policy/")


# --- a planned start -------------------------------------------------------------------------------
def stayed_ten_days_ago_in_a_risky_city() -> Person:
    payload = factories.person_payload("张三")
    now = timezone.now()
    with TestCase.captureOnCommitCallbacks(execute=True):
        risk_area_create(actor=None, region=Region.objects.get(code="130100"), level="high", effective_from=now - timedelta(days=30))
        stays_ingest(
            actor=None,
            stays=[StayInput("张三", payload["id_number"], "130100", now - timedelta(days=11), now - timedelta(days=10))],
        )
    return Person.objects.get(id_digest=id_number_digest(payload["id_number"]))


def test_a_planned_version_is_shown_then_applied_by_the_sweep_at_its_moment_exactly_once(db, admin_user):
    # given a person whose stay 10 days ago in a risky city counts under the 14-day window
    person = stayed_ten_days_ago_in_a_risky_city()
    before = HealthStatus.objects.get(person=person)
    assert before.reasons == ["P", "itinerary_risky_area", "itinerary_not_declared"]
    current = latest().version
    # when a 7-day window is published to start in two seconds
    start = timezone.now() + timedelta(seconds=2)
    planned = publish(window_days=7, effective_from=start, comment="七天")
    # then nothing changes yet: the old version is in force, nobody is marked, the dashboard announces it
    assert policy_current().version == current
    assert HealthStatus.objects.get(person=person).inputs_version == before.inputs_version
    with TestCase.captureOnCommitCallbacks(execute=True):
        assert "policy_activated" not in statuses_sweep()
    home = browser(admin_user).get("/admin/").content.decode()
    assert f"v{planned.version} 将于 {timezone.localtime(start):%Y-%m-%d %H:%M}" in home
    assert not PolicyActivation.objects.filter(policy=planned).exists()
    # when the moment has come, the sweep applies it: everyone recomputed under the new version
    time.sleep(max(0.0, (start - timezone.now()).total_seconds()) + 0.05)
    with TestCase.captureOnCommitCallbacks(execute=True):
        swept = statuses_sweep()
    assert swept["policy_activated"] == planned.version
    after = HealthStatus.objects.get(person=person)
    assert (after.policy_version, after.reasons) == (planned.version, ["P", "itinerary_unverifiable", "itinerary_not_declared"])
    assert after.inputs_version == before.inputs_version + 1
    # and exactly once: later sweeps mark nobody for it again
    with TestCase.captureOnCommitCallbacks(execute=True):
        assert "policy_activated" not in statuses_sweep()
        assert policy_activate_due() is None
    assert HealthStatus.objects.get(person=person).inputs_version == after.inputs_version
    assert PolicyActivation.objects.filter(policy=planned).count() == 1
    assert f"v{planned.version} 将于" not in browser(admin_user).get("/admin/").content.decode()


def test_an_immediate_version_takes_effect_once_at_publication(db):
    person = stayed_ten_days_ago_in_a_risky_city()
    version = HealthStatus.objects.get(person=person).inputs_version
    policy = publish(window_days=7)
    assert PolicyActivation.objects.filter(policy=policy).count() == 1
    assert HealthStatus.objects.get(person=person).inputs_version == version + 1
    with TestCase.captureOnCommitCallbacks(execute=True):
        assert "policy_activated" not in statuses_sweep()
    assert HealthStatus.objects.get(person=person).inputs_version == version + 1


def test_a_planned_start_in_the_past_is_refused(db):
    before = latest().version
    with pytest.raises(ValidationError) as refused:
        publish(effective_from=timezone.now() - timedelta(hours=1))
    assert list(refused.value.message_dict) == ["effective_from"]
    assert latest().version == before


def test_a_planned_version_overtaken_by_a_later_one_never_takes_effect(db):
    now = timezone.now()
    later = publish(window_days=10, effective_from=now + timedelta(days=2))
    sooner = publish(window_days=21, effective_from=now + timedelta(days=1))
    # at the day after tomorrow the higher version (already in force since tomorrow) stays
    assert policy_current(now=now + timedelta(days=1, seconds=1)).version == sooner.version
    assert policy_current(now=now + timedelta(days=3)).version == sooner.version
    assert later.version < sooner.version


def test_the_health_dashboard_lists_planned_versions_in_order(db):
    now = timezone.now()
    first = publish(window_days=10, effective_from=now + timedelta(days=1))
    second = publish(window_days=12, effective_from=now + timedelta(days=2))
    health = factories.staff(organisation=factories.department("health"))
    page = browser(health).get("/admin/").content.decode()
    assert page.index(f"v{first.version} 将于") < page.index(f"v{second.version} 将于")
    assert "/admin/health/policy/" not in page  # the versions' page is the administrators'


# Skipped before any database setup on SQLite (one writer at a time: no race to lose).
@pytest.mark.skipif("sqlite" in settings.DATABASES["default"]["ENGINE"], reason="needs concurrent writers (PostgreSQL)")
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_concurrent_sweeps_activate_a_version_once():
    start = timezone.now() + timedelta(seconds=1)
    planned = policy_publish(actor=None, effective_from=start, **PARAMETERS)
    time.sleep(max(0.0, (start - timezone.now()).total_seconds()) + 0.05)
    barrier = threading.Barrier(4)
    results, errors = [], []

    def sweep() -> None:
        try:
            barrier.wait()
            results.append(policy_activate_due())
        except Exception as error:  # noqa: BLE001 - collected and asserted below
            errors.append(error)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=sweep) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert errors == []
    assert sorted(results, key=lambda result: result or 0) == [None, None, None, planned.version]
    assert PolicyActivation.objects.filter(policy=planned).count() == 1


def test_the_admin_list_shows_which_version_is_in_force_planned_or_overtaken(admin_user):
    now = timezone.now()
    overtaken = publish(window_days=10, effective_from=now + timedelta(days=2))
    planned = publish(window_days=12, effective_from=now + timedelta(days=1))
    page = browser(admin_user).get("/admin/health/policy/")
    rows = {row[0]: row for row in page.context["cl"].result_list.values_list("version")}
    assert set(rows) == {1, overtaken.version, planned.version}
    html = page.content.decode()
    assert "现行" in html
    assert f"将于 {timezone.localtime(planned.effective_from):%Y-%m-%d %H:%M}" in html
    assert "不会生效（已被编号更大的版本取代）" in html
