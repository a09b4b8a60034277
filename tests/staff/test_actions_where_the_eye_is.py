"""Actions on the record's page and the dashboard's rows, each through its confirmation; after every save
the person's resulting status in words; lists with a status column and filter; the border dashboard."""
from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.contrib.messages import get_messages
from django.utils import timezone

from communities.models import QuarantineRecord
from entrants.models import InboundCase
from health.models import HealthStatus, Organisation, RiskArea, StatusAccess
from health.services.itinerary import StayInput, stays_ingest
from hotels.models import CheckIn
from hotels.services import hotel_create
from tests import factories
from tests.communities.helpers import community, register
from tests.staff.helpers import fresh, hotel_guest, inbound_case, logged_in

pytestmark = pytest.mark.django_db

QUARANTINES = "/admin/communities/quarantinerecord/"
CHECKINS = "/admin/hotels/checkin/"
INBOUND = "/admin/entrants/inboundcase/"


def button(html: str, action: str) -> dict:
    """The fields of the action button's form for `action` on the page (what the browser would post)."""
    match = re.search(
        rf'<form method="post" action="([^"]+)" class="hk-record-action" data-action="{action}"[^>]*>(.*?)</form>', html, re.S
    )
    assert match, f"no {action} button"
    fields = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', match.group(2)))
    fields.pop("csrfmiddlewaretoken", None)
    return {"url": match.group(1), "data": fields}


def texts(response) -> list[str]:
    return [str(message) for message in get_messages(response.wsgi_request)]


def due_today(here, name="张伟"):
    return register(here, name=name, started_at=timezone.now() - timedelta(days=14), planned_end_at=timezone.now())


# --- 解除隔离: the record page and the dashboard's due list ---------------------------------------------
def test_the_quarantine_page_offers_the_lift_which_confirms_then_tells_the_resulting_status():
    # given a worker and a resident in home quarantine, due today
    here = community("C-1")
    worker = factories.staff(organisation=here)
    record = due_today(here)
    client = logged_in(worker)
    # when the worker opens the record page and presses 解除隔离
    page = client.get(f"{QUARANTINES}{record.pk}/change/").content.decode()
    lift = button(page, "lift_selected")
    assert lift["data"] == {"action": "lift_selected", "_selected_action": str(record.pk), "index": "0"}
    confirmation = client.post(lift["url"], lift["data"])
    # then the confirmation comes first, and nothing is lifted yet
    assert confirmation.status_code == 200 and 'id="lift-records"' in confirmation.content.decode()
    assert QuarantineRecord.objects.get(pk=record.pk).lifted_at is None
    # when they confirm
    done = client.post(lift["url"], {"action": "lift_selected", "_selected_action": record.pk, "confirm": "yes"})
    # then the record is lifted and the message says the resulting status in words, from the stored decision
    assert done.status_code == 302
    assert QuarantineRecord.objects.get(pk=record.pk).lifted_at is not None
    assert fresh(record.person_id).status == HealthStatus.Code.NO_ABNORMALITY
    said = texts(done)
    assert "已解除 1 条隔离记录，健康状态已更新。" in said
    assert f"张伟（{record.person.id_masked}）的健康状态：未见异常。已解除隔离" in said
    # and telling it is a read on record
    told = StatusAccess.objects.filter(user=worker, person_id=record.person_id, screen="隔离记录 解除隔离后提示")
    assert told.count() == 1
    # and the lifted record's page offers no lift any more
    assert 'data-action="lift_selected"' not in client.get(f"{QUARANTINES}{record.pk}/change/").content.decode()


def test_each_row_of_the_dashboard_due_list_lifts_in_two_clicks():
    # given two residents due today and one overdue
    here = community("C-1")
    worker = factories.staff(organisation=here)
    first, second = due_today(here, "甲"), due_today(here, "乙")
    overdue = register(
        here, name="丙", started_at=timezone.now() - timedelta(days=20), planned_end_at=timezone.now() - timedelta(days=2)
    )
    client = logged_in(worker)
    home = client.get("/admin/").content.decode()
    # when the worker presses 解除隔离 on 乙's row (click 1), then 确认解除 (click 2)
    rows = re.findall(r'data-action="lift_selected".*?name="_selected_action" value="(\d+)"', home, re.S)
    assert sorted(int(pk) for pk in rows) == sorted([first.pk, second.pk, overdue.pk])
    lift = button(home.split(">乙</a>")[1], "lift_selected")
    confirmation = client.post(lift["url"], lift["data"]).content.decode()
    assert "乙" in confirmation and "甲" not in confirmation
    client.post(lift["url"], {"action": "lift_selected", "_selected_action": second.pk, "confirm": "yes"})
    # then only 乙 is lifted
    lifted = set(QuarantineRecord.objects.filter(lifted_at__isnull=False).values_list("pk", flat=True))
    assert lifted == {second.pk}


def test_another_community_s_worker_gets_no_button_and_cannot_lift_by_posting():
    here, there = community("C-1"), community("C-2")
    record = due_today(here)
    stranger = logged_in(factories.staff(organisation=there))
    assert 'data-action="lift_selected"' not in stranger.get("/admin/").content.decode()
    stranger.post(QUARANTINES, {"action": "lift_selected", "_selected_action": record.pk, "confirm": "yes"})
    assert QuarantineRecord.objects.get(pk=record.pk).lifted_at is None


def test_adding_a_quarantine_tells_the_resulting_status():
    here = community("C-1")
    client = logged_in(factories.staff(organisation=here))
    start = timezone.localtime() - timedelta(days=1)
    response = client.post(
        f"{QUARANTINES}add/",
        {
            "person_name": "王芳",
            "id_number": factories.id_number(),
            "kind": "home",
            "started_at_0": start.strftime("%Y-%m-%d"),
            "started_at_1": start.strftime("%H:%M:%S"),
        },
    )
    assert response.status_code == 302
    person = QuarantineRecord.objects.get().person
    assert f"王芳（{person.id_masked}）的健康状态：居家观察。居家隔离中" in texts(response)


def test_a_quarantine_form_with_an_error_keeps_the_typed_id_number():
    client = logged_in(factories.staff(organisation=community("C-1")))
    number = factories.id_number()
    response = client.post(f"{QUARANTINES}add/", {"person_name": "王芳", "id_number": number, "kind": "home"})
    html = response.content.decode()
    assert response.status_code == 200 and "errorlist" in html
    assert f'value="{number}"' in html and html.count(number) == 1
    assert not QuarantineRecord.objects.exists()


# --- 办理离店: the check-in page --------------------------------------------------------------------
def test_the_checkin_page_checks_out_through_the_confirmation_and_reminds_the_desk():
    hotel = hotel_create(code="QM", name="前门饭店", region_code="110101")
    desk = factories.staff(organisation=hotel)
    checkin = hotel_guest(
        desk, hotel, "李娜", nat_tests=[{"sampled_at": timezone.now() - timedelta(days=1), "result": "negative", "source": "certificate"}]
    )
    client = logged_in(desk)
    # the dashboard's guest row and the check-in page both offer 办理离店
    assert button(client.get("/admin/").content.decode(), "checkout_action")["data"]["_selected_action"] == str(checkin.pk)
    checkout = button(client.get(f"{CHECKINS}{checkin.pk}/change/").content.decode(), "checkout_action")
    confirmation = client.post(checkout["url"], checkout["data"])
    assert "确认办理离店" in confirmation.content.decode()
    assert CheckIn.objects.get(pk=checkin.pk).checked_out_at is None
    done = client.post(checkout["url"], {"action": "checkout_action", "_selected_action": checkin.pk, "confirm": "yes"})
    assert CheckIn.objects.get(pk=checkin.pk).checked_out_at is not None
    said = texts(done)
    assert "已为 1 位客人办理离店。" in said
    assert "请提醒客人申报行程。" in said
    assert any(text.startswith(f"李娜（{checkin.person.id_masked}）健康状态：") for text in said)
    assert 'data-action="checkout_action"' not in client.get(f"{CHECKINS}{checkin.pk}/change/").content.decode()


# --- 解除观察: the inbound record --------------------------------------------------------------------
def test_the_managing_community_releases_from_the_inbound_record_and_is_told_the_status():
    border = factories.staff(organisation=factories.department("border"))
    here = factories.organisation("community", "chaoyang-01", name="朝阳一社区")
    worker = factories.staff(organisation=here)
    case = inbound_case(border, "赵六", community_code="chaoyang-01")
    # border control sees the case but is offered no release (the community releases)
    assert 'data-action="release_selected"' not in logged_in(border).get(f"{INBOUND}{case.pk}/change/").content.decode()
    client = logged_in(worker)
    assert button(client.get("/admin/").content.decode(), "release_selected")["data"]["_selected_action"] == str(case.pk)
    release = button(client.get(f"{INBOUND}{case.pk}/change/").content.decode(), "release_selected")
    assert "确认解除观察" in client.post(release["url"], release["data"]).content.decode()
    assert InboundCase.objects.get(pk=case.pk).released_at is None
    done = client.post(release["url"], {"action": "release_selected", "_selected_action": case.pk, "post": "yes"})
    assert InboundCase.objects.get(pk=case.pk).released_at is not None
    assert f"赵六（{case.person.id_masked}）的健康状态：未见异常。已解除入境观察" in texts(done)


# --- designations and risk areas ------------------------------------------------------------------
def test_a_designation_saved_tells_the_person_s_resulting_status():
    health = factories.staff(organisation=factories.department("health"))
    at = timezone.localtime() - timedelta(hours=3)
    response = logged_in(health).post(
        "/admin/health/designation/add/",
        {
            "person_name": "王五",
            "id_number": factories.id_number(),
            "kind": "suspected",
            "designated_at_0": at.strftime("%Y-%m-%d"),
            "designated_at_1": at.strftime("%H:%M:%S"),
        },
    )
    assert response.status_code == 302
    assert any(text.startswith("王五（") and "的健康状态：集中观察。" in text for text in texts(response))


def test_a_risk_area_saved_tells_how_many_persons_it_changed():
    # given two travellers declared in 朝阳 yesterday and one in 东城 (弹窗: their stays are not verified yet)
    platform = factories.staff(organisation=factories.department(Organisation.Kind.PLATFORM))
    yesterday = timezone.now() - timedelta(days=1)
    stays_ingest(
        actor=platform,
        stays=[
            StayInput(name=name, id_number=factories.id_number(serial=serial), region_code=region, arrived_at=yesterday)
            for name, serial, region in (("甲", 11, "110105"), ("乙", 12, "110105"), ("丙", 13, "110101"))
        ],
    )
    for status in HealthStatus.objects.all():
        fresh(status.person_id)
    health = factories.staff(organisation=factories.department("health"))
    start = timezone.localtime() - timedelta(days=3)
    form = {
        "region": "110105",
        "level": "medium",
        "effective_from_0": start.strftime("%Y-%m-%d"),
        "effective_from_1": "08:00:00",
        "_save": "保存",
        "_impact_confirmed": "1",
    }
    response = logged_in(health).post("/admin/health/riskarea/add/", form)
    assert response.status_code == 302 and RiskArea.objects.count() == 1
    said = texts(response)
    moved = [text for text in said if "人的健康状态随之改变" in text]
    assert moved == ["2 人的健康状态随之改变：弹窗（状态不变，原因改变）2 人。"]
    assert {fresh(status.person_id).status for status in HealthStatus.objects.filter(person__name__in=["甲", "乙"])} == {
        HealthStatus.Code.POPUP
    }


# --- lists: the person list's status column and filter; dashboard counts link to them ---------------
def test_the_person_list_shows_and_filters_by_status_and_the_dashboard_counts_link_to_it():
    here = community("C-1")
    worker = factories.staff(organisation=here)
    register(here, name="居家甲")
    lifted = due_today(here, "解除乙")
    from communities.services import quarantines_lift

    quarantines_lift(actor=None, records_or_ids=[lifted.pk])
    for status in HealthStatus.objects.all():
        fresh(status.person_id)
    client = logged_in(worker)
    home = client.get("/admin/").content.decode()
    link = re.search(r'<a href="([^"]+)" data-status="home_observation">', home).group(1)
    assert link == "/admin/health/person/?status=home_observation"
    before = StatusAccess.objects.count()
    listed = client.get(link.replace("&amp;", "&"))
    html = listed.content.decode()
    assert [person.name for person in listed.context["cl"].result_list] == ["居家甲"]
    assert "居家观察" in html and "column-stored_status" in html
    # the persons of the page shown are on record, one bulk insert
    assert StatusAccess.objects.count() - before == 1
    everyone = client.get("/admin/health/person/")
    assert sorted(person.name for person in everyone.context["cl"].result_list) == ["居家甲", "解除乙"]


# --- border control ----------------------------------------------------------------------------------
def test_the_border_dashboard_counts_cases_awaiting_release_and_late_arrivals_as_its_lists_do():
    border = factories.staff(organisation=factories.department("border"))
    factories.organisation("community", "chaoyang-01", name="朝阳一社区")
    today = timezone.localdate()

    def case(name, **kwargs):
        return inbound_case(border, name, days_ago=20, **kwargs)

    case("待解除", community_code="chaoyang-01")
    ended = timezone.now() - timedelta(days=10)
    case("逾期进京", quarantine_ended_at=ended, entered_city_on=today - timedelta(days=1))
    case("按时进京", quarantine_ended_at=ended, entered_city_on=timezone.localdate(ended))
    client = logged_in(border)
    html = client.get("/admin/").content.decode()
    awaiting = html.split('id="border-awaiting"')[1].split("</section>")[0]
    late = html.split('id="border-late"')[1].split("</section>")[0]
    assert "待解除" in awaiting and "逾期进京" not in awaiting
    assert "逾期进京" in late and "按时进京" not in late
    for url, expected in (("?awaiting_release=yes", ["待解除"]), ("?late_arrival=yes", ["逾期进京"])):
        assert f'href="{INBOUND}{url}"' in html
        listed = client.get(f"{INBOUND}{url}")
        assert [row.person.name for row in listed.context["cl"].result_list] == expected


# --- links to what a role may not open are plain text -----------------------------------------------
def test_the_record_page_links_the_community_and_the_registering_user_only_for_who_may_open_them():
    here = community("C-1")
    worker = factories.staff("xfl-worker", organisation=here)
    record = register(here, actor=worker, name="张伟")
    page = logged_in(worker).get(f"{QUARANTINES}{record.pk}/change/").content.decode()
    community_page = f"/admin/health/organisation/{here.pk}/change/"
    assert here.name in page and community_page not in page
    assert "xfl-worker" in page and "/admin/auth/user/" not in page
    # following such a link would have been a 403 for the worker
    assert logged_in(worker).get(community_page).status_code == 403
    # an administrator, who may open both, gets the links
    administrator = logged_in(factories.staff(admin=True)).get(f"{QUARANTINES}{record.pk}/change/").content.decode()
    assert f'<a href="/admin/health/organisation/{here.pk}/change/">{here.name} (C-1)</a>' in administrator


# --- the inbound form: countries by Chinese name, the port from a list ------------------------------
def test_border_control_registers_a_case_by_the_country_s_chinese_name_and_a_listed_port_and_is_told_the_status():
    border = factories.staff(organisation=factories.department("border"))
    client = logged_in(border)
    form = client.get(f"{INBOUND}add/").content.decode()
    # the countries are offered by Chinese name with their code; the port is a list
    assert '<option value="法国 FR"></option>' in form and 'list="country-options"' in form
    assert '<option value="北京首都国际机场">北京首都国际机场</option>' in form
    data = {
        "person_name": "钱七",
        "id_number": factories.id_number(),
        "entered_country_on": (timezone.localdate() - timedelta(days=2)).isoformat(),
        "port_of_entry": "北京大兴国际机场",
        "origin_country": "法国 FR",
    }
    response = client.post(f"{INBOUND}add/", data)
    assert response.status_code == 302
    case = InboundCase.objects.get()
    assert (case.origin_country, case.port_of_entry) == ("FR", "北京大兴国际机场")
    assert any(text.startswith(f"钱七（{case.person.id_masked}）的健康状态：弹窗。") for text in texts(response))
    # the Chinese name alone is understood too; a port not on the list is refused
    from entrants.countries import country_from_text

    assert country_from_text("日本") == "JP" and country_from_text("gb") == "GB"
    refused = client.post(f"{INBOUND}add/", data | {"port_of_entry": "某地", "id_number": factories.id_number()})
    assert refused.status_code == 200 and "port_of_entry" in refused.context["adminform"].form.errors
    assert InboundCase.objects.count() == 1


def test_a_hotel_s_person_list_shows_no_status_its_former_guests_included():
    hotel = hotel_create(code="QM", name="前门饭店", region_code="110101")
    desk = factories.staff(organisation=hotel)
    hotel_guest(desk, hotel, "李娜", health_management_accepted=False)
    before = StatusAccess.objects.count()
    client = logged_in(desk)
    listed = client.get("/admin/health/person/")
    html = listed.content.decode()
    assert [person.name for person in listed.context["cl"].result_list] == ["李娜"]
    assert "column-stored_status" not in html and "弹窗" not in html
    # nor can it filter by status (an unknown parameter: Django's "?e=1" redirect, nothing listed)
    assert client.get("/admin/health/person/", {"status": "popup"})["Location"].endswith("?e=1")
    assert StatusAccess.objects.count() == before


def test_the_desk_s_status_counts_link_to_its_current_guests_with_that_status():
    hotel = hotel_create(code="QM", name="前门饭店", region_code="110101")
    desk = factories.staff(organisation=hotel)

    def guest(name, tests):
        return hotel_guest(desk, hotel, name, nat_tests=tests)

    guest("证明有效", [{"sampled_at": timezone.now() - timedelta(days=1), "result": "negative", "source": "certificate"}])
    guest("无检测", [])
    for status in HealthStatus.objects.all():
        fresh(status.person_id)
    client = logged_in(desk)
    home = client.get("/admin/").content.decode()
    link = re.search(r'<a href="([^"]+)" data-status="popup">', home).group(1).replace("&amp;", "&")
    assert link == f"{CHECKINS}?stay=current&status=popup"
    listed = client.get(link)
    assert [checkin.person.name for checkin in listed.context["cl"].result_list] == ["无检测"]
