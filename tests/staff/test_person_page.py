"""The person page: the status in plain words, the records behind it (linked only for those who may open them), history."""
import re
from datetime import timedelta

import pytest
from django.utils import timezone

from communities.models import QuarantineRecord
from communities.services import quarantines_lift
from health.display import beijing_time
from health.models import StatusAccess
from health.services.designations import designation_create
from hotels.services import checkin_register, hotel_create
from tests import factories
from tests.communities.helpers import community, register
from tests.staff.helpers import fresh, logged_in

pytestmark = pytest.mark.django_db

PERSON = "/admin/health/person/{}/change/"


@pytest.fixture
def quarantined():
    """张三: in home quarantine in C-1, and a guest of 前门饭店 (a record of another organisation)."""
    home = community("C-1")
    number = factories.id_number()
    record = register(home, name="张三", number=number, kind="home")
    hotel = hotel_create(code="h1", name="前门饭店", region_code="110101")
    checkin = checkin_register(
        actor=None,
        hotel=hotel,
        person_name="张三",
        id_number=number,
        checked_in_at=timezone.now() - timedelta(hours=5),
        origin_region_code="110105",
        health_management_accepted=False,
    )
    fresh(record.person_id)
    return {"record": record, "checkin": checkin, "home": home, "hotel": hotel}


def test_a_worker_reads_why_and_opens_their_own_record_but_not_the_hotel_s(quarantined):
    record = quarantined["record"]
    worker = factories.staff(organisation=quarantined["home"])
    page = logged_in(worker).get(PERSON.format(record.person_id))
    html = page.content.decode()
    assert page.status_code == 200
    # the rule and its reason in words, with the fact that decided; no rule id or code for a worker
    assert "居家观察" in html
    assert "社区登记的隔离尚未解除。" in html
    assert "<strong>居家隔离中</strong>：社区登记了居家隔离，尚未解除。" in html
    assert f"<li>隔离开始于 {beijing_time(record.started_at)}</li>" in html
    # (as a word: the page's random CSRF token may hold the letters "R2" — it did, once)
    assert re.search(r"\bR2\b", html) is None and "quarantine_home" not in html and "规则编号" not in html
    assert "何时可能变化" in html
    # their quarantine record, linked, marked as the one that decides
    assert f'href="/admin/communities/quarantinerecord/{record.pk}/change/"' in html
    assert "决定当前状态" in html
    # the hotel's stay: only counted, neither linked nor described
    assert "另有 1 条其他机构的记录，您无权查看。" in html
    assert "/admin/hotels/checkin/" not in html
    assert "前门饭店" not in html
    # the read is on record, once
    assert StatusAccess.objects.filter(user=worker, person_id=record.person_id, channel="admin").count() == 1


def test_the_desk_sees_its_stay_linked_and_the_community_s_record_only_counted(quarantined):
    desk = factories.staff(organisation=quarantined["hotel"])
    html = logged_in(desk).get(PERSON.format(quarantined["record"].person_id)).content.decode()
    assert f'href="/admin/hotels/checkin/{quarantined["checkin"].pk}/change/"' in html
    assert "/admin/communities/quarantinerecord/" not in html
    assert "社区C-1" not in html
    assert "另有 1 条其他机构的记录，您无权查看。" in html


def test_history_and_valid_until_in_beijing_time_after_a_lift(quarantined):
    record = quarantined["record"]
    quarantines_lift(actor=None, records_or_ids=[record.pk])
    status = fresh(record.person_id)
    html = logged_in(factories.staff(admin=True)).get(PERSON.format(record.person_id)).content.decode()
    assert "未见异常" in html
    assert "规则编号 G1" in html  # the administrator's detail line
    assert "<strong>已解除隔离</strong>：社区已解除隔离" in html
    assert f"<li>解除于 {beijing_time(QuarantineRecord.objects.get().lifted_at)}</li>" in html
    assert timezone.localtime(status.valid_until).strftime("%Y-%m-%d %H:%M") in html
    # both changes, newest first, with their reasons and causes in words
    history = html[html.index('id="status-history"') :]
    assert history.index('已解除隔离 <small class="hk-rule-id">G1</small>') < history.index(
        '居家隔离中 <small class="hk-rule-id">R2</small>'
    )
    assert "<td>社区解除隔离</td>" in history
    assert "quarantine_lifted" not in history


def test_the_health_authority_sees_a_designation_linked_with_rule_r1():
    health = factories.staff(organisation=factories.department("health"))
    designation = designation_create(
        actor=health,
        name="李四",
        id_number=factories.id_number(),
        kind="close_contact",
        designated_at=timezone.now() - timedelta(hours=1),
    )
    fresh(designation.person_id)
    html = logged_in(health).get(PERSON.format(designation.person_id)).content.decode()
    assert "集中观察" in html
    assert "规则编号 R1" in html
    assert "<strong>密切接触者</strong>：卫健部门认定为密切接触者，尚未解除。" in html
    assert f"<li>{beijing_time(designation.designated_at)} 认定为密切接触者</li>" in html
    assert f'href="/admin/health/designation/{designation.pk}/change/"' in html


def test_another_community_cannot_open_the_person(quarantined):
    outsider = factories.staff(organisation=community("C-2"))
    page = logged_in(outsider).get(PERSON.format(quarantined["record"].person_id))
    assert page.status_code == 302
    assert StatusAccess.objects.count() == 0
