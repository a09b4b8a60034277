"""List columns at 1366 px (health/admin_columns.py): times in the short Beijing form, sortable, with the full
time as a tooltip; shorter headers where a list asks for them; record pages keep the full form."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta

import pytest
from django.utils import timezone

from health.display import beijing_short
from tests import factories
from tests.communities.helpers import community, register
from tests.staff.helpers import fresh, hotel_guest, logged_in


def test_the_short_form_drops_the_year_only_within_the_current_beijing_year():
    today = date(2026, 12, 3)
    # 23:30 UTC on 2 December is 07:30 on 3 December in Beijing
    assert beijing_short(datetime(2026, 12, 2, 23, 30, tzinfo=UTC), today=today) == "12-03 07:30"
    # 16:30 UTC on 31 December 2025 is already 2026 in Beijing
    assert beijing_short(datetime(2025, 12, 31, 16, 30, tzinfo=UTC), today=today) == "01-01 00:30"
    assert beijing_short(datetime(2025, 12, 31, 15, 30, tzinfo=UTC), today=today) == "2025-12-31 23:30"
    assert beijing_short(date(2026, 11, 18), today=today) == "11-18"
    assert beijing_short(date(2025, 11, 18), today=today) == "2025-11-18"
    assert beijing_short(None, today=today) == "—"


@pytest.mark.django_db
def test_a_list_shows_times_short_in_beijing_time_with_the_full_time_as_tooltip_and_still_sorts_by_them():
    # given two quarantines of a community, started at 23:30 UTC (07:30 Beijing time, the next day)
    place = community()
    worker = factories.staff(organisation=place)
    started = timezone.now().replace(hour=23, minute=30, second=0, microsecond=0) - timedelta(days=3)
    register(place, name="早登记", started_at=started)
    register(place, name="晚登记", started_at=started + timedelta(days=1))
    beijing = timezone.localtime(started, timezone=timezone.get_fixed_timezone(480))
    client = logged_in(worker)
    # when the worker opens the list, sorted by the start, oldest first
    html = client.get("/admin/communities/quarantinerecord/", {"o": "5"}).content.decode()
    # then the start is in the short Beijing form, the full time in its tooltip, and the rows follow it
    short = f"{beijing:%m-%d} 07:30" if beijing.year == timezone.localdate().year else f"{beijing:%Y-%m-%d} 07:30"
    assert f'<span class="hk-time" title="{beijing:%Y-%m-%d} 07:30">{short}</span>' in html
    assert re.search(r'<th scope="col" class="sortable column-started_at_cell sorted ascending">', html)
    assert html.index("早登记") < html.index("晚登记")
    # and the list has no date in Django's long form ("2026年12月3日")
    table = re.search(r'<table id="result_list">.*?</table>', html, flags=re.S).group(0)
    assert not re.search(r"\d{4}年\d{1,2}月\d{1,2}日", table)


@pytest.mark.django_db
def test_a_list_s_shorter_headers_leave_the_record_page_its_full_labels():
    # given a front desk's guest
    from hotels.services import hotel_create

    hotel = hotel_create(code="QM", name="前门饭店", region_code="110101")
    desk = factories.staff(organisation=hotel)
    checkin = hotel_guest(desk, hotel, "李娜", hours_ago=2)
    client = logged_in(desk)
    # then the list's header is the short one, the form's label the full one
    listed = client.get("/admin/hotels/checkin/").content.decode()
    assert "健康管理" in listed and "接受酒店健康管理</a>" not in listed
    page = client.get(f"/admin/hotels/checkin/{checkin.pk}/change/").content.decode()
    assert "接受酒店健康管理" in page


@pytest.mark.django_db
def test_a_status_cell_is_the_same_on_every_list_in_words_colour_and_tooltip():
    # given a guest of a hotel with a positive test (弹窗), seen by the desk and by the health department
    from health.models import Organisation
    from hotels.services import hotel_create

    hotel = hotel_create(code="QM", name="前门饭店", region_code="110101")
    desk = factories.staff(organisation=hotel)
    health = factories.staff(organisation=factories.department(Organisation.Kind.HEALTH))
    guest = hotel_guest(
        desk, hotel, "吴霞", nat_tests=[{"sampled_at": timezone.now() - timedelta(hours=4), "result": "positive", "source": "hotel"}]
    )
    fresh(guest.person)
    cell = re.compile(r'<span class="hk-status hk-status-popup" title="([^"]+)">弹窗</span>')
    # when the desk opens its check-ins and the health department its persons
    on_checkins = cell.search(logged_in(desk).get("/admin/hotels/checkin/").content.decode())
    on_persons = cell.search(logged_in(health).get("/admin/health/person/").content.decode())
    # then both show the same cell: the words, the status's colour class and the reasons as tooltip
    assert on_checkins and on_persons, (on_checkins, on_persons)
    assert on_checkins.group(1) == on_persons.group(1) != ""
