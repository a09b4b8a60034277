"""The entrants API: who may register and update, bad input answered 400 with nothing written."""

from datetime import timedelta

import pytest
from django.utils import timezone

from entrants.models import InboundCase
from health.models import HealthStatus, Person
from tests import factories
from tests.entrants.conftest import bad_id_number, beijing, days_ago, utc

pytestmark = pytest.mark.django_db

URL = "/api/v1/entrants/"


def payload(**fields):
    return {
        "person": factories.person_payload("张三"),
        "entered_country_on": days_ago(12).isoformat(),
        "port": "首都机场",
        "origin_country": "us",
        **fields,
    }


def test_border_registers_a_case(client_for, border_staff, community):
    data = payload(community_code=community.code, quarantine_ended_at=utc(beijing(days_ago(1), 9)).isoformat())

    response = client_for(border_staff).post(URL, data, format="json")

    assert response.status_code == 201, response.json()
    body = response.json()
    case = InboundCase.objects.get(pk=body["id"])
    assert (case.origin_country, case.port_of_entry, case.managing_community, case.border) == (
        "US",
        "首都机场",
        community,
        border_staff.membership.organisation,
    )
    assert case.created_by == border_staff
    assert case.quarantine_ended_on == days_ago(1)
    assert body["origin_country"] == "US"
    assert body["origin_country_name"] == "美国"
    assert body["community_code"] == community.code
    assert body["person"] == {"name": "张三", "id_masked": case.person.id_masked}
    # the plain ID number is never returned
    assert data["person"]["id_number"] not in response.content.decode()


def test_admin_registers_for_the_border_department(client_for, admin_user, border):
    response = client_for(admin_user).post(URL, payload(), format="json")
    assert response.status_code == 201
    assert InboundCase.objects.get().border == border


@pytest.mark.parametrize("who", ["community_staff", "hotel_staff"])
def test_other_kinds_may_not_register(request, client_for, who):
    response = client_for(request.getfixturevalue(who)).post(URL, payload(), format="json")
    assert response.status_code == 403
    assert not InboundCase.objects.exists()
    assert not Person.objects.exists()


def test_anonymous_is_refused(api):
    assert api.post(URL, payload(), format="json").status_code == 401


@pytest.mark.parametrize(
    "fields, field",
    [
        ({"origin_country": "XX"}, "origin_country"),
        ({"origin_country": "USA"}, "origin_country"),
        ({"origin_country": ""}, "origin_country"),
        ({"community_code": "no-such-community"}, "community_code"),
        ({"entered_country_on": (timezone.localdate() + timedelta(days=2)).isoformat()}, "entered_country_on"),
        ({"quarantine_ended_at": (timezone.now() + timedelta(hours=1)).isoformat()}, "quarantine_ended_at"),
        ({"entered_city_on": (timezone.localdate() + timedelta(days=2)).isoformat()}, "entered_city_on"),
        ({"entered_country_on": "2022-13-01"}, "entered_country_on"),
        ({"port": ""}, "port"),
    ],
)
def test_bad_input_is_400_and_nothing_is_written(client_for, border_staff, fields, field):
    response = client_for(border_staff).post(URL, payload(**fields), format="json")

    assert response.status_code == 400
    assert field in response.json()
    assert not InboundCase.objects.exists()
    assert not Person.objects.exists()


def test_bad_id_number_is_400_without_echoing_it(client_for, border_staff):
    number = bad_id_number()
    data = payload(person={"name": "张三", "id_number": number})

    response = client_for(border_staff).post(URL, data, format="json")

    assert response.status_code == 400
    assert "id_number" in response.json()["person"]
    assert number not in response.content.decode()
    assert not Person.objects.exists()


def test_quarantine_ending_before_entry_is_400(client_for, border_staff):
    # 23:59 Beijing the day before entry (15:59 UTC): the Beijing date is before entry
    data = payload(
        entered_country_on=days_ago(12).isoformat(), quarantine_ended_at=utc(beijing(days_ago(13), 23, 59)).isoformat()
    )

    response = client_for(border_staff).post(URL, data, format="json")

    assert response.status_code == 400
    assert list(response.json()) == ["quarantine_ended_at"]
    assert not InboundCase.objects.exists()


def test_quarantine_ending_early_on_the_entry_day_beijing_is_accepted(client_for, border_staff):
    # 00:30 Beijing on the entry day is 16:30 UTC the day before: valid, compared as Beijing dates
    data = payload(
        entered_country_on=days_ago(12).isoformat(), quarantine_ended_at=utc(beijing(days_ago(12), 0, 30)).isoformat()
    )
    response = client_for(border_staff).post(URL, data, format="json")
    assert response.status_code == 201, response.json()


def test_city_entry_before_country_entry_is_400(client_for, border_staff):
    response = client_for(border_staff).post(URL, payload(entered_city_on=days_ago(13).isoformat()), format="json")
    assert response.status_code == 400
    assert "entered_city_on" in response.json()


def test_same_entry_registered_twice_is_400(client_for, border_staff):
    client = client_for(border_staff)
    data = payload()
    assert client.post(URL, data, format="json").status_code == 201

    response = client.post(URL, data, format="json")

    assert response.status_code == 400
    assert "entered_country_on" in response.json()
    assert InboundCase.objects.count() == 1


def test_known_id_number_with_another_name_is_409(client_for, border_staff):
    client = client_for(border_staff)
    data = payload()
    assert client.post(URL, data, format="json").status_code == 201

    other = payload(
        person={"name": "李四", "id_number": data["person"]["id_number"]}, entered_country_on=days_ago(3).isoformat()
    )
    response = client.post(URL, other, format="json")

    assert response.status_code == 409
    assert InboundCase.objects.count() == 1


# --- PATCH ------------------------------------------------------------------------------------
def test_border_hands_a_case_over_to_a_community(client_for, border_staff, community):
    client = client_for(border_staff)
    case_id = client.post(URL, payload(), format="json").json()["id"]
    version = HealthStatus.objects.get(person__inbound_cases=case_id).inputs_version

    response = client.patch(f"{URL}{case_id}/", {"community_code": community.code}, format="json")

    assert response.status_code == 200, response.json()
    assert response.json()["community_code"] == community.code
    assert InboundCase.objects.get(pk=case_id).managing_community == community
    # the person was marked dirty with the change
    assert HealthStatus.objects.get(person__inbound_cases=case_id).inputs_version > version


def test_patch_quarantine_end_before_entry_is_400_and_nothing_changes(client_for, border_staff):
    client = client_for(border_staff)
    case_id = client.post(URL, payload(), format="json").json()["id"]

    response = client.patch(
        f"{URL}{case_id}/", {"quarantine_ended_at": utc(beijing(days_ago(13), 12)).isoformat()}, format="json"
    )

    assert response.status_code == 400
    assert "quarantine_ended_at" in response.json()
    assert InboundCase.objects.get(pk=case_id).quarantine_ended_at is None


def test_community_of_a_released_case_cannot_change(
    client_for, border_staff, community, community_staff, other_community
):
    client = client_for(border_staff)
    case_id = client.post(URL, payload(community_code=community.code), format="json").json()["id"]
    assert client_for(community_staff).post(f"{URL}{case_id}/release/", {}, format="json").status_code == 200

    response = client.patch(f"{URL}{case_id}/", {"community_code": other_community.code}, format="json")

    assert response.status_code == 400
    assert "community_code" in response.json()
    assert InboundCase.objects.get(pk=case_id).managing_community == community


@pytest.mark.parametrize("who", ["community_staff", "hotel_staff"])
def test_other_kinds_may_not_update(request, client_for, border_staff, community, who):
    case_id = client_for(border_staff).post(URL, payload(community_code=community.code), format="json").json()["id"]

    response = client_for(request.getfixturevalue(who)).patch(
        f"{URL}{case_id}/", {"entered_city_on": days_ago(1).isoformat()}, format="json"
    )

    assert response.status_code == 403
    assert InboundCase.objects.get(pk=case_id).entered_city_on is None


def test_patch_of_a_missing_case_is_404(client_for, border_staff):
    assert (
        client_for(border_staff)
        .patch(f"{URL}999999/", {"entered_city_on": days_ago(1).isoformat()}, format="json")
        .status_code
        == 404
    )


def test_community_reads_only_the_cases_it_manages(
    client_for, border_staff, community, community_staff, other_community_staff
):
    case_id = client_for(border_staff).post(URL, payload(community_code=community.code), format="json").json()["id"]
    assert client_for(community_staff).get(f"{URL}{case_id}/").status_code == 200
    assert client_for(other_community_staff).get(f"{URL}{case_id}/").status_code == 404
