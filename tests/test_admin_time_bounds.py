"""The admin's forms refuse the times the API refuses, with the API's messages (one set of bounds: health.timebounds)."""
from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from django.test import Client
from django.utils import timezone

from communities.models import QuarantineRecord
from communities.services import community_create, quarantine_register
from entrants.models import InboundCase
from health.models import Designation, Region, RiskArea
from health.services.designations import designation_create
from health.services.risk_areas import risk_area_create
from tests import factories

pytestmark = pytest.mark.django_db

BEIJING = timezone.get_fixed_timezone(480)
IN_2202 = datetime(2202, 5, 1, 8, 0, tzinfo=BEIJING)
IN_2002 = datetime(2002, 5, 1, 8, 0, tzinfo=BEIJING)
TOO_LATE, TOO_EARLY, DATE_TOO_EARLY = "该时间过晚。", "该时间过早。", "该日期过早。"


def split(name: str, moment: datetime) -> dict[str, str]:
    local = moment.astimezone(BEIJING)
    return {f"{name}_0": local.strftime("%Y-%m-%d"), f"{name}_1": local.strftime("%H:%M:%S")}


def recently(**delta) -> datetime:
    return timezone.now() - timedelta(**delta)


def browser(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def refused(client: Client, url: str, data: dict, field: str) -> list[str]:
    """Post the form; it must come back (no redirect) with errors on `field`: those errors."""
    response = client.post(url, {**data, "_save": "1"})
    assert response.status_code == 200, "the form was accepted"
    return [str(message) for message in response.context["adminform"].form.errors.get(field, [])]


def designation_add(**times) -> dict:
    return {
        "person_name": "张三",
        "id_number": factories.id_number(),
        "kind": "close_contact",
        **split("designated_at", times.get("designated_at", recently(days=1))),
        **(split("cleared_at", times["cleared_at"]) if "cleared_at" in times else {}),
    }


def risk_area_add(**times) -> dict:
    return {
        "region": "130102",
        "level": "high",
        **split("effective_from", times.get("effective_from", recently(days=1))),
        **(split("effective_to", times["effective_to"]) if "effective_to" in times else {}),
    }


def quarantine_add(community, **times) -> dict:
    return {
        "community": community.pk,
        "person_name": "李四",
        "id_number": factories.id_number(),
        "kind": "home",
        **split("started_at", times.get("started_at", recently(days=1))),
        **(split("planned_end_at", times["planned_end_at"]) if "planned_end_at" in times else {}),
    }


def inbound_add(**values) -> dict:
    data = {
        "person_name": "王五",
        "id_number": factories.id_number(),
        "entered_country_on": values.get("entered_country_on", timezone.localdate() - timedelta(days=5)).isoformat(),
        "port_of_entry": "北京首都国际机场",
        "origin_country": "GB",
    }
    if "quarantine_ended_at" in values:
        data.update(split("quarantine_ended_at", values["quarantine_ended_at"]))
    return data


# --- adding: the admin refuses what the API refuses, in the same words --------------------------
@pytest.mark.parametrize(
    ("times", "field", "message"),
    [
        ({"cleared_at": IN_2202}, "cleared_at", TOO_LATE),
        ({"designated_at": IN_2002}, "designated_at", TOO_EARLY),
    ],
)
def test_designation_add_refuses_the_apis_bounds(admin_user, client_for, times, field, message):
    # when the same designation is sent to the admin and to the API
    errors = refused(browser(admin_user), "/admin/health/designation/add/", designation_add(**times), field)
    body = {
        "person": factories.person_payload("张三"),
        "kind": "close_contact",
        "designated_at": times.get("designated_at", recently(days=1)).isoformat(),
        **({"cleared_at": times["cleared_at"].isoformat()} if "cleared_at" in times else {}),
    }
    api = client_for(admin_user).post("/api/v1/designations/", body, format="json")

    # then both refuse it with the same message, and nothing is recorded
    assert errors == [message]
    assert api.status_code == 400 and api.json()[field] == [message]
    assert not Designation.objects.exists()


@pytest.mark.parametrize(
    ("times", "field", "message"),
    [
        ({"effective_to": IN_2202}, "effective_to", TOO_LATE),
        ({"effective_from": IN_2002}, "effective_from", TOO_EARLY),
        ({"effective_from": IN_2202}, "effective_from", TOO_LATE),
    ],
)
def test_risk_area_add_refuses_the_apis_bounds(admin_user, client_for, times, field, message):
    errors = refused(browser(admin_user), "/admin/health/riskarea/add/", risk_area_add(**times), field)
    body = {
        "region_code": "130102",
        "level": "high",
        "effective_from": times.get("effective_from", recently(days=1)).isoformat(),
        **({"effective_to": times["effective_to"].isoformat()} if "effective_to" in times else {}),
    }
    api = client_for(admin_user).post("/api/v1/risk-areas/", body, format="json")

    assert errors == [message]
    assert api.status_code == 400 and api.json()[field] == [message]
    assert not RiskArea.objects.exists()


@pytest.mark.parametrize(
    ("times", "field", "message"),
    [
        ({"planned_end_at": IN_2202}, "planned_end_at", TOO_LATE),
        ({"started_at": IN_2002}, "started_at", TOO_EARLY),
    ],
)
def test_quarantine_add_refuses_the_apis_bounds(admin_user, client_for, times, field, message):
    community = community_create(code="C-T", name="社区", region_code="110105")
    errors = refused(browser(admin_user), "/admin/communities/quarantinerecord/add/", quarantine_add(community, **times), field)
    body = {
        "person": factories.person_payload("李四"),
        "kind": "home",
        "started_at": times.get("started_at", recently(days=1)).isoformat(),
        **({"planned_end_at": times["planned_end_at"].isoformat()} if "planned_end_at" in times else {}),
    }
    api = client_for(admin_user).post(f"/api/v1/communities/{community.code}/quarantines/", body, format="json")

    assert errors == [message]
    assert api.status_code == 400 and api.json()[field] == [message]
    assert not QuarantineRecord.objects.exists()


@pytest.mark.parametrize(
    ("values", "field", "message"),
    [
        ({"quarantine_ended_at": IN_2002}, "quarantine_ended_at", TOO_EARLY),
        ({"entered_country_on": IN_2002.date()}, "entered_country_on", DATE_TOO_EARLY),
    ],
)
def test_inbound_case_add_refuses_the_apis_bounds(admin_user, client_for, values, field, message):
    factories.organisation("border", "border")
    errors = refused(browser(admin_user), "/admin/entrants/inboundcase/add/", inbound_add(**values), field)
    body = {
        "person": factories.person_payload("王五"),
        "port": "首都机场",
        "origin_country": "GB",
        "entered_country_on": values.get("entered_country_on", timezone.localdate() - timedelta(days=5)).isoformat(),
        **({"quarantine_ended_at": values["quarantine_ended_at"].isoformat()} if "quarantine_ended_at" in values else {}),
    }
    api = client_for(admin_user).post("/api/v1/entrants/", body, format="json")

    assert message in errors
    assert api.status_code == 400 and message in api.json()[field]
    assert not InboundCase.objects.exists()


# --- changing: the same bounds on the times a change form edits ----------------------------------
def test_designation_cleared_in_2202_on_the_change_form_is_refused(admin_user):
    designation = designation_create(
        actor=None, kind="close_contact", designated_at=recently(days=2), name="赵六", id_number=factories.id_number()
    )
    data = {"kind": "close_contact", **split("designated_at", designation.designated_at), **split("cleared_at", IN_2202)}

    errors = refused(browser(admin_user), f"/admin/health/designation/{designation.pk}/change/", data, "cleared_at")

    assert errors == [TOO_LATE]
    assert Designation.objects.get(pk=designation.pk).cleared_at is None


def test_risk_area_ending_in_2202_on_the_change_form_is_refused(admin_user):
    area = risk_area_create(actor=None, region=Region.objects.get(code="130102"), level="high", effective_from=recently(days=2))
    data = {"level": "high", **split("effective_from", area.effective_from), **split("effective_to", IN_2202)}

    errors = refused(browser(admin_user), f"/admin/health/riskarea/{area.pk}/change/", data, "effective_to")

    assert errors == [TOO_LATE]
    assert RiskArea.objects.get(pk=area.pk).effective_to is None


def test_quarantine_planned_end_in_2202_on_the_change_form_is_refused(admin_user):
    community = community_create(code="C-U", name="社区", region_code="110105")
    record = quarantine_register(
        actor=None, community=community, person_name="钱七", id_number=factories.id_number(), kind="home",
        started_at=recently(days=2),
    )
    data = {**split("planned_end_at", IN_2202), "change_comment": "延长"}

    errors = refused(browser(admin_user), f"/admin/communities/quarantinerecord/{record.pk}/change/", data, "planned_end_at")

    assert errors == [TOO_LATE]
    assert QuarantineRecord.objects.get(pk=record.pk).planned_end_at is None


def test_an_unchanged_old_value_does_not_block_another_change(admin_user):
    # a time within the bounds today stays editable around: only entered or changed values are checked
    area = risk_area_create(actor=None, region=Region.objects.get(code="130102"), level="high", effective_from=recently(days=2))
    data = {"level": "medium", **split("effective_from", area.effective_from), "_save": "1", "_impact_confirmed": "1"}

    response = browser(admin_user).post(f"/admin/health/riskarea/{area.pk}/change/", data)

    assert response.status_code == 302
    assert RiskArea.objects.get(pk=area.pk).level == "medium"
