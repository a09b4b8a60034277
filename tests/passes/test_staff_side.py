"""Staff see passes issued per hour and the key in use, and a person's last pass (never its text)."""
from __future__ import annotations

import pytest

from health.models import Person
from tests import factories
from tests.health.test_api_public import QUERY, with_beijing_stay
from tests.staff.helpers import logged_in

pytestmark = pytest.mark.django_db


def test_the_health_department_s_home_page_counts_passes_per_hour_and_shows_the_key(api):
    before = logged_in(factories.staff(organisation=factories.department("health"))).get("/admin/").content.decode()
    assert 'id="passes"' in before
    for name in ("张三", "李四", "王五"):
        api.post(QUERY, with_beijing_stay(name), format="json")
    api.post(QUERY, factories.person_payload("赵六"), format="json")  # a stranger's pass counts too
    from health.passes import keys
    from health.passes.staff import passes_summary

    summary = passes_summary()
    assert summary["total"] == 4 and summary["hours"][-1]["count"] == 4 and len(summary["hours"]) == 12
    assert summary["kid"] == keys.current_signer().kid_text
    html = logged_in(factories.staff(organisation=factories.department("health"))).get("/admin/").content.decode()
    assert "近12小时签发 4 张" in html and summary["kid"] in html


def test_the_person_page_shows_the_last_pass_but_never_its_text(api):
    payload = with_beijing_stay("张三")
    person = Person.objects.get()
    admin = logged_in(factories.staff(admin=True))
    page = admin.get(f"/admin/health/person/{person.pk}/change/").content.decode()
    assert "近两日未签发" in page
    answer = api.post(QUERY, payload, format="json").json()
    page = admin.get(f"/admin/health/person/{person.pk}/change/").content.decode()
    assert 'id="last-pass"' in page and "弹窗，签发于" in page
    assert answer["pass"]["text"] not in page and answer["pass"]["text"][4:40] not in page
    # another name with the same number (a stranger's answer) is not this person's pass
    api.post(QUERY, {**payload, "name": "别人"}, format="json")
    page = admin.get(f"/admin/health/person/{person.pk}/change/").content.decode()
    assert "弹窗，签发于" in page
