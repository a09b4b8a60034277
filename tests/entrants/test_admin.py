"""The entrants admin: border staff see every case, community workers theirs, and release with confirmation."""

import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.test import Client

from communities.models import QuarantineRecord
from communities.services import quarantine_register
from entrants import services
from entrants.models import InboundCase
from health.models import HealthStatus
from tests import factories
from tests.entrants.conftest import beijing, days_ago, utc

pytestmark = pytest.mark.django_db

CHANGELIST = "/admin/entrants/inboundcase/"


def browser(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def case_of(name, *, community=None, ended=None, city=None, entered=None):
    number = factories.id_number()
    case = services.inbound_register(
        actor=None,
        person_name=name,
        id_number=number,
        entered_country_on=entered or days_ago(20),
        port="首都机场",
        origin_country="GB",
        community_code=community.code if community else None,
        quarantine_ended_at=ended,
        entered_city_on=city,
    )
    case.test_id_number = number  # kept by the test only, to register a quarantine for the same person
    return case


@pytest.fixture
def cases(community, other_community):
    return {
        "mine": case_of("社区甲", community=community),
        "theirs": case_of("社区乙", community=other_community),
        "late": case_of("逾期丙", ended=utc(beijing(days_ago(10), 23, 30)), city=days_ago(8)),
        "on_time": case_of("按时丁", ended=utc(beijing(days_ago(10), 0, 30)), city=days_ago(9)),
    }


def listed(response) -> set[str]:
    return {name for name in ("社区甲", "社区乙", "逾期丙", "按时丁") if name in response.content.decode()}


def test_border_staff_see_every_case(border_staff, cases):
    response = browser(border_staff).get(CHANGELIST)
    assert response.status_code == 200
    assert listed(response) == {"社区甲", "社区乙", "逾期丙", "按时丁"}


def test_community_workers_see_only_the_cases_they_manage(community_staff, cases):
    client = browser(community_staff)
    assert listed(client.get(CHANGELIST)) == {"社区甲"}
    assert client.get(f"{CHANGELIST}{cases['theirs'].pk}/change/").status_code in (302, 404)


def test_hotel_staff_have_no_access(hotel_staff, cases):
    assert browser(hotel_staff).get(CHANGELIST).status_code == 403


@pytest.mark.parametrize(
    "query, expected",
    [
        ("awaiting_release=yes", {"社区甲", "社区乙"}),
        ("late_arrival=yes", {"逾期丙"}),
        ("late_arrival=no", {"社区甲", "社区乙", "按时丁"}),
        ("community_managed=yes", {"社区甲", "社区乙"}),
        ("community_managed=no", {"逾期丙", "按时丁"}),
    ],
)
def test_filters(border_staff, cases, query, expected):
    assert listed(browser(border_staff).get(f"{CHANGELIST}?{query}")) == expected


def test_search_by_full_id_number_uses_the_digest(border_staff, community):
    number = factories.id_number()
    services.inbound_register(
        actor=None,
        person_name="查找戊",
        id_number=number,
        entered_country_on=days_ago(3),
        port="p",
        origin_country="FR",
    )
    case_of("其他己")
    client = browser(border_staff)
    posted = client.post(CHANGELIST, {"q": number, "_hashed_search": "1"})
    assert posted.status_code == 302 and number not in posted["Location"]
    content = client.get(posted["Location"]).content.decode()
    assert "查找戊" in content and "其他己" not in content


def test_an_id_number_typed_into_the_url_is_rewritten_to_its_digest(border_staff):
    number = factories.id_number()
    response = browser(border_staff).get(CHANGELIST, {"q": number})
    assert response.status_code == 302 and number not in response["Location"]
    assert "person__id_digest=" in response["Location"]


def test_the_add_form_with_an_error_keeps_the_typed_id_number_in_its_field_only(border_staff):
    number = factories.id_number()[:-1] + "0"  # most of a number, with a wrong check character
    response = browser(border_staff).post(f"{CHANGELIST}add/", {"person_name": "回显", "id_number": number})
    assert response.status_code == 200
    html = response.content.decode()
    # the clerk corrects the number instead of typing all 18 characters again; it is in the field, nowhere else
    assert html.count(number) == 1
    assert f'value="{number}"' in html


def test_change_page_shows_the_persons_status_and_reasons_read_only(community_staff, cases):
    HealthStatus.objects.filter(person_id=cases["mine"].person_id).update(
        status="popup", reasons=["R4", "inbound_unreleased"], computed_at=cases["mine"].created_at
    )
    response = browser(community_staff).get(f"{CHANGELIST}{cases['mine'].pk}/change/")
    content = response.content.decode()
    assert response.status_code == 200
    assert "弹窗" in content and "入境观察未解除" in content and "inbound_unreleased" not in content
    # a community worker reads; there is no field to edit
    assert 'name="quarantine_ended_at' not in content


def test_release_action_asks_for_confirmation_then_releases(community_staff, community, cases, committed):
    # given the community's case, whose person is in home quarantine there
    client = browser(community_staff)
    with committed():
        record = quarantine_register(
            actor=community_staff,
            community=community,
            person_name="社区甲",
            id_number=cases["mine"].test_id_number,
            kind="home",
            started_at=utc(beijing(days_ago(15), 9)),
        )
    data = {"action": "release_selected", ACTION_CHECKBOX_NAME: [cases["mine"].pk]}

    # when the worker chooses 解除观察: a confirmation page, nothing released yet
    response = client.post(CHANGELIST, data)
    assert response.status_code == 200
    assert "确认解除观察" in response.content.decode()
    assert InboundCase.objects.get(pk=cases["mine"].pk).released_at is None

    # and when they confirm
    with committed():
        response = client.post(CHANGELIST, {**data, "post": "yes"})

    # then the case is released, the quarantine lifted at the same moment, the status recomputed
    assert response.status_code == 302
    case = InboundCase.objects.get(pk=cases["mine"].pk)
    record.refresh_from_db()
    assert case.released_by == community_staff
    assert record.lifted_at == case.released_at
    status = HealthStatus.objects.get(person_id=case.person_id)
    assert (status.status, status.reasons) == ("no_abnormality", ["G1", "released_quarantine", "released_inbound"])


def test_release_action_cannot_reach_another_communitys_case(community_staff, cases):
    data = {"action": "release_selected", ACTION_CHECKBOX_NAME: [cases["theirs"].pk], "post": "yes"}
    browser(community_staff).post(CHANGELIST, data)
    assert InboundCase.objects.get(pk=cases["theirs"].pk).released_at is None


def test_border_staff_have_no_release_action(border_staff, cases):
    data = {"action": "release_selected", ACTION_CHECKBOX_NAME: [cases["mine"].pk], "post": "yes"}
    browser(border_staff).post(CHANGELIST, data)
    assert InboundCase.objects.get(pk=cases["mine"].pk).released_at is None
    assert not QuarantineRecord.objects.exists()


def test_border_staff_add_a_case_through_the_service(border_staff, community):
    number = factories.id_number()
    response = browser(border_staff).post(
        f"{CHANGELIST}add/",
        {
            "person_name": "新增庚",
            "id_number": number,
            "entered_country_on": days_ago(4).isoformat(),
            "port_of_entry": "北京首都国际机场",
            "origin_country": "SG",
            "managing_community": community.pk,
            "quarantine_ended_at_0": "",
            "quarantine_ended_at_1": "",
            "entered_city_on": "",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    case = InboundCase.objects.get()
    assert (case.person.name, case.origin_country, case.managing_community, case.created_by) == (
        "新增庚",
        "SG",
        community,
        border_staff,
    )
    assert HealthStatus.objects.get(person=case.person).inputs_version > 1


def test_admin_form_refuses_quarantine_end_before_entry(border_staff):
    response = browser(border_staff).post(
        f"{CHANGELIST}add/",
        {
            "person_name": "新增辛",
            "id_number": factories.id_number(),
            "entered_country_on": days_ago(4).isoformat(),
            "port_of_entry": "北京首都国际机场",
            "origin_country": "SG",
            "quarantine_ended_at_0": days_ago(5).isoformat(),
            "quarantine_ended_at_1": "12:00:00",
            "entered_city_on": "",
        },
    )
    assert response.status_code == 200
    assert "集中隔离结束时间不能早于入境日期" in response.content.decode()
    assert not InboundCase.objects.exists()


def test_border_staff_hand_a_case_over_in_the_change_form(border_staff, community, cases):
    client = browser(border_staff)
    case = cases["late"]
    assert client.get(f"{CHANGELIST}add/").status_code == 200
    page = client.get(f"{CHANGELIST}{case.pk}/change/")
    assert page.status_code == 200
    assert 'name="quarantine_ended_at_0"' in page.content.decode()
    local = case.quarantine_ended_at.astimezone(beijing(days_ago(0), 0).tzinfo)

    response = client.post(
        f"{CHANGELIST}{case.pk}/change/",
        {
            "quarantine_ended_at_0": local.date().isoformat(),
            "quarantine_ended_at_1": local.strftime("%H:%M:%S"),
            "entered_city_on": case.entered_city_on.isoformat(),
            "managing_community": community.pk,
        },
    )

    assert response.status_code == 302, response.content.decode()[:3000]
    case.refresh_from_db()
    assert case.managing_community == community
    assert case.quarantine_ended_on == days_ago(10)
