"""Every admin list each role can open, in a laptop's 1366 × 768 window (issue 13, item 5).

The lists come from each role's admin home page (the admin registry as that role sees it), not from a
list written here: a list registered later is opened too, and must show rows of the fixture data (the
demo data and a row of every other kind), or this test says which list it could not check.

On every list:
- the page itself never scrolls sideways;
- a status column (a column whose cells show a status word: 未见异常, 弹窗, 居家观察, 集中观察, 待计算) is
  within the window and within the table's own visible area, without scrolling the table sideways;
- the key columns are in view too: the column that links to the record, and every column that shows a
  person's name;
- each cell showing a person's name or a status word is one line;
- the product's own lists (every app but the libraries' auth, axes, OTP and Celery beat lists, whose
  columns are theirs) fit as a whole: nothing of them needs sideways scrolling.
Screenshots of every list go to var/screenshots/lists-<role>-<app>-<model>.png.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.test import override_settings
from django.utils import timezone

from devtools.management.commands.seed_demo import demo_id_number
from entrants.services import inbound_register
from health.models import HealthStatus, Person
from health.services.corrections import correction_submit
from health.services.itinerary import StayInput, stays_ingest
from health.services.merge import persons_merge
from health.services.persons import person_name_correct
from health.services.tokens import api_token_issue, machine_key_create
from tests.browser.conftest import PASSWORD, SCREENSHOTS, login

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]

LAPTOP = {"width": 1366, "height": 768}
# One account of each role of the demo data (devtools seed_demo).
ROLES = ["admin", "jianwai", "beijing-hotel", "health", "border", "platform"]
# Lists whose columns a library defines: only their key columns are held to the window.
LIBRARY_APPS = {"auth", "axes", "otp_static", "otp_totp", "django_celery_beat"}
# Lists a role opens that are empty by design: the platform's feed has no set-wise "persons it holds"
# (health.selectors.persons_visible_to), so its person list is always empty.
EMPTY_BY_DESIGN = {("platform", "/admin/health/person/")}
STATUS_WORDS = [str(label) for label in HealthStatus.Code.labels] + ["待计算"]

MEASURE = """(names) => {
  const table = document.querySelector('#result_list');
  if (!table) return null;
  const area = table.closest('.results') || table.parentElement;
  const box = area.getBoundingClientRect();
  const lines = (cell) => {
    const range = document.createRange();
    range.selectNodeContents(cell);
    const tops = [];
    for (const rect of range.getClientRects()) {
      if (rect.width < 1 || rect.height < 1) continue;
      if (!tops.some((top) => Math.abs(top - rect.top) < rect.height / 2)) tops.push(rect.top);
    }
    return tops.length;
  };
  const heads = [...table.querySelectorAll('thead th')].map((th) => {
    const rect = th.getBoundingClientRect();
    return {text: th.innerText.trim(), left: rect.left, right: rect.right};
  });
  const rows = [...table.querySelectorAll('tbody tr')].map((tr) => [...tr.children].map((cell) => ({
    text: cell.innerText.trim(), lines: lines(cell), link: cell.tagName === 'TH',
  })));
  return {
    pageWidth: document.documentElement.scrollWidth,
    areaLeft: box.left, areaRight: box.left + area.clientWidth,
    tableWidth: table.scrollWidth, areaWidth: area.clientWidth,
    heads, rows,
  };
}"""


def fill_every_list() -> None:
    """The demo data, and a row of each kind the demo data leaves empty (as users create them where a service exists)."""
    from axes.models import AccessAttempt, AccessFailureLog
    from django.contrib.auth.models import Group
    from django_celery_beat.models import (
        ClockedSchedule,
        CrontabSchedule,
        IntervalSchedule,
        PeriodicTask,
        SolarSchedule,
    )
    from django_otp.plugins.otp_static.models import StaticDevice
    from django_otp.plugins.otp_totp.models import TOTPDevice

    call_command("seed_demo", stdout=open("/dev/null", "w"))  # noqa: SIM115
    users = {user.username: user for user in get_user_model().objects.all()}
    for user in users.values():
        user.set_password(PASSWORD)
        user.save(update_fields=["password"])
    now = timezone.now()
    # the platform's own feed (its person list), and one traveller registered twice, then merged
    stays_ingest(
        actor=users["platform"],
        stays=[
            StayInput("钱伟", demo_id_number(901), "110108", now - timedelta(days=3)),
            StayInput("钱伟", demo_id_number(902), "110108", now - timedelta(days=2)),
        ],
    )
    twice = list(Person.objects.filter(name="钱伟").order_by("pk"))
    persons_merge(actor=users["admin"], keep=twice[0], merge=twice[1], reason="同一人两次登记")
    person_name_correct(actor=users["health"], person=Person.objects.get(name="张伟"), name="张玮", reason="录入错字")
    # a case under no community (border control's queue), and a correction request for each receiver
    inbound_register(
        actor=users["border"],
        person_name="吕强",
        id_number=demo_id_number(903),
        entered_country_on=(now - timedelta(days=3)).date(),
        port="北京首都国际机场",
        origin_country="FR",
    )
    for name, serial in (("陈静", 5), ("刘洋", 4), ("黄强", 8), ("吕强", 903)):
        correction_submit(name=name, id_number=demo_id_number(serial), message="我的状态不对，请核实。")
    machine_key_create(user=users["platform"], name="行程数据接口")
    api_token_issue(user=users["health"])
    TOTPDevice.objects.create(user=users["admin"], name="手机", confirmed=True)
    StaticDevice.objects.create(user=users["admin"], name="备用码", confirmed=True)
    Group.objects.create(name="值班组")
    attempt = {
        "ip_address": "127.0.0.1",
        "user_agent": "Mozilla/5.0 (X11; Linux x86_64) Chrome/120",
        "path_info": "/admin/login/",
        "username": "someone",
    }
    AccessAttempt.objects.create(**attempt, attempt_time=now, get_data="", post_data="", failures_since_start=1)
    AccessFailureLog.objects.create(**attempt, attempt_time=now, locked_out=False)
    every = IntervalSchedule.objects.create(every=5, period=IntervalSchedule.SECONDS)
    CrontabSchedule.objects.create(minute="0", hour="3")
    SolarSchedule.objects.create(event="sunrise", latitude=39.9, longitude=116.4)
    ClockedSchedule.objects.create(clocked_time=now)
    PeriodicTask.objects.create(name="示例任务", task="health.tasks.statuses_sweep", interval=every)


def changelists_on_home_page(page) -> list[str]:
    """The lists the role's home page links to (the admin index: the registry as this role sees it)."""
    hrefs = page.eval_on_selector_all(
        "#content-main .module th[scope=row] a", "links => links.map(link => link.getAttribute('href'))"
    )
    registered = {f"/admin/{model._meta.app_label}/{model._meta.model_name}/" for model in admin.site._registry}
    lists = sorted({href for href in hrefs if href in registered})
    assert lists, "the home page links to no list"
    return lists


def problems_of(href: str, measured: dict | None, names: list[str]) -> list[str]:
    if measured is None or not measured["rows"]:
        return [f"{href}: no rows to check (add a row of this kind to the fixture data)"]
    found = []
    width = LAPTOP["width"]
    if measured["pageWidth"] > width:
        found.append(f"{href}: the page is {measured['pageWidth']} px wide")
    visible_right = min(width, measured["areaRight"])
    heads = measured["heads"]
    status_columns, key_columns = set(), set()
    for row in measured["rows"]:
        for index, cell in enumerate(row):
            is_status = any(cell["text"].startswith(word) for word in STATUS_WORDS)
            is_name = any(name in cell["text"] for name in names)
            if is_status:
                status_columns.add(index)
            if is_name or cell["link"]:
                key_columns.add(index)
            if (is_status or is_name) and cell["lines"] != 1:
                found.append(f"{href}: {cell['text']!r} on {cell['lines']} lines")
    for index in sorted(status_columns | key_columns):
        head = heads[index]
        kind = "status column" if index in status_columns else "key column"
        if head["right"] > visible_right + 0.5 or head["left"] < measured["areaLeft"] - 0.5:
            found.append(f"{href}: {kind} {head['text']!r} ends at {head['right']:.0f} px, beyond {visible_right:.0f}")
    library = href.split("/")[2] in LIBRARY_APPS
    if not library and measured["tableWidth"] > measured["areaWidth"]:
        found.append(f"{href}: the table is {measured['tableWidth']} px wide in {measured['areaWidth']} px")
    return found


@pytest.fixture
def browser_context_for(chromium):
    """browser_context_for(role): a fresh page in its own 1366 × 768 zh-CN context (the previous one closed), in one browser."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    opened = []

    def open_for(role: str):
        while opened:
            opened.pop().context.close()
        opened.append(chromium(LAPTOP))
        return opened[-1]

    return open_for


def test_every_list_of_every_role_shows_its_status_and_key_columns_at_1366_px(browser_context_for, tmp_path):
    # given the demo data with a row in every list
    with override_settings(BASE_DIR=tmp_path):
        fill_every_list()
    names = sorted(set(Person.objects.values_list("name", flat=True)), key=len, reverse=True)
    problems: list[str] = []
    opened = 0
    for role in ROLES:
        # when each role opens every list its home page offers, in a 1366 × 768 window
        page = browser_context_for(role)
        login(page, role)
        for href in changelists_on_home_page(page):
            page.goto(href)
            measured = page.evaluate(MEASURE, names)
            app_model = href.strip("/").split("/", 1)[1].replace("/", "-")
            page.screenshot(path=str(SCREENSHOTS / f"lists-{role}-{app_model}.png"))
            opened += 1
            if (role, href) in EMPTY_BY_DESIGN:
                assert measured is None or not measured["rows"], f"{role} {href} has rows now: check it"
                continue
            problems += [f"{role} {problem}" for problem in problems_of(href, measured, names)]
    # then every status and key column is in view, names and statuses on one line
    assert not problems, "\n".join(problems)
    assert opened >= 30
