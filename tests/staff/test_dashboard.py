"""The admin home page per role: its selectors (exact counts, Beijing days, scoping) and the page each role gets."""
import re
from datetime import datetime, time, timedelta

import pytest
from django.utils import timezone

from communities.services import quarantines_lift
from health.models import HealthStatus, Organisation, StatusAccess, StatusEvent
from health.services.itinerary import StayInput, stays_ingest
from health.services.persons import person_resolve
from hotels.services import checkin_register, checkouts, hotel_create
from staff import dashboard
from tests import factories
from tests.communities.helpers import community, register
from tests.staff.helpers import fresh, logged_in

pytestmark = pytest.mark.django_db


def beijing(day, hour: int = 12, minute: int = 0) -> datetime:
    return timezone.make_aware(datetime.combine(day, time(hour, minute)))


# --- community workers ---------------------------------------------------------------------------
def test_due_today_and_overdue_are_beijing_days_of_the_worker_s_community_only():
    # given quarantines of C-1 planned to end yesterday, today (late evening), tomorrow, and one due today but lifted
    today = timezone.localdate()
    home, other = community("C-1"), community("C-2")
    started = timezone.now() - timedelta(days=10)
    overdue = register(home, name="逾期", started_at=started, planned_end_at=beijing(today - timedelta(days=1), 23, 59))
    due = register(home, name="今日", started_at=started, planned_end_at=beijing(today, 23, 30))
    register(home, name="明日", started_at=started, planned_end_at=beijing(today + timedelta(days=1), 0, 0))
    lifted = register(home, name="已解除", started_at=started, planned_end_at=beijing(today, 9))
    quarantines_lift(actor=None, records_or_ids=[lifted.pk])
    register(other, name="外社区", started_at=started, planned_end_at=beijing(today, 10))
    worker = factories.staff(organisation=home)
    # when the dashboard is read for C-1's worker
    due_lists = dashboard.community_due(worker, today=today)
    # then exactly one is due today and one overdue, with Beijing times shown
    assert (due_lists["due_today_count"], due_lists["overdue_count"]) == (1, 1)
    assert [row["name"] for row in due_lists["due_today"]] == ["今日"]
    assert due_lists["due_today"][0]["planned_end_at"] == f"{today:%Y-%m-%d} 23:30"
    assert due_lists["due_today"][0]["url"] == f"/admin/communities/quarantinerecord/{due.pk}/change/"
    assert [row["name"] for row in due_lists["overdue"]] == ["逾期"]
    assert due_lists["overdue"][0]["url"] == f"/admin/communities/quarantinerecord/{overdue.pk}/change/"


def test_people_of_the_community_are_counted_by_their_current_status():
    home, other = community("C-1"), community("C-2")
    register(home, name="居家", kind="home")
    register(home, name="集中", kind="centralized")
    lifted = register(home, name="解除", kind="home")
    quarantines_lift(actor=None, records_or_ids=[lifted.pk])
    register(other, name="外社区", kind="home")
    for status in HealthStatus.objects.all():
        fresh(status.person_id)
    counts = {item["code"]: item["count"] for item in dashboard.persons_by_status(factories.staff(organisation=home))}
    assert counts == {
        "no_abnormality": 1,
        "popup": 0,
        "home_observation": 1,
        "centralized_observation": 1,
    }


# --- front desks ---------------------------------------------------------------------------------
def test_current_guests_by_status_and_those_whose_stored_decision_fails_the_hotel_requirements():
    hotel, other = hotel_create(code="h1", name="前门饭店", region_code="110101"), hotel_create(
        code="h2", name="朝阳宾馆", region_code="110105"
    )
    now = timezone.now()
    checked_in = now - timedelta(hours=2)

    def guest(name, tests=(), at_hotel=hotel, accepted=False):
        return checkin_register(
            actor=None,
            hotel=at_hotel,
            person_name=name,
            id_number=factories.id_number(),
            checked_in_at=checked_in,
            origin_region_code="110105",
            health_management_accepted=accepted,
            nat_tests=[{"sampled_at": at, "result": result, "source": source} for at, result, source in tests],
        )

    guest("证明有效", [(now - timedelta(days=1), "negative", "certificate")])
    guest("酒店检测", [(now - timedelta(hours=1), "negative", "hotel")], accepted=True)
    guest("无检测")
    guest("未接受健康管理", [(now - timedelta(hours=1), "negative", "hotel")], accepted=False)
    guest("证明过期", [(checked_in - timedelta(days=8), "negative", "certificate")])
    guest("阳性", [(now - timedelta(hours=1), "positive", "hotel")], accepted=True)
    left = guest("已离店")
    checkouts(actor=None, checkins=[left])
    guest("他店客人", at_hotel=other)
    for status in HealthStatus.objects.all():
        fresh(status.person_id)
    # when the desk's dashboard is read
    guests = dashboard.hotel_guests(factories.staff(organisation=hotel))
    # then six current guests, two of them 未见异常; the three whose decision is "不满足入住条件" are listed,
    # the one whose hotel test does not count for want of health management included
    # (the positive one is decided by R3 and flagged for review instead)
    assert guests["current_count"] == 6
    assert {item["code"]: item["count"] for item in guests["by_status"]} == {
        "no_abnormality": 2,
        "popup": 4,
        "home_observation": 0,
        "centralized_observation": 0,
    }
    assert guests["requirements_unmet_count"] == 3
    assert sorted(row["name"] for row in guests["requirements_unmet"]) == sorted(["无检测", "证明过期", "未接受健康管理"])
    assert "7天内" in guests["requirements_unmet_help"]


# --- the 14-day chart ----------------------------------------------------------------------------
def _history(person, events, current: str):
    """The person's stored history (as the recompute writes it) and the status it ends in."""
    for at, old, new in events:
        StatusEvent.objects.create(
            person=person, old_status=old, new_status=new, computed_at=at, policy_version=1, inputs_version=1
        )
    HealthStatus.objects.filter(person=person).update(status=current, computed_at=events[-1][0], dirty=False)


def test_counts_by_day_undo_each_later_change_on_beijing_days():
    now = timezone.now()
    today = timezone.localdate(now)
    day = lambda n: today - timedelta(days=n)  # noqa: E731
    first = person_resolve(name="甲", id_number=factories.id_number())
    second = person_resolve(name="乙", id_number=factories.id_number())
    person_resolve(name="未计算", id_number=factories.id_number())  # never computed: not counted
    _history(first, [(beijing(day(5), 8), "", "popup"), (beijing(day(2), 8), "popup", "home_observation")], "home_observation")
    # 23:30 Beijing is 15:30 UTC: it belongs to that Beijing day, not the next
    _history(second, [(beijing(day(3), 23, 30), "", "no_abnormality")], "no_abnormality")
    series = dashboard.status_counts_by_day(now=now)
    by_day = {point["day"]: point["counts"] for point in series}
    assert [point["day"] for point in series] == [day(n) for n in range(13, -1, -1)]
    zero = {"no_abnormality": 0, "popup": 0, "home_observation": 0, "centralized_observation": 0}
    assert by_day[day(6)] == zero
    assert by_day[day(5)] == zero | {"popup": 1}
    assert by_day[day(4)] == zero | {"popup": 1}
    assert by_day[day(3)] == zero | {"popup": 1, "no_abnormality": 1}
    assert by_day[day(2)] == zero | {"home_observation": 1, "no_abnormality": 1}
    assert by_day[today] == zero | {"home_observation": 1, "no_abnormality": 1}


def test_the_chart_is_an_inline_svg_with_one_bar_segment_per_non_zero_count():
    today = timezone.localdate()
    series = [
        {"day": today - timedelta(days=1), "counts": {"no_abnormality": 2, "popup": 0, "home_observation": 1, "centralized_observation": 0}},
        {"day": today, "counts": {"no_abnormality": 0, "popup": 0, "home_observation": 0, "centralized_observation": 0}},
    ]
    svg = str(dashboard.status_chart_svg(series))
    assert svg.startswith("<svg") and svg.endswith("</svg>")
    assert svg.count("<rect") == 2
    assert f"{today:%m-%d}" in svg
    assert "http" not in svg.replace("http://www.w3.org/2000/svg", "")  # nothing fetched from anywhere


# --- feed freshness and flagged positives --------------------------------------------------------
def test_freshness_says_when_each_source_last_sent_and_who_is_furthest_behind():
    now = timezone.now()
    hotel = hotel_create(code="h1", name="前门饭店", region_code="110101")
    hotel_create(code="h2", name="沉默宾馆", region_code="110105")
    checkin_register(
        actor=None,
        hotel=hotel,
        person_name="客人",
        id_number=factories.id_number(),
        checked_in_at=now - timedelta(hours=1),
        origin_region_code="110105",
        health_management_accepted=False,
    )
    platform = factories.staff(organisation=factories.department(Organisation.Kind.PLATFORM))
    stays_ingest(
        actor=platform,
        stays=[StayInput(name="旅客", id_number=factories.id_number(), region_code="110000", arrived_at=now - timedelta(days=1), left_at=None)],
    )
    feeds = {feed.department: feed for feed in dashboard.feed_freshness(now=now + timedelta(minutes=30))}
    assert feeds["国家政务服务平台"].level == "fresh"
    assert feeds["酒店"].level == "fresh"
    assert feeds["酒店"].laggards[0]["name"] == "沉默宾馆"
    assert feeds["酒店"].laggards[0]["behind"] == "从未收到"
    assert feeds["社区"].level == "never"
    assert feeds["海关边检"].level == "never"
    assert feeds["卫生健康部门"].level == "never"
    later = {feed.department: feed for feed in dashboard.feed_freshness(now=now + timedelta(days=2))}
    assert later["酒店"].level == "late"
    assert later["酒店"].behind.endswith("前")


def test_flagged_positives_list_the_persons_waiting_for_review():
    hotel = hotel_create(code="h1", name="前门饭店", region_code="110101")
    now = timezone.now()
    positive = checkin_register(
        actor=None,
        hotel=hotel,
        person_name="阳性者",
        id_number=factories.id_number(),
        checked_in_at=now - timedelta(hours=3),
        origin_region_code="110105",
        health_management_accepted=True,
        nat_tests=[{"sampled_at": now - timedelta(hours=2), "result": "positive", "source": "hotel"}],
    )
    fresh(positive.person_id)
    officer = factories.staff(organisation=factories.department("health"))
    flagged = dashboard.flagged_positives(officer)
    assert flagged["count"] == 1
    # the row shown is on record: one access row for this person, on the dashboard's screen
    access = StatusAccess.objects.get(user=officer)
    assert (access.person_id, access.screen) == (positive.person_id, "首页看板：待复核的阳性")
    assert flagged["rows"][0]["name"] == "阳性者"
    assert flagged["rows"][0]["url"] == f"/admin/health/person/{positive.person_id}/change/"
    assert flagged["rows"][0]["positive_at"] == timezone.localtime(now - timedelta(hours=2)).strftime("%Y-%m-%d %H:%M")


# --- the page each role gets ---------------------------------------------------------------------
def test_each_role_gets_its_own_home_page():
    home = community("C-1")
    register(home, name="张三", planned_end_at=timezone.now() + timedelta(minutes=1))
    hotel = hotel_create(code="h1", name="前门饭店", region_code="110101")
    pages = {
        "community": logged_in(factories.staff(organisation=home)).get("/admin/"),
        "hotel": logged_in(factories.staff(organisation=hotel)).get("/admin/"),
        "health": logged_in(factories.staff(organisation=factories.department("health"))).get("/admin/"),
        "admin": logged_in(factories.staff(admin=True)).get("/admin/"),
        "platform": logged_in(factories.staff(organisation=factories.department("platform"))).get("/admin/"),
    }
    html = {role: page.content.decode() for role, page in pages.items()}
    assert all(page.status_code == 200 for page in pages.values())
    assert 'data-role="community"' in html["community"] and 'id="due-today"' in html["community"]
    assert 'data-role="hotel"' in html["hotel"] and 'id="requirements-unmet"' in html["hotel"]
    for role in ("health", "admin"):
        assert 'data-role="overview"' in html[role]
        assert "<svg" in html[role] and 'id="feed-freshness"' in html[role] and 'id="flagged-positives"' in html[role]
    assert 'id="staff-dashboard"' not in html["platform"]
    # no page loads anything from another host (a random CSRF token may well contain "cdn")
    for page in html.values():
        assert not re.search(r"""(?:src|href|action)\s*=\s*["']?(?:https?:)?//""", page, re.IGNORECASE)
        assert not re.search(r"""url\(\s*["']?(?:https?:)?//""", page, re.IGNORECASE)
