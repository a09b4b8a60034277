"""A service's refusal in the admin is a message on the page, never a 500; the loser of a race is told what happened."""
from datetime import timedelta

import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.contrib.messages import get_messages
from django.core.exceptions import ValidationError
from django.utils import timezone

from communities.models import QuarantineRecord
from entrants.models import InboundCase
from entrants.services import inbound_register
from health.errors import ApplicationError
from health.models import Designation, Person, Policy, RiskArea, StatusCorrectionRequest
from health.services.corrections import correction_resolve, correction_submit
from hotels import services as hotel_services
from hotels.models import CheckIn
from hotels.services import checkin_register, hotel_create
from tests import factories
from tests.communities.helpers import community, register
from tests.staff.helpers import logged_in

pytestmark = pytest.mark.django_db

QUARANTINES = "/admin/communities/quarantinerecord/"
CHECKINS = "/admin/hotels/checkin/"
INBOUND = "/admin/entrants/inboundcase/"


def texts(response) -> list[str]:
    return [str(message) for message in get_messages(response.wsgi_request)]


def split(moment) -> tuple[str, str]:
    local = timezone.localtime(moment)
    return local.strftime("%Y-%m-%d"), local.strftime("%H:%M:%S")


def guest(hotel, name: str, serial: int, *, actor=None) -> CheckIn:
    return checkin_register(
        actor=actor,
        hotel=hotel,
        person_name=name,
        id_number=factories.id_number(serial=serial),
        checked_in_at=timezone.now() - timedelta(hours=2),
        origin_region_code="110105",
        health_management_accepted=False,
    )


# --- the two 500s of the issue, through their real causes ------------------------------------------
def test_lifting_a_quarantine_registered_ahead_of_the_clock_is_a_message_and_lifts_nothing():
    # given a quarantine registered to start in three minutes (within the allowed clock skew), and one started
    here = community("C-1")
    worker = factories.staff(organisation=here)
    ahead = register(here, name="张三", started_at=timezone.now() + timedelta(minutes=3))
    started = register(here, name="李四")
    client = logged_in(worker)
    # when the worker lifts both from the list and confirms
    response = client.post(
        QUARANTINES, {"action": "lift_selected", "confirm": "yes", ACTION_CHECKBOX_NAME: [ahead.pk, started.pk]}
    )
    # then the page answers with a message naming the record that cannot be lifted yet, and nothing is lifted
    assert response.status_code == 302
    [message] = texts(response)
    assert message.startswith("以下隔离记录的开始时间晚于当前时间，尚不能解除：张三（")
    assert "未解除任何记录" in message
    assert "李四" not in message
    assert not QuarantineRecord.objects.filter(lifted_at__isnull=False).exists()


def test_the_desk_that_loses_a_checkout_race_is_told_who_checked_the_guest_out(monkeypatch):
    # given two desks of one hotel and two guests; desk 1 has selected both and confirms
    hotel = hotel_create(code="h1", name="前门饭店", region_code="110101")
    desk, rival = factories.staff("desk1", organisation=hotel), factories.staff("desk2", organisation=hotel)
    first, second = guest(hotel, "张三", 901), guest(hotel, "李四", 902)
    real_checkouts = hotel_services.checkouts

    def rival_first(*, actor, checkins, **kwargs):
        # desk 2 checks 张三 out (committed) after desk 1's page read the list, before desk 1's lock
        real_checkouts(actor=rival, checkins=[CheckIn.objects.get(pk=first.pk)])
        return real_checkouts(actor=actor, checkins=checkins, **kwargs)

    monkeypatch.setattr(hotel_services, "checkouts", rival_first)
    # when desk 1 confirms
    response = logged_in(desk).post(
        CHECKINS, {"action": "checkout_action", "confirm": "yes", ACTION_CHECKBOX_NAME: [first.pk, second.pk]}
    )
    # then it is told what happened, by whom, and that nothing of its own was changed
    assert response.status_code == 302
    [message] = texts(response)
    assert message.startswith("办理离店未完成：以下客人刚刚已由他人办理离店：张三（")
    assert "经办人 desk2" in message and "所选客人均未做更改" in message
    assert CheckIn.objects.get(pk=first.pk).checked_out_by == rival
    assert CheckIn.objects.get(pk=second.pk).checked_out_at is None


def test_a_correction_resolved_meanwhile_by_a_colleague_comes_back_as_a_form_error():
    # given an open request routed to the health department, opened by two officers
    health = factories.department("health")
    officer, colleague = factories.staff(organisation=health), factories.staff(organisation=health)
    guest(hotel_create(code="h1", name="前门饭店", region_code="110101"), "张三", 903)
    request = correction_submit(name="张三", id_number=factories.id_number(serial=903), message="请核实")
    assert request.organisation == health
    form_url = f"/admin/health/statuscorrectionrequest/{request.pk}/change/"
    client = logged_in(officer)
    assert client.get(form_url).status_code == 200
    correction_resolve(actor=colleague, request=request, comment="已核实")
    # when the first officer saves their comment
    response = client.post(form_url, {"resolution_comment": "我的意见"})
    # then the form comes back with the refusal; the colleague's resolution stands
    assert response.status_code == 200
    assert "该申请已处理" in response.content.decode()
    assert StatusCorrectionRequest.objects.get().resolution_comment == "已核实"


# --- every admin action, with a refusing service -----------------------------------------------------
def refusing(error):
    def service(*args, **kwargs):
        raise error

    return service


@pytest.fixture
def worlds():
    here = community("C-1")
    hotel = hotel_create(code="h1", name="前门饭店", region_code="110101")
    case = inbound_register(
        actor=factories.staff(organisation=factories.department("border")),
        person_name="王五",
        id_number=factories.id_number(serial=904),
        entered_country_on=timezone.localdate() - timedelta(days=3),
        port="首都机场",
        origin_country="FR",
        community_code="C-1",
    )
    return {
        "record": register(here, name="张三"),
        "checkin": guest(hotel, "李四", 905),
        "case": case,
        "worker": factories.staff(organisation=here),
        "desk": factories.staff(organisation=hotel),
        "admin": factories.staff(admin=True),
    }


ACTIONS = [
    # (who, changelist, action, what is selected, the service it calls, confirmation field)
    ("worker", QUARANTINES, "lift_selected", "record", "communities.admin.services.quarantines_lift", {"confirm": "yes"}),
    ("desk", CHECKINS, "checkout_action", "checkin", "hotels.admin.services.checkouts", {"confirm": "yes"}),
    ("worker", INBOUND, "release_selected", "case", "entrants.admin.services.inbound_release", {"post": "yes"}),
    ("admin", QUARANTINES, "delete_selected", "record", "communities.admin.services.quarantines_delete", {"post": "yes"}),
]


@pytest.mark.parametrize("error", [ValidationError({"lifted_at": ["服务拒绝了此操作。"]}), ApplicationError("服务拒绝了此操作。")])
@pytest.mark.parametrize(("who", "changelist", "action", "selected", "service", "confirm"), ACTIONS)
def test_every_action_shows_a_refusal_as_a_message_and_changes_nothing(
    worlds, monkeypatch, who, changelist, action, selected, service, confirm, error
):
    module, name = service.rsplit(".", 1)
    monkeypatch.setattr(module + "." + name, refusing(error))
    before = (QuarantineRecord.objects.filter(lifted_at=None).count(), CheckIn.objects.filter(checked_out_at=None).count())
    response = logged_in(worlds[who]).post(
        changelist, {"action": action, ACTION_CHECKBOX_NAME: [worlds[selected].pk], **confirm}
    )
    assert response.status_code in (200, 302)
    assert any("服务拒绝了此操作。" in message for message in texts(response))
    assert "lifted_at" not in " ".join(texts(response))
    assert (QuarantineRecord.objects.filter(lifted_at=None).count(), CheckIn.objects.filter(checked_out_at=None).count()) == before
    assert InboundCase.objects.get().released_at is None


# --- every form, with a refusing service ---------------------------------------------------------
def quarantine_form(_worlds):
    started, planned = split(timezone.now() - timedelta(hours=1)), split(timezone.now() + timedelta(days=13))
    return {
        "person_name": "新隔离",
        "id_number": factories.id_number(serial=906),
        "kind": "centralized",
        "started_at_0": started[0],
        "started_at_1": started[1],
        "planned_end_at_0": planned[0],
        "planned_end_at_1": planned[1],
    }


def checkin_form(_worlds):
    day, time = split(timezone.now() - timedelta(hours=1))
    return {
        "person_name": "新客人",
        "id_number": factories.id_number(serial=907),
        "checked_in_at_0": day,
        "checked_in_at_1": time,
        "origin_region": "110105",
        "nat_tests-TOTAL_FORMS": "1",
        "nat_tests-INITIAL_FORMS": "0",
        "nat_tests-MIN_NUM_FORMS": "0",
        "nat_tests-MAX_NUM_FORMS": "1000",
    }


def inbound_form(_worlds):
    return {
        "person_name": "新入境",
        "id_number": factories.id_number(serial=908),
        "entered_country_on": (timezone.localdate() - timedelta(days=2)).isoformat(),
        "port_of_entry": "北京首都国际机场",
        "origin_country": "SG",
        "quarantine_ended_at_0": "",
        "quarantine_ended_at_1": "",
        "entered_city_on": "",
    }


def designation_form(_worlds):
    day, time = split(timezone.now() - timedelta(hours=3))
    return {
        "person_name": "新认定",
        "id_number": factories.id_number(serial=909),
        "kind": "suspected",
        "designated_at_0": day,
        "designated_at_1": time,
    }


def risk_area_form(_worlds):
    day, time = split(timezone.now() - timedelta(hours=3))
    # Confirmed after the impact preview: the save that the service refuses.
    return {"region": "310115", "level": "medium", "effective_from_0": day, "effective_from_1": time, "_impact_confirmed": "1"}


def policy_form(_worlds):
    return {
        "window_days": 7,
        "min_stay_hours": 4,
        "nat_valid_days": 7,
        "inbound_observation_days": 28,
        "inbound_arrival_grace_days": 1,
        "eligible_provinces": "11,12,13",
        "home_region": "110000",
        "comment": "新政策",
        "_impact_confirmed": "1",
    }


def planned_end_form(worlds):
    planned = split(timezone.now() + timedelta(days=20))
    return {"planned_end_at_0": planned[0], "planned_end_at_1": planned[1], "change_comment": "延长"}


FORMS = [
    # (who, form URL, form data, the service its save calls, what must not have been written)
    ("worker", f"{QUARANTINES}add/", quarantine_form, "communities.admin.services.quarantine_register",
     lambda: QuarantineRecord.objects.count() == 1),
    ("worker", "record", planned_end_form, "communities.admin.services.quarantine_change_planned_end",
     lambda: QuarantineRecord.objects.get().planned_end_at is None),
    ("desk", f"{CHECKINS}add/", checkin_form, "hotels.admin.services.checkin_register",
     lambda: CheckIn.objects.count() == 1),
    ("admin", f"{INBOUND}add/", inbound_form, "entrants.admin.services.inbound_register",
     lambda: InboundCase.objects.count() == 1),
    ("admin", "/admin/health/designation/add/", designation_form, "health.admin.designations.designation_create",
     lambda: not Designation.objects.exists()),
    ("admin", "/admin/health/riskarea/add/", risk_area_form, "health.admin.risk_areas.risk_area_create",
     lambda: not RiskArea.objects.exists()),
    ("admin", "/admin/health/policy/add/", policy_form, "health.admin.policy.policy_publish",
     lambda: Policy.objects.count() == 1),
]


@pytest.mark.parametrize("error", [ValidationError({"started_at": ["服务拒绝了此操作。"]}), ApplicationError("服务拒绝了此操作。")])
@pytest.mark.parametrize(("who", "url", "form", "service", "unchanged"), FORMS)
def test_every_form_shows_a_refusal_on_the_form_as_typed_and_writes_nothing(
    worlds, monkeypatch, who, url, form, service, unchanged, error
):
    module, name = service.rsplit(".", 1)
    monkeypatch.setattr(module + "." + name, refusing(error))
    if url == "record":
        url = f"{QUARANTINES}{worlds['record'].pk}/change/"
    persons = Person.objects.count()
    data = form(worlds)
    response = logged_in(worlds[who]).post(url, data)
    html = response.content.decode()
    assert response.status_code == 200
    assert "服务拒绝了此操作。" in html
    assert unchanged()
    assert Person.objects.count() == persons
    # what was typed is still there, the ID number too (in its field only)
    for key in ("person_name", "comment", "change_comment"):
        if key in data:
            assert data[key] in html
    if "id_number" in data:
        assert html.count(data["id_number"]) == 1
