"""The three flows of a first day, in Chromium: a worker lifts a quarantine, a desk checks a guest in and
out, another community's worker is kept out. Screenshots of each step: var/screenshots/."""
from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from communities.models import QuarantineRecord
from communities.services import community_create, quarantine_register
from health.models import HealthStatus
from hotels.models import CheckIn
from hotels.services import hotel_create
from tests import factories
from tests.browser.conftest import login

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


def test_a_community_worker_lifts_a_quarantine_and_sees_no_abnormality(page, shot):
    # given a worker of 幸福里社区 and a resident in home quarantine there, due today
    community = community_create(code="XFL", name="幸福里社区", region_code="110105")
    factories.staff("xfl-worker", organisation=community)
    record = quarantine_register(
        actor=None,
        community=community,
        person_name="张伟",
        id_number=factories.id_number(),
        kind=QuarantineRecord.Kind.HOME,
        started_at=timezone.now() - timedelta(days=14),
        planned_end_at=timezone.now(),
    )
    # when the worker logs in, the home page lists the resident as due today
    page.goto("/admin/login/?next=/admin/")
    shot("flow1-01-login")
    login(page, "xfl-worker")
    assert page.locator("#due-today").inner_text().count("张伟") == 1
    shot("flow1-02-home")
    # and they select the record in the quarantine list and choose 解除隔离
    page.click("#due-today a:has-text('查看全部今日到期')")
    page.wait_for_selector("#result_list")
    page.check(f"input[name=_selected_action][value='{record.pk}']")
    page.select_option("select[name=action]", "lift_selected")
    shot("flow1-03-list-selected")
    page.click("button[name=index]")
    page.wait_for_selector("#lift-records")
    assert "张伟" in page.locator("#lift-records").inner_text()
    shot("flow1-04-confirm")
    page.click("input[type=submit][value='确认解除']")
    page.wait_for_selector(".messagelist")
    shot("flow1-05-lifted")
    assert "已解除 1 条隔离记录" in page.locator(".messagelist").inner_text()
    # then the record page shows 未见异常
    page.goto(f"/admin/communities/quarantinerecord/{record.pk}/change/")
    assert "未见异常" in page.locator(".field-status_now").inner_text()
    shot("flow1-06-record")
    # and the person page explains why, with the record it came from
    page.goto(f"/admin/health/person/{record.person_id}/change/")
    explanation = page.locator("#status-explanation").inner_text()
    assert "未见异常" in explanation
    assert "社区已解除隔离" in explanation
    assert page.locator(f"#records-quarantines a[href$='/quarantinerecord/{record.pk}/change/']").count() == 1
    shot("flow1-07-person")
    assert HealthStatus.objects.get(person_id=record.person_id).status == HealthStatus.Code.NO_ABNORMALITY


def test_a_front_desk_registers_a_guest_with_a_certificate_then_checks_them_out(page, shot):
    # given a front desk of a hotel in 东城区
    hotel = hotel_create(code="QM", name="前门饭店", region_code="110101")
    factories.staff("qm-desk", organisation=hotel)
    login(page, "qm-desk")
    shot("flow2-01-home")
    # when the clerk opens 登记入住 and fills in the guest, the origin and yesterday's negative certificate
    page.goto("/admin/hotels/checkin/add/")
    page.fill("#id_person_name", "李娜")
    page.fill("#id_id_number", factories.id_number())
    page.click("#id_origin_region + .select2, .field-origin_region .select2-selection")
    page.fill(".select2-search__field", "朝阳")
    page.click(".select2-results__option:has-text('110105')")
    yesterday = timezone.localtime() - timedelta(days=1)
    page.fill("#id_nat_tests-0-sampled_at_0", yesterday.strftime("%Y-%m-%d"))
    page.fill("#id_nat_tests-0-sampled_at_1", yesterday.strftime("%H:%M:%S"))
    page.select_option("#id_nat_tests-0-result", "negative")
    page.select_option("#id_nat_tests-0-source", "certificate")
    shot("flow2-02-form")
    page.click("input[name=_save]")
    page.wait_for_selector(".messagelist")
    shot("flow2-03-registered")
    # then the desk is told the guest's status: 未见异常, and the list of current guests shows it
    assert "健康状态：未见异常" in page.locator(".messagelist").inner_text()
    checkin = CheckIn.objects.get()
    row = page.locator(f"#result_list tr:has(input[value='{checkin.pk}'])")
    assert "未见异常" in row.inner_text()
    # when the clerk checks the guest out through 办理离店
    page.check(f"input[name=_selected_action][value='{checkin.pk}']")
    page.select_option("select[name=action]", "checkout_action")
    page.click("button[name=index]")
    page.wait_for_selector("input[type=submit][value='确认办理离店']")
    shot("flow2-04-confirm-checkout")
    page.click("input[type=submit][value='确认办理离店']")
    page.wait_for_selector(".messagelist")
    shot("flow2-05-checked-out")
    # then the stay is closed and the desk sees the guest's new status
    assert "已为 1 位客人办理离店" in page.locator(".messagelist").inner_text()
    checkin.refresh_from_db()
    assert checkin.checked_out_at is not None
    assert "李娜" in page.locator(".messagelist").inner_text()


def test_a_worker_of_another_community_cannot_open_the_record(page, shot):
    # given a record of 幸福里社区 and a worker of 和平里社区
    home = community_create(code="XFL", name="幸福里社区", region_code="110105")
    other = community_create(code="HPL", name="和平里社区", region_code="110101")
    factories.staff("hpl-worker", organisation=other)
    record = quarantine_register(
        actor=None,
        community=home,
        person_name="王芳",
        id_number=factories.id_number(),
        kind=QuarantineRecord.Kind.CENTRALIZED,
        started_at=timezone.now() - timedelta(days=2),
    )
    login(page, "hpl-worker")
    # when they type the record's address
    page.goto(f"/admin/communities/quarantinerecord/{record.pk}/change/")
    shot("flow3-01-record-direct-url")
    # then they land on their home page with a "does not exist" message, and see nothing of the record
    assert page.url.endswith("/admin/")
    assert "王芳" not in page.content()
    assert page.locator(".messagelist").count() == 1
    # nor the person page, nor the list
    page.goto(f"/admin/health/person/{record.person_id}/change/")
    shot("flow3-02-person-direct-url")
    assert page.url.endswith("/admin/")
    assert "王芳" not in page.content()
    page.goto("/admin/communities/quarantinerecord/")
    shot("flow3-03-own-list")
    assert "王芳" not in page.content()
    # and the record is untouched
    record.refresh_from_db()
    assert record.lifted_at is None


def test_the_health_authority_s_home_page_shows_the_chart_and_switches_to_english(page, shot):
    # given a health officer, and a resident whose status changed today
    from health.models import Organisation

    health = Organisation.objects.get(kind=Organisation.Kind.HEALTH, code=Organisation.Kind.HEALTH)
    factories.staff("health-officer", organisation=health)
    community = community_create(code="XFL", name="幸福里社区", region_code="110105")
    quarantine_register(
        actor=None,
        community=community,
        person_name="赵强",
        id_number=factories.id_number(),
        kind=QuarantineRecord.Kind.CENTRALIZED,
        started_at=timezone.now() - timedelta(days=1),
    )
    # when the officer logs in
    login(page, "health-officer")
    # then the 14-day chart is drawn (one bar segment for today's 集中观察) with the feeds' freshness
    assert page.locator("#status-chart svg rect").count() == 1
    assert "从未收到" in page.locator("#feed-freshness").inner_text()
    shot("overview-01-home-zh")
    # when they switch the language to English
    page.select_option("#language-select", "en")
    page.wait_for_selector("text=Health Kit administration")
    shot("overview-02-home-en")
    # then the page reads English, and stays English on the next page
    assert "People by status over the last 14 days" in page.locator("#status-chart").inner_text()
    page.goto("/admin/health/statuscorrectionrequest/")
    assert "Status correction requests" in page.content()
    shot("overview-03-list-en")
