"""What staff see around the edges: Chinese names on the admin index, the history and access log in words,
no link to a site that does not exist, the API docs from our own static files, the README's demo persons."""
import json
import re
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import call_command
from django.test import Client, override_settings
from django.utils import timezone

from health.models import StatusEvent
from health.services.access import Channel, status_access_record
from tests import factories
from tests.communities.helpers import community, register
from tests.staff.helpers import fresh, logged_in

pytestmark = pytest.mark.django_db


@pytest.fixture
def superuser(django_user_model):
    user = django_user_model.objects.create_superuser("root", password="pw-Secret-123")
    return user


def visible(html: str) -> str:
    """The text a person reads: no styles, scripts, tags or attribute values."""
    html = re.sub(r"<(style|script)\b.*?</\1>", "", html, flags=re.S)
    return re.sub(r"<[^>]+>", " ", html)


def index_names(client) -> list[str]:
    app_list = client.get("/admin/").context["app_list"]
    return [str(app["name"]) for app in app_list] + [str(model["name"]) for app in app_list for model in app["models"]]


def test_every_app_and_model_on_the_admin_index_has_a_chinese_name(superuser):
    names = index_names(logged_in(superuser))
    assert {"登录防护", "登录失败尝试", "登录记录", "两步验证：动态口令", "动态口令设备", "两步验证：备用码"} <= set(names)
    latin = [name for name in names if re.search(r"[A-Za-z]{3,}", name)]
    assert latin == []


def test_there_is_no_view_site_link_to_nowhere(superuser):
    html = logged_in(superuser).get("/admin/").content.decode()
    assert "查看站点" not in html and 'href="/"' not in html


def test_the_status_history_list_and_page_are_in_words():
    # given a person whose status changed twice (registered, then quarantine started)
    record = register(community("C-1"), name="张三")
    fresh(record.person_id)
    health = factories.staff(organisation=factories.department("health"))
    client = logged_in(health)
    # when the health department reads the history list
    html = client.get("/admin/health/statusevent/").content.decode()
    # then statuses, reasons and causes are words; filters are words; no code, rule id or JSON
    text = visible(html)
    assert "居家观察" in text and "居家隔离中" in text and "社区登记隔离" in text
    assert "home_observation" not in text and "quarantine_home" not in text and "quarantine_registered" not in text
    assert "[" not in text and "R2" not in text
    assert "?cause=quarantine_registered" in html and "社区登记隔离</a>" in html
    assert "?new_status=home_observation" in html
    # and the change page of one event too
    event = StatusEvent.objects.filter(person_id=record.person_id, new_status="home_observation").get()
    page = client.get(f"/admin/health/statusevent/{event.pk}/change/").content.decode()
    text = visible(page)
    assert "居家隔离中" in text and "社区登记隔离" in text
    assert "quarantine_home" not in text and "home_observation" not in text and "[" not in text
    filtered = client.get("/admin/health/statusevent/?cause=quarantine_registered")
    assert [row.pk for row in filtered.context["cl"].result_list] == [event.pk]


def test_the_access_log_says_channel_and_purpose_in_words(superuser):
    person = register(community("C-1"), name="张三").person
    officer = factories.staff(organisation=factories.department("health"))
    status_access_record(user=officer, person=person, channel=Channel.ADMIN)
    status_access_record(user=officer, person=person, channel=Channel.API, purpose="流调核实")
    html = logged_in(superuser).get("/admin/health/statusaccess/").content.decode()
    assert "管理后台查看" in html and "查看人员健康状态" in html
    assert "接口查询" in html and "流调核实" in html
    assert ">admin<" not in html and ">api<" not in html
    assert "?channel=api" in html and "接口查询</a>" in html


def test_the_access_log_s_reader_filter_names_kinds_in_words(superuser):
    # given reads by the health department and by an administrator
    person = register(community("C-1"), name="张三").person
    officer = factories.staff(organisation=factories.department("health"))
    status_access_record(user=officer, person=person, channel=Channel.ADMIN)
    status_access_record(user=superuser, person=person, channel=Channel.ADMIN)
    client = logged_in(superuser)
    html = client.get("/admin/health/statusaccess/").content.decode()
    # then the filter of the reader's kind offers words, never the stored codes
    assert "卫生健康部门</a>" in html and "管理员</a>" in html
    assert ">health<" not in html and ">admin<" not in html
    # and filters by them
    listed = client.get("/admin/health/statusaccess/", {"organisation_kind": "health"}).context["cl"].result_list
    assert [row.username for row in listed] == [officer.username]


def test_the_api_docs_page_loads_swagger_ui_from_our_own_static_files():
    html = Client().get("/api/v1/docs/").content.decode()
    scripts = re.findall(r'(?:src|href)="([^"]+\.(?:js|css))"', html)
    assert scripts and all(url.startswith(settings.STATIC_URL if settings.STATIC_URL.startswith("/") else "/static/") for url in scripts)
    assert "cdn" not in html.lower()
    assert "drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js" in html


README_ROW = re.compile(r"^\| (\S+) \| (\d{17}[\dX]) \| (\S+) \|", re.MULTILINE)


def test_the_readme_s_demo_persons_answer_the_public_query_as_listed(tmp_path, django_capture_on_commit_callbacks):
    rows = README_ROW.findall((Path(settings.BASE_DIR) / "README.md").read_text(encoding="utf-8"))
    assert len(rows) >= 8
    # given the demo data (its credentials written to a scratch folder, not the work tree)
    with override_settings(BASE_DIR=tmp_path), django_capture_on_commit_callbacks(execute=True):
        call_command("seed_demo", stdout=open("/dev/null", "w"))  # noqa: SIM115
    assert json.loads((tmp_path / "var" / "demo-credentials.json").read_text())
    # then each listed person, queried as the public would, has the listed status
    client = Client()
    for name, number, label in rows:
        answer = client.post("/api/v1/status/query/", {"name": name, "id_number": number}, content_type="application/json")
        assert answer.status_code == 200, name
        assert answer.json()["label"] == label, (name, answer.json())


def test_dev_run_prints_the_demo_accounts_after_the_server_is_up():
    source = (Path(settings.BASE_DIR) / "scripts" / "dev.py").read_text(encoding="utf-8")
    run = source[source.index("def cmd_run") : source.index("def cmd_test")]
    # the server is started first, the accounts printed once it answers, then the server is waited on
    assert run.index("Popen") < run.index("server_up(") < run.index("demo_accounts_print(") < run.index(".wait()")


def test_no_module_formats_a_time_for_staff_by_hand():
    # one formatter (health.display): a hand-written strftime of a model time would be UTC or drift
    for package in ("communities", "hotels", "entrants", "health"):
        for path in (Path(settings.BASE_DIR) / package).rglob("*.py"):
            if "migrations" in path.parts or path.name == "display.py":
                continue
            text = path.read_text(encoding="utf-8")
            assert not re.search(r"_at:%Y|localtime\([^)]*\)\.strftime", text), path


def test_an_itinerary_stay_s_source_is_in_words_in_its_column_and_filter(superuser):
    # given a stay from the national platform's feed
    from health.services.itinerary import StayInput, stays_ingest

    platform = factories.staff(organisation=factories.department("platform"))
    stays_ingest(actor=platform, stays=[StayInput("李四", factories.id_number(), "110105", timezone.now())])
    client = logged_in(superuser)
    html = client.get("/admin/health/itinerarystay/").content.decode()
    # then the column and the filter name the source, never its code
    assert "国家政务服务平台" in html and "国家政务服务平台</a>" in html
    assert ">platform<" not in html
    assert client.get("/admin/health/itinerarystay/", {"source": "platform"}).context["cl"].result_count == 1
    assert client.get("/admin/health/itinerarystay/", {"source": "hotel"}).context["cl"].result_count == 0
