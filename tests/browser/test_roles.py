"""Each role's main task in Chromium, started from its home page, checking the words shown.

A laptop's 1366 px window: the lists' status column must be in view. Screenshots of every step go to
var/screenshots/ (CI keeps them as artifacts; docs/staff-guide.md uses a few).
"""
from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone

from communities.models import QuarantineRecord
from communities.services import community_create
from entrants.models import InboundCase
from health.models import Designation, HealthStatus, Organisation, RiskArea
from health.services.itinerary import StayInput, stays_ingest
from health.services.statuses import person_status_fresh
from hotels.models import CheckIn
from hotels.services import checkin_register, hotel_create
from tests import factories
from tests.browser.conftest import login
from tests.communities.helpers import register
from tests.staff.helpers import inbound_case

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]

LAPTOP = {"width": 1366, "height": 768}


@pytest.fixture
def snap(page, shot):
    """snap("community-01-home"): the 1366 px window as staff see it (conftest's shot, not the whole page)."""
    page.set_viewport_size(LAPTOP)

    def take(name: str, *, full_page: bool = False) -> Path:
        return shot(name, full_page=full_page)

    return take


def messages_text(page) -> str:
    page.wait_for_selector(".messagelist")
    return page.locator(".messagelist").inner_text()


def status_column_in_view(page, column: str) -> None:
    """The list's status header is within the 1366 px window, without scrolling sideways."""
    header = page.locator(f"#result_list thead th.column-{column}")
    box = header.bounding_box()
    assert box is not None and box["x"] + box["width"] <= LAPTOP["width"], box


def test_a_community_worker_lifts_a_quarantine_from_the_home_page_in_two_clicks(page, snap):
    # given a worker of 幸福里社区 and a resident in home quarantine due today
    community = community_create(code="XFL", name="幸福里社区", region_code="110105")
    factories.staff("xfl-worker", organisation=community)
    record = register(community, name="张伟", started_at=timezone.now() - timedelta(days=14), planned_end_at=timezone.now())
    login(page, "xfl-worker")
    snap("community-01-home")
    # when the worker presses 解除隔离 on the resident's row (click 1)
    row = page.locator("#due-today tr", has_text="张伟")
    row.locator("button:has-text('解除隔离')").click()
    page.wait_for_selector("#lift-records")
    assert "张伟" in page.locator("#lift-records").inner_text()
    snap("community-02-confirm")
    # and confirms (click 2)
    page.click("input[type=submit][value='确认解除']")
    said = messages_text(page)
    snap("community-03-lifted")
    # then they are told the record is lifted and the resident's status, in words
    assert "已解除 1 条隔离记录，健康状态已更新。" in said
    assert f"张伟（{record.person.id_masked}）的健康状态：未见异常。已解除隔离" in said
    assert QuarantineRecord.objects.get(pk=record.pk).lifted_at is not None
    # and the list they land on shows the status column within the window
    status_column_in_view(page, "current_status")


def test_a_community_worker_releases_an_inbound_traveller_from_the_home_page(page, snap):
    # given border control handed a traveller to 幸福里社区
    community = community_create(code="XFL", name="幸福里社区", region_code="110105")
    factories.staff("xfl-worker", organisation=community)
    border = factories.staff("airport-border", organisation=factories.department(Organisation.Kind.BORDER))
    case = inbound_case(border, "赵六", community_code="XFL")
    login(page, "xfl-worker")
    # when the worker presses 解除观察 on the traveller's row, then confirms
    page.locator("#inbound-awaiting tr", has_text="赵六").locator("button:has-text('解除观察')").click()
    page.wait_for_selector("input[type=submit][value='确认解除观察']")
    snap("release-01-confirm")
    page.click("input[type=submit][value='确认解除观察']")
    said = messages_text(page)
    snap("release-02-released")
    # then the release is recorded and the status is said in words
    assert "已解除观察 1 人" in said
    assert f"赵六（{case.person.id_masked}）的健康状态：未见异常。已解除入境观察" in said
    assert InboundCase.objects.get(pk=case.pk).released_at is not None
    status_column_in_view(page, "person_status")


def test_border_control_registers_a_traveller_and_sees_the_case_awaiting_release(page, snap):
    # given border control at the airport and a community to hand travellers to
    community_create(code="XFL", name="幸福里社区", region_code="110105")
    factories.staff("airport-border", organisation=factories.department(Organisation.Kind.BORDER))
    login(page, "airport-border")
    snap("border-01-home")
    # when the officer opens 登记入境人员 from the home page and fills it in, the country by its Chinese name
    page.click("#border-add")
    page.fill("#id_person_name", "钱七")
    page.fill("#id_id_number", factories.id_number())
    page.fill("#id_entered_country_on", (timezone.localdate() - timedelta(days=2)).isoformat())
    page.select_option("#id_port_of_entry", "北京大兴国际机场")
    page.fill("#id_origin_country", "法国 FR")
    page.select_option("#id_managing_community", label="幸福里社区 (XFL)")
    snap("border-02-form")
    page.click("input[name=_save]")
    said = messages_text(page)
    snap("border-03-registered")
    # then the case is registered, with the status said in words
    case = InboundCase.objects.get()
    assert (case.origin_country, case.port_of_entry) == ("FR", "北京大兴国际机场")
    assert f"钱七（{case.person.id_masked}）的健康状态：弹窗。" in said
    status_column_in_view(page, "person_status")
    # and the home page lists it under 已交社区、待解除观察
    page.goto("/admin/")
    assert "钱七" in page.locator("#border-awaiting").inner_text()
    snap("border-04-home-awaiting")


def test_a_front_desk_checks_a_guest_out_from_the_home_page_and_is_reminded_of_the_declaration(page, snap):
    # given a front desk with a guest staying since this morning
    hotel = hotel_create(code="QM", name="前门饭店", region_code="110101")
    desk = factories.staff("qm-desk", organisation=hotel)
    checkin = checkin_register(
        actor=desk,
        hotel=hotel,
        person_name="李娜",
        id_number=factories.id_number(),
        checked_in_at=timezone.now() - timedelta(hours=5),
        origin_region_code="110105",
        health_management_accepted=True,
        nat_tests=[{"sampled_at": timezone.now() - timedelta(days=1), "result": "negative", "source": "certificate"}],
    )
    checkin_register(
        actor=desk,
        hotel=hotel,
        person_name="周敏",
        id_number=factories.id_number(),
        checked_in_at=timezone.now() - timedelta(hours=2),
        origin_region_code="110105",
        health_management_accepted=True,
        nat_tests=[{"sampled_at": timezone.now() - timedelta(days=1), "result": "negative", "source": "certificate"}],
    )
    for status in HealthStatus.objects.all():
        person_status_fresh(status.person_id)
    login(page, "qm-desk")
    snap("desk-01-home")
    # when the clerk presses 办理离店 on the guest's row (click 1) and confirms (click 2)
    page.locator("#current-guests tr", has_text="李娜").locator("button:has-text('办理离店')").click()
    page.wait_for_selector("input[type=submit][value='确认办理离店']")
    snap("desk-02-confirm")
    page.click("input[type=submit][value='确认办理离店']")
    said = messages_text(page)
    snap("desk-03-checked-out")
    # then the checkout is done, the guest's status is said, and the desk is reminded of the declaration
    assert "已为 1 位客人办理离店。" in said
    assert f"李娜（{checkin.person.id_masked}）健康状态：" in said
    assert "请提醒客人申报行程。" in said
    assert CheckIn.objects.get(pk=checkin.pk).checked_out_at is not None
    # and the list of current guests they land on shows the one still staying, with the status in view
    assert "周敏" in page.locator("#result_list").inner_text() and "李娜" not in page.locator("#result_list").inner_text()
    status_column_in_view(page, "guest_status")


def test_the_health_department_designates_a_case_then_adds_a_risk_area_after_its_preview(page, snap):
    # given a health officer, and two travellers who declared a stay in 朝阳区 yesterday
    factories.staff("health-officer", organisation=factories.department(Organisation.Kind.HEALTH))
    platform = factories.staff(organisation=factories.department(Organisation.Kind.PLATFORM))
    yesterday = timezone.now() - timedelta(days=1)
    stays_ingest(
        actor=platform,
        stays=[
            StayInput(name=name, id_number=factories.id_number(serial=serial), region_code="110105", arrived_at=yesterday)
            for name, serial in (("甲", 21), ("乙", 22))
        ],
    )
    for status in HealthStatus.objects.all():
        person_status_fresh(status.person_id)
    login(page, "health-officer")
    snap("health-01-home")
    # when the officer opens 认定病例 from the home page and designates a suspected case
    page.click("#designation-add")
    page.fill("#id_person_name", "王五")
    page.fill("#id_id_number", factories.id_number())
    page.select_option("#id_kind", "suspected")
    designated = timezone.localtime() - timedelta(hours=3)
    page.fill("#id_designated_at_0", designated.strftime("%Y-%m-%d"))
    page.fill("#id_designated_at_1", designated.strftime("%H:%M:%S"))
    snap("health-02-designation-form")
    page.click("input[name=_save]")
    said = messages_text(page)
    snap("health-03-designated")
    # then the person's resulting status is said in words
    designation = Designation.objects.get()
    assert f"王五（{designation.person.id_masked}）的健康状态：集中观察。" in said
    # when they open 设定风险地区 and choose 朝阳区, medium risk, from three days ago
    page.goto("/admin/")
    page.click("#riskarea-add")
    page.click(".field-region .select2-selection")
    page.fill(".select2-search__field", "朝阳")
    page.click(".select2-results__option:has-text('110105')")
    page.select_option("#id_level", "medium")
    start = timezone.localtime() - timedelta(days=3)
    page.fill("#id_effective_from_0", start.strftime("%Y-%m-%d"))
    page.fill("#id_effective_from_1", "08:00:00")
    snap("health-04-riskarea-form")
    page.click("input[name=_save]")
    # then the preview says what saving would do, before anything is saved
    page.wait_for_selector("#impact-preview")
    preview = page.locator("#impact-preview").inner_text()
    assert "保存后 2 人的健康状态或判定依据将改变" in preview
    assert not RiskArea.objects.exists()
    snap("health-05-riskarea-preview", full_page=True)
    # when they confirm
    page.click("input[type=submit][value='确认保存']")
    said = messages_text(page)
    snap("health-06-riskarea-saved")
    # then it is saved and the message says how many persons it changed
    assert RiskArea.objects.count() == 1
    assert "2 人的健康状态随之改变" in said
