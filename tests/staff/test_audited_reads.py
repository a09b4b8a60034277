"""Every status a staff member sees is on record: a walk of every admin list and record page (from the
admin registry), the home page, and every staff API endpoint (from the URL conf), as every role.

For each page or answer, the access rows it wrote (health.status_reads) must name exactly the persons
whose status it shows, in one insert, with the screen in words; a page that shows none writes none. A
model or endpoint added later is walked without anything to add here (the sets come from the registry
and the URL conf); an endpoint must be given a request in the access matrix's table to be walked.
"""
from __future__ import annotations

import re
from datetime import timedelta
from html import unescape

import pytest
from django.contrib import admin
from django.db import connection, transaction
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import URLPattern, URLResolver, get_resolver, resolve
from django.utils import timezone

from health.models import HealthStatus, Person, StatusAccess
from tests import factories
from tests.security import world as w
from tests.security.test_access_matrix import endpoints

STAFF_ROLES = ["admin", "community A", "community B", "hotel A", "hotel B", "health", "police", "border",
               "community_affairs", "aviation", "railway", "platform"]
LABELS = [str(label) for label in HealthStatus.Code.labels]
# The resident's own reads (name and number, no staff account), and pages that answer no person:
# these show no status to staff. Anything else under /api/v1/ is walked.
NOT_STAFF_READS = {"status-query", "status-corrections", "status-declarations", "auth-token", "api-docs", "schema"}
# List columns that show part of the stored decision as an icon, not a status label (the review flag).
FLAG_ONLY = {"hotels.NucleicAcidTest"}


def build_world():
    world = w.build()
    api = w.client_as(world.users["admin"])
    now = timezone.now()
    # A guest who has left hotel A (their status is no longer the desk's to see), a positive test
    # (a row on the health department's dashboard), a resident's correction request.
    left = factories.person_payload("离店客", serial=700)
    stay = w.created(api.post("/api/v1/hotels/H-A/checkins/", {
        "person": left, "checked_in_at": w.iso(now - timedelta(days=2)), "origin_region_code": "110105",
        "health_management_accepted": True, "nat_tests": [],
    }, format="json"))
    assert api.post(f"/api/v1/checkins/{stay}/checkout/", {}, format="json").status_code == 200
    positive = factories.person_payload("阳性客", serial=701)
    w.created(api.post("/api/v1/hotels/H-B/checkins/", {
        "person": positive, "checked_in_at": w.iso(now - timedelta(hours=5)), "origin_region_code": "110105",
        "health_management_accepted": True,
        "nat_tests": [{"sampled_at": w.iso(now - timedelta(hours=4)), "result": "positive", "source": "hotel"}],
    }, format="json"))
    answer = w.client_as(None).post(
        "/api/v1/status/corrections/", {**world.persons["A"], "message": "我已解除隔离"}, format="json"
    )
    assert answer.status_code == 202, answer.content
    world.ids["left stay"] = stay
    world.persons["left"] = left
    return world


def persons_by_name() -> dict[str, int]:
    return dict(Person.objects.values_list("name", "pk"))


def shows_status(text: str) -> bool:
    return any(label in text for label in LABELS)


def named(text: str, names: dict[str, int]) -> set[int]:
    return {pk for name, pk in names.items() if name in text}


def content_of(html: str) -> str:
    """The page's own content (not the filter sidebar, whose choices name statuses without a person)."""
    html = re.sub(r'<div id="changelist-filter".*?</div>\s*</div>\s*</div>', "", html, flags=re.S)
    html = re.sub(r'<nav id="changelist-filter".*?</nav>', "", html, flags=re.S)
    start = html.find('<div id="content"')
    return unescape(re.sub(r"<[^>]+>", " ", html[start if start >= 0 else 0:]))


def list_rows(html: str) -> list[str]:
    table = re.search(r'<table id="result_list">(.*?)</table>', html, flags=re.S)
    if table is None:
        return []
    body = table.group(1).split("<tbody>", 1)[-1]
    return [unescape(re.sub(r"<[^>]+>", " ", row)) for row in re.findall(r"<tr.*?</tr>", body, flags=re.S)]


def access_inserts(captured) -> int:
    return sum(1 for query in captured.captured_queries if 'INSERT INTO "health_statusaccess"' in query["sql"])


class Walk:
    def __init__(self, user):
        self.user = user
        self.failures: list[str] = []

    def request(self, call):
        """`call()` in a savepoint rolled back after, with the access rows it wrote and its access inserts."""
        with transaction.atomic():
            before = StatusAccess.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
            with CaptureQueriesContext(connection) as captured:
                response = call()
            rows = list(StatusAccess.objects.filter(pk__gt=before))
            transaction.set_rollback(True)
        return response, rows, access_inserts(captured)

    def check(self, where: str, rows, inserts: int, shown: set[int], *, channel: str, may_log: set[int] | None = None):
        logged = {row.person_id for row in rows}
        may_log = shown if may_log is None else may_log | shown
        if not shown <= logged:
            self.failures.append(f"{where}: status shown for {sorted(shown - logged)} without an access row")
        if not logged <= may_log:
            self.failures.append(f"{where}: access rows for {sorted(logged - may_log)} whose status is not shown")
        if len(rows) != len(logged):
            self.failures.append(f"{where}: a person logged twice for one page")
        if inserts > 1:
            self.failures.append(f"{where}: {inserts} inserts of access rows (one per page or answer)")
        for row in rows:
            if row.user_id != self.user.pk or row.channel != channel:
                self.failures.append(f"{where}: row for another reader or channel ({row.user_id}, {row.channel})")
            if not row.screen or re.search(r"[A-Za-z]", row.screen):
                self.failures.append(f"{where}: screen not in words: {row.screen!r}")


def admin_models():
    return sorted(admin.site._registry, key=lambda model: model._meta.label)


@pytest.mark.django_db
@pytest.mark.parametrize("role", STAFF_ROLES)
def test_every_admin_page_logs_each_status_it_shows(role):
    # given the city, and a staff member of this role
    world = build_world()
    names = persons_by_name()
    user = world.users[role]
    client = Client()
    client.force_login(user)
    walk = Walk(user)
    pages = 0
    # the home page (the role's dashboard): each row naming a person with a status is on record
    response, rows, inserts = walk.request(lambda: client.get("/admin/"))
    assert response.status_code == 200
    html = response.content.decode()
    shown = set().union(*(named(unescape(re.sub(r"<[^>]+>", " ", row)), names)
                          for row in re.findall(r"<tr.*?</tr>", html, flags=re.S) if shows_status(row)))
    walk.check("home page", rows, inserts, shown, channel="admin", may_log=named(content_of(html), names))
    if role in ("admin", "health"):
        # the health department's dashboard lists the positive guest awaiting review, with a status: on record
        assert names["阳性客"] in shown and names["阳性客"] in {row.person_id for row in rows}
    for model in admin_models():
        meta = model._meta
        base = f"/admin/{meta.app_label}/{meta.model_name}/"
        # when they open the list (every model in the registry: a new one is walked too)
        response, rows, inserts = walk.request(lambda base=base: client.get(base))
        if response.status_code != 200:
            assert not rows, f"{base}: refused page wrote access rows"
            continue
        pages += 1
        html = response.content.decode()
        shown: set[int] = set()
        on_rows: set[int] = set()
        for row in list_rows(html):
            on_rows |= named(row, names)
            if shows_status(row):
                shown |= named(row, names)
        flag = on_rows if meta.label in FLAG_ONLY else set()
        walk.check(f"{base} (list)", rows, inserts, shown, channel="admin", may_log=flag)
        # and every record page the list lets them open
        objects = response.context["cl"].result_list if response.context and "cl" in response.context else []
        for obj in list(objects)[:6]:
            path = f"{base}{obj.pk}/change/"
            response, rows, inserts = walk.request(lambda path=path: client.get(path))
            if response.status_code != 200:
                assert not rows, f"{path}: refused page wrote access rows"
                continue
            pages += 1
            person_id = obj.pk if isinstance(obj, Person) else getattr(obj, "person_id", None)
            text = content_of(response.content.decode())
            shown = {person_id} if person_id is not None and shows_status(text) else set()
            walk.check(f"{path} (page)", rows, inserts, shown, channel="admin")
    # and every other page of the admin that takes no parameter (add forms, and any page added later)
    for path in other_admin_pages():
        response, rows, inserts = walk.request(lambda path=path: client.get(path))
        if response.status_code != 200:
            assert not rows, f"{path}: refused page wrote access rows"
            continue
        pages += 1
        html = response.content.decode()
        shown = set().union(*(named(unescape(re.sub(r"<[^>]+>", " ", row)), names)
                              for row in re.findall(r"<tr.*?</tr>", html, flags=re.S) if shows_status(row)))
        walk.check(path, rows, inserts, shown, channel="admin", may_log=named(content_of(html), names))
    # then every status shown had its row, and nothing was logged that was not shown
    assert not walk.failures, "\n".join(walk.failures)
    assert pages >= 1


# Admin pages that are not pages of records: signing in and out, the password, the scripts.
NOT_PAGES = {"login", "logout", "password_change", "password_change_done", "autocomplete", "jsi18n"}


def other_admin_pages() -> list[str]:
    """Every admin URL without a parameter that is not a model's list or the home page (from the URL conf)."""

    def walk(patterns, prefix=""):
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                yield from walk(pattern.url_patterns, prefix + str(pattern.pattern))
            elif "<" not in str(pattern.pattern) and pattern.name not in NOT_PAGES:
                yield prefix + str(pattern.pattern), pattern.name

    return sorted(
        f"/admin/{path}" for path, name in walk(admin.site.get_urls())
        if path and not (name or "").endswith("_changelist")
    )


def api_names():
    def names(patterns, prefix=""):
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                yield from names(pattern.url_patterns, prefix + str(pattern.pattern))
            elif isinstance(pattern, URLPattern) and (prefix + str(pattern.pattern)).startswith("api/v1/"):
                yield pattern.name

    return set(names(get_resolver().url_patterns))


def statuses_in(payload) -> list[dict]:
    """Every status object in an answer (the shape of health.api.common.status_payload), with its holder."""
    found = []

    def visit(value, holder):
        if isinstance(value, dict):
            if {"status", "label", "reasons"} <= set(value):
                found.append(holder or {})
                return
            for item in value.values():
                visit(item, value)
        elif isinstance(value, list):
            for item in value:
                visit(item, holder)

    visit(payload, None)
    return found


@pytest.mark.django_db
@pytest.mark.parametrize("role", STAFF_ROLES)
def test_every_staff_api_answer_logs_each_status_it_shows(role):
    # given the city, and every endpoint under /api/v1/ with a request on organisation A's objects
    world = build_world()
    names = persons_by_name()
    requests = endpoints(world)
    walked = {resolve(path.split("?")[0]).url_name for _, path, _ in requests.values()}
    assert api_names() - NOT_STAFF_READS <= walked, "an endpoint without a request in the access matrix's table"
    user = world.users[role]
    client = w.client_as(user)
    walk = Walk(user)
    statuses_seen = 0
    for name, (method, path, body) in requests.items():
        if resolve(path.split("?")[0]).url_name in NOT_STAFF_READS:
            continue
        call = getattr(client, method)
        # when the role sends it
        response, rows, inserts = walk.request(
            lambda call=call, path=path, body=body: call(path, body, format="json") if body is not None else call(path)
        )
        if response.status_code >= 400:
            assert not rows, f"{name}: a refused request wrote access rows"
            continue
        # then each status in the answer has its row, on the API channel, in one insert
        holders = statuses_in(response.json())
        statuses_seen += len(holders)
        where = f"{name} ({role})"
        if len(rows) != len(holders):
            walk.failures.append(f"{where}: {len(holders)} statuses shown, {len(rows)} access rows")
        holder_names = {holder.get("person", {}).get("name") for holder in holders if isinstance(holder.get("person"), dict)}
        expected = {names[n] for n in holder_names if n in names}
        walk.check(where, rows, inserts, expected, channel="api", may_log={row.person_id for row in rows})
        for row in rows:
            if not row.screen.startswith("接口："):
                walk.failures.append(f"{where}: screen {row.screen!r}")
    assert not walk.failures, "\n".join(walk.failures)
    # (the walk saw statuses: a role that registers or reads persons is answered with them)
    assert statuses_seen > 0 or role not in ("admin", "community A", "hotel A", "health", "border")


@pytest.mark.django_db
def test_a_hotel_sees_a_guest_status_while_checked_in_and_at_checkout_not_after():
    # given hotel A with a current guest (居民A) and one who has left (离店客)
    world = build_world()
    desk = world.users["hotel A"]
    left = Person.objects.get(name="离店客")
    api = w.client_as(desk)
    browser = Client()
    browser.force_login(desk)
    # when the desk lists its stays (API and admin) and opens the departed guest's stay
    listed = api.get("/api/v1/hotels/H-A/checkins/").json()["results"]
    page = browser.get("/admin/hotels/checkin/?stay=all")
    stay_page = browser.get(f"/admin/hotels/checkin/{world.ids['left stay']}/change/")
    # then the departed guest has no status anywhere, and no read of them is on record
    by_name = {row["person"]["name"]: row for row in listed}
    assert by_name["离店客"]["status"] is None
    assert by_name["居民A"]["status"]["label"] in LABELS
    rows = {unescape(re.sub(r"<[^>]+>", " ", row)) for row in list_rows(page.content.decode())}
    assert any("离店客" in row and "已离店" in row and not shows_status(row) for row in rows)
    assert stay_page.status_code == 200 and not shows_status(content_of(stay_page.content.decode()))
    assert not StatusAccess.objects.filter(user=desk, person=left).exists()
    # and the checkout's own answer shows the status, on record
    stay = w.created(w.client_as(world.users["admin"]).post("/api/v1/hotels/H-A/checkins/", {
        "person": world.persons["left"], "checked_in_at": w.iso(timezone.now() - timedelta(hours=1)),
        "origin_region_code": "110105", "health_management_accepted": True, "nat_tests": [],
    }, format="json"))
    answer = api.post(f"/api/v1/checkins/{stay}/checkout/", {}, format="json").json()
    assert answer["status"]["label"] in LABELS
    access = StatusAccess.objects.get(user=desk, person=left)
    assert (access.channel, access.screen) == ("api", "接口：办理离店")


@pytest.mark.django_db
def test_a_list_page_writes_its_reads_in_one_insert_with_the_reader_and_screen():
    # given hotel A with three current guests
    world = build_world()
    admin_api = w.client_as(world.users["admin"])
    for serial in (801, 802):
        w.created(admin_api.post("/api/v1/hotels/H-A/checkins/", {
            "person": factories.person_payload(f"客{serial}", serial=serial),
            "checked_in_at": w.iso(timezone.now() - timedelta(hours=1)), "origin_region_code": "110105",
            "health_management_accepted": True, "nat_tests": [],
        }, format="json"))
    desk = world.users["hotel A"]
    browser = Client()
    browser.force_login(desk)
    # when the desk opens its stays
    with CaptureQueriesContext(connection) as captured:
        assert browser.get("/admin/hotels/checkin/?stay=current").status_code == 200
    # then one insert wrote a row per guest shown, with who read and where, in words
    rows = list(StatusAccess.objects.filter(user=desk))
    assert access_inserts(captured) == 1
    assert sorted(row.person.name for row in rows) == sorted(["居民A", "客801", "客802"])
    assert {(row.channel, row.screen, row.username, row.organisation_kind) for row in rows} == {
        ("admin", "入住登记 列表", desk.username, "hotel")
    }
    # and the administrators' access log shows where and through what, in words
    log = Client()
    log.force_login(world.users["admin"])
    page = content_of(log.get("/admin/health/statusaccess/").content.decode())
    assert "入住登记 列表" in page and "管理后台查看" in page and "查看页面" in page


@pytest.mark.django_db
def test_the_desk_messages_after_a_registration_and_a_checkout_are_on_record():
    # given a front desk in the admin
    from hotels.services import hotel_create
    from tests.hotels.test_admin import ADD, LIST, messages_of, registration

    hotel = hotel_create(code="h-msg", name="消息饭店", region_code="110101")
    desk = factories.staff("desk-msg", organisation=hotel)
    browser = Client()
    browser.force_login(desk)
    checked_in_at = (timezone.now() - timedelta(minutes=30)).replace(second=0, microsecond=0)
    # when the desk registers a guest: the message after saving names the guest's status
    data = registration(name="留言客", number=factories.id_number(serial=990), checked_in_at=checked_in_at,
                        tests=[(checked_in_at - timedelta(days=1), "negative", "certificate")])
    saved = browser.post(ADD, data, follow=True)
    assert any("健康状态" in text for text in messages_of(saved))
    guest = Person.objects.get(name="留言客")
    # then that message is a read on record; and so is the one after checking the guest out
    stay = guest.checkins.get()
    left = browser.post(LIST, {"action": "checkout_action", "_selected_action": [stay.pk], "confirm": "yes"}, follow=True)
    assert any("健康状态" in text for text in messages_of(left))
    screens = list(StatusAccess.objects.filter(user=desk, person=guest).order_by("pk").values_list("screen", flat=True))
    assert screens[0] == "入住登记 保存后提示"
    assert screens[-1] == "入住登记 离店后提示"
    # and the stays list the desk is sent back to no longer reads the departed guest
    assert "入住登记 列表" not in screens[screens.index("入住登记 离店后提示"):]
