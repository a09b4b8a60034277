"""Impact preview: what a risk area or a policy version would change, equal to what saving it then does, writing nothing."""
import re
from collections import Counter
from datetime import timedelta

import pytest
from django.db import connection
from django.test import Client, TestCase
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from devtools.population import population_generate
from health import impact
from health.models import HealthStatus, Policy, Region, RiskArea, StatusAccess, StatusEvent
from health.services.risk_areas import risk_area_create, risk_area_update
from health.services.statuses import persons_at_region, policy_current
from tests import factories

pytestmark = pytest.mark.django_db

WRITES = re.compile(r"^\s*(INSERT|UPDATE|DELETE|CREATE|DROP|COPY)\b", re.IGNORECASE)


def city(persons: int = 300) -> None:
    """A generated city a minute old (a tenth of it lives in 朝阳 110105), every status computed."""
    population_generate(persons=persons, seed=11, now=timezone.now() - timedelta(minutes=1))


def browser(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def events_since(pk: int) -> Counter:
    return Counter(StatusEvent.objects.filter(pk__gt=pk).values_list("old_status", "new_status"))


def last_event_pk() -> int:
    return StatusEvent.objects.order_by("-pk").values_list("pk", flat=True).first() or 0


def snapshot() -> list[tuple]:
    return list(
        HealthStatus.objects.order_by("person_id").values_list(
            "person_id", "status", "reasons", "valid_until", "dirty", "inputs_version"
        )
    )


def test_a_risk_area_preview_equals_what_saving_it_does_and_writes_nothing():
    # given a city
    city()
    region = Region.objects.get(code="110105")
    start = timezone.now() - timedelta(days=5)
    before, mark = snapshot(), last_event_pk()

    # when a designation of 朝阳 is previewed
    with CaptureQueriesContext(connection) as queries:
        preview = impact.risk_area_impact(region_code="110105", level="high", effective_from=start, effective_to=None)

    # then nothing was written (no statement that writes, every status as it was)
    assert [q["sql"] for q in queries.captured_queries if WRITES.match(q["sql"])] == []
    assert snapshot() == before and last_event_pk() == mark and not RiskArea.objects.filter(region=region).exists()
    # and the candidates are the fan-out's own selection, some of which change
    assert preview.candidates == len(persons_at_region("110105")) > 0
    assert preview.evaluated == preview.candidates
    assert 0 < preview.changed == sum(preview.transitions.values())
    assert len(preview.sample) == min(preview.changed, impact.SAMPLE_SHOWN)
    assert all(re.fullmatch(r"\d{6}\*{8}[\dX]{4}", row["id_masked"]) for row in preview.sample)

    # when the same designation is saved through the service
    with TestCase.captureOnCommitCallbacks(execute=True):
        area = risk_area_create(actor=None, region=region, level="high", effective_from=start)

    # then exactly the previewed persons changed, from and to the previewed statuses
    assert events_since(mark) == preview.transitions

    # and moving it two months back (it then reaches no stay in the window) is previewed just as exactly:
    # the stored designation is replaced in the preview, not added to
    moved_from, moved_to = timezone.now() - timedelta(days=60), timezone.now() - timedelta(days=59)
    mark = last_event_pk()
    moving = impact.risk_area_impact(
        region_code="110105", level="high", effective_from=moved_from, effective_to=moved_to, replacing=area
    )
    with TestCase.captureOnCommitCallbacks(execute=True):
        risk_area_update(actor=None, risk_area=area, effective_from=moved_from, effective_to=moved_to)
    assert moving.changed == sum(preview.transitions.values())
    assert events_since(mark) == moving.transitions == Counter({(new, old): n for (old, new), n in preview.transitions.items()})


def test_the_admin_shows_the_preview_before_saving_a_risk_area_then_saves_on_confirmation():
    # given a city and a health-department member
    city()
    health = factories.staff(organisation=factories.department("health"))
    form = {
        "region": "110105",
        "level": "medium",
        "effective_from_0": (timezone.localtime() - timedelta(days=3)).strftime("%Y-%m-%d"),
        "effective_from_1": "08:00:00",
        "_save": "保存",
    }
    before, mark, accesses = snapshot(), last_event_pk(), StatusAccess.objects.count()

    # when the add form is saved the first time
    page = browser(health).post("/admin/health/riskarea/add/", form)

    # then the preview is shown, with the counts, the transitions and masked examples, and nothing is saved
    html = page.content.decode()
    assert page.status_code == 200 and 'id="impact-preview"' in html
    changed = int(re.search(r"保存后 (\d+) 人的健康状态或判定依据将改变", html).group(1))
    assert changed > 0 and 'id="impact-transitions"' in html and 'id="impact-sample"' in html
    assert re.search(r"\d{6}\*{8}[\dX]{4}", html)
    assert not RiskArea.objects.filter(region_id="110105").exists()
    assert (snapshot(), last_event_pk()) == (before, mark)
    # but the masked persons shown are a staff read on record, one row each
    shown = re.findall(r"<tr><td>(\d{6}\*{8}[\dX]{4})</td>", html)
    assert len(shown) == min(changed, impact.SAMPLE_SHOWN)
    logged = StatusAccess.objects.filter(user=health, purpose="影响预览")
    assert StatusAccess.objects.count() - accesses == logged.count() == len(shown)
    assert sorted(logged.values_list("person__id_masked", flat=True)) == sorted(shown)
    # and the values typed are carried to the confirmation
    assert 'name="_impact_confirmed"' in html and 'name="region" value="110105"' in html

    # when it is confirmed
    with TestCase.captureOnCommitCallbacks(execute=True):
        saved = browser(health).post("/admin/health/riskarea/add/", form | {"_impact_confirmed": "1"})

    # then it is saved through the service, and as many persons changed as the preview said
    assert saved.status_code == 302
    assert RiskArea.objects.filter(region_id="110105", level="medium").count() == 1
    assert sum(events_since(mark).values()) == changed


def test_a_form_with_errors_is_shown_as_usual_without_a_preview():
    health = factories.staff(organisation=factories.department("health"))
    page = browser(health).post("/admin/health/riskarea/add/", {"region": "110105", "level": "extreme"})
    html = page.content.decode()
    assert page.status_code == 200 and 'id="impact-preview"' not in html and "errornote" in html
    assert not RiskArea.objects.exists()


def test_a_policy_preview_equals_what_publishing_it_does():
    # given a city, and a policy that accepts certificates for 2 days instead of 7 and a 7-day window
    city()
    proposed = impact.policy_proposed(
        {
            "window_days": 7,
            "min_stay_hours": 4,
            "nat_valid_days": 2,
            "inbound_observation_days": 28,
            "inbound_arrival_grace_days": 1,
            "eligible_provinces": ["11", "12", "13"],
            "home_region": "110000",
        }
    )
    before, mark = snapshot(), last_event_pk()

    # when it is previewed
    with CaptureQueriesContext(connection) as queries:
        preview = impact.policy_impact(proposed=proposed)

    # then everyone was evaluated, nothing written, and some would change
    assert [q["sql"] for q in queries.captured_queries if WRITES.match(q["sql"])] == []
    assert (snapshot(), last_event_pk(), Policy.objects.count()) == (before, mark, 1)
    assert preview.candidates == preview.evaluated == 300 and not preview.estimated
    assert preview.changed > 0

    # when it is published through the admin, after its preview
    admin = factories.staff(admin=True)
    form = {
        "window_days": 7, "min_stay_hours": 4, "nat_valid_days": 2, "inbound_observation_days": 28,
        "inbound_arrival_grace_days": 1, "eligible_provinces": "11,12,13", "home_region": "110000", "comment": "",
    }  # fmt: skip
    page = browser(admin).post("/admin/health/policy/add/", form)
    assert f"保存后 {preview.changed} 人的健康状态或判定依据将改变" in page.content.decode()
    with TestCase.captureOnCommitCallbacks(execute=True):
        assert browser(admin).post("/admin/health/policy/add/", form | {"_impact_confirmed": "1"}).status_code == 302

    # then the statuses changed exactly as previewed
    assert Policy.objects.count() == 2
    assert events_since(mark) == preview.transitions


def test_a_policy_preview_of_a_large_city_is_an_estimate_from_a_sample():
    city(200)
    preview = impact.policy_impact(proposed=policy_current(), limit=50)
    assert (preview.estimated, preview.evaluated, preview.candidates) == (True, 50, 200)
    # the parameters in force change nobody
    assert preview.changed == 0


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
@pytest.mark.skipif(
    connection.vendor != "postgresql", reason="the parallel preview runs on PostgreSQL only (SQLite: one process)"
)
def test_the_parallel_preview_counts_what_one_process_counts_and_leaves_the_connection_working(monkeypatch):
    # given a committed city (the processes of the preview read what is committed)
    city(240)
    start = timezone.now() - timedelta(days=2)

    def preview():
        return impact.risk_area_impact(region_code="110000", level="high", effective_from=start, effective_to=None)

    # when the same designation is previewed in one process, then split over processes
    monkeypatch.setattr(impact, "PARALLEL_MIN_PERSONS", 10**9)
    alone = preview()
    monkeypatch.setattr(impact, "PARALLEL_MIN_PERSONS", 10)
    split = preview()

    # then they count the same, and this process's connection still serves queries
    assert (split.candidates, split.evaluated, split.changed, split.transitions) == (
        alone.candidates, alone.evaluated, alone.changed, alone.transitions,
    )  # fmt: skip
    assert alone.changed > 0 and len(split.sample) == min(alone.changed, impact.SAMPLE_SHOWN)
    assert HealthStatus.objects.count() == 240


def test_changing_a_risk_area_in_the_admin_previews_the_change_then_saves_it():
    # given a designation of 朝阳 in force since five days, saved through the service
    city()
    start = timezone.localtime() - timedelta(days=5)
    with TestCase.captureOnCommitCallbacks(execute=True):
        area = risk_area_create(actor=None, region=Region.objects.get(code="110105"), level="high", effective_from=start)
    health = factories.staff(organisation=factories.department("health"))
    # moved two months back, it reaches no stay in the window any more
    moved = timezone.localtime() - timedelta(days=60)
    form = {
        "level": "high",
        "effective_from_0": moved.strftime("%Y-%m-%d"), "effective_from_1": "08:00:00",
        "effective_to_0": (moved + timedelta(days=1)).strftime("%Y-%m-%d"), "effective_to_1": "08:00:00",
        "_save": "保存",
    }  # fmt: skip
    mark = last_event_pk()
    expected = impact.risk_area_impact(
        region_code="110105", level="high", effective_from=area.effective_from, effective_to=None, replacing=area
    )
    assert expected.changed == 0  # the designation as stored changes nobody

    # when the change form is saved: the preview of the change, nothing saved
    page = browser(health).post(f"/admin/health/riskarea/{area.pk}/change/", form)
    html = page.content.decode()
    changed = int(re.search(r"保存后 (\d+) 人的健康状态或判定依据将改变", html).group(1))
    assert changed > 0 and RiskArea.objects.get(pk=area.pk).effective_to is None and last_event_pk() == mark

    # when confirmed: saved, and as many persons changed
    with TestCase.captureOnCommitCallbacks(execute=True):
        assert browser(health).post(f"/admin/health/riskarea/{area.pk}/change/", form | {"_impact_confirmed": "1"}).status_code == 302
    assert RiskArea.objects.get(pk=area.pk).effective_to is not None
    assert sum(events_since(mark).values()) == changed
