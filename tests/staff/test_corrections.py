"""Status correction requests: the public API (same answer for everyone), routing, the admin queue and its resolution."""
from datetime import timedelta

import pytest
from django.utils import timezone

from entrants.services import inbound_register
from health.models import HealthStatus, Organisation, StatusCorrectionRequest
from health.services import corrections
from tests import factories
from tests.communities.helpers import community, register
from tests.staff.helpers import fresh, logged_in

pytestmark = pytest.mark.django_db

URL = "/api/v1/status/corrections/"
QUEUE = "/admin/health/statuscorrectionrequest/"


def health_department():
    return factories.department(Organisation.Kind.HEALTH)


# --- the API -------------------------------------------------------------------------------------
def test_a_known_person_s_request_is_stored_and_routed_to_their_community(api):
    # given a person in home quarantine in community C-1
    home = community("C-1")
    number = factories.id_number()
    record = register(home, name="张三", number=number)
    # when they ask for a correction
    response = api.post(URL, {"name": "张三", "id_number": number, "message": "我已解除隔离"}, format="json")
    # then the request is accepted and lands in C-1's queue with the status they had
    assert response.status_code == 202
    request = StatusCorrectionRequest.objects.get()
    assert (request.person, request.organisation, request.message) == (record.person, home, "我已解除隔离")
    assert request.state == StatusCorrectionRequest.State.OPEN
    assert request.status_at_submission == HealthStatus.Code.HOME_OBSERVATION
    assert request.reasons_at_submission == ["R2", "quarantine_home"]
    assert number not in response.content.decode()


def test_unknown_and_mismatched_requests_get_the_same_answer_and_store_nothing(api):
    # given a known person
    number = factories.id_number()
    register(community("C-1"), name="张三", number=number)
    known = api.post(URL, {"name": "张三", "id_number": number, "message": "请核实"}, format="json")
    # when a stranger's number, or the known number with another name, is submitted
    stranger = api.post(URL, {"name": "李四", "id_number": factories.id_number(), "message": "请核实"}, format="json")
    mismatched = api.post(URL, {"name": "王五", "id_number": number, "message": "请核实"}, format="json")
    # then the answers are identical and only the known person's request exists
    assert stranger.status_code == mismatched.status_code == known.status_code == 202
    assert stranger.json() == mismatched.json() == known.json()
    assert StatusCorrectionRequest.objects.count() == 1


def test_a_person_without_community_records_goes_to_the_health_authority(api):
    # given a person known only from a hotel stay
    from hotels.services import checkin_register, hotel_create

    hotel = hotel_create(code="h1", name="北京饭店", region_code="110101")
    number = factories.id_number()
    checkin_register(
        actor=None,
        hotel=hotel,
        person_name="赵六",
        id_number=number,
        checked_in_at=timezone.now() - timedelta(hours=1),
        origin_region_code="110105",
        health_management_accepted=False,
    )
    # when they submit a request
    api.post(URL, {"name": "赵六", "id_number": number, "message": "我有核酸证明"}, format="json")
    # then it is the health department's
    assert StatusCorrectionRequest.objects.get().organisation == health_department()


def test_an_inbound_traveller_goes_to_their_managing_community():
    # given a traveller whose inbound case is managed by C-9 (no quarantine record anywhere)
    managing = community("C-9")
    number = factories.id_number()
    inbound_register(
        actor=None,
        person_name="钱七",
        id_number=number,
        entered_country_on=timezone.localdate() - timedelta(days=3),
        port="首都机场",
        origin_country="JP",
        community_code="C-9",
    )
    # when they submit a request
    request = corrections.correction_submit(name="钱七", id_number=number, message="已完成隔离")
    # then C-9 handles it
    assert request.organisation == managing


def test_an_active_quarantine_wins_over_an_older_lifted_one():
    # given a person whose quarantine in A was lifted, now in quarantine in B
    from communities.services import quarantines_lift

    first, second = community("A-1"), community("B-1")
    number = factories.id_number()
    old = register(first, name="孙八", number=number, started_at=timezone.now() - timedelta(days=10))
    quarantines_lift(actor=None, records_or_ids=[old.pk])
    register(second, name="孙八", number=number, started_at=timezone.now() - timedelta(days=1))
    # when routed
    request = corrections.correction_submit(name="孙八", id_number=number, message="请核实")
    # then the community with the active quarantine gets it
    assert request.organisation == second


def test_bad_input_is_400_with_field_errors_and_writes_nothing(api):
    number = factories.id_number()
    register(community("C-1"), name="张三", number=number)
    missing = api.post(URL, {"name": "张三", "id_number": number}, format="json")
    blank = api.post(URL, {"name": "张三", "id_number": number, "message": "   "}, format="json")
    invalid = api.post(URL, {"name": "张三", "id_number": "123", "message": "请核实"}, format="json")
    too_long = api.post(URL, {"name": "张三", "id_number": number, "message": "长" * 1001}, format="json")
    assert [r.status_code for r in (missing, blank, invalid, too_long)] == [400, 400, 400, 400]
    assert list(missing.json()) == ["message"]
    assert list(blank.json()) == ["message"]
    assert list(invalid.json()) == ["id_number"]
    assert list(too_long.json()) == ["message"]
    assert StatusCorrectionRequest.objects.count() == 0


def test_every_matching_request_is_kept_the_throttle_bounds_the_queue():
    # (a cap of open requests let three requests by anyone who knew the name and number drop the owner's;
    # tests/security/test_public_budgets.py pins the budget per number, name and client address)
    number = factories.id_number()
    register(community("C-1"), name="张三", number=number)
    stored = [corrections.correction_submit(name="张三", id_number=number, message=f"第{i}次") for i in range(5)]
    assert [request is not None for request in stored] == [True] * 5
    assert StatusCorrectionRequest.objects.count() == 5


# --- the admin queue -----------------------------------------------------------------------------
@pytest.fixture
def queued():
    """A request routed to C-1, and the staff of C-1, of C-2 and of the health department."""
    home = community("C-1")
    number = factories.id_number()
    register(home, name="张三", number=number)
    request = corrections.correction_submit(name="张三", id_number=number, message="我已解除隔离，状态仍是居家观察")
    return {
        "request": request,
        "worker": factories.staff("worker-c1", organisation=home),
        "other": factories.staff("worker-c2", organisation=community("C-2")),
        "health": factories.staff("health-1", organisation=health_department()),
    }


def test_the_routed_community_sees_and_resolves_the_request_with_a_comment(queued):
    request, worker = queued["request"], queued["worker"]
    client = logged_in(worker)
    # the queue lists it
    listing = client.get(QUEUE)
    assert listing.status_code == 200
    assert "我已解除隔离" in listing.content.decode()
    page = client.get(f"{QUEUE}{request.pk}/change/")
    assert page.status_code == 200
    assert "居家观察" in page.content.decode()
    inputs_before = HealthStatus.objects.get(person=request.person).inputs_version
    # when the worker resolves it with a comment
    response = client.post(f"{QUEUE}{request.pk}/change/", {"resolution_comment": "已核实，隔离已于今日解除。"})
    # then it is resolved by them, with the comment, and the person is marked for a recompute
    assert response.status_code == 302
    request.refresh_from_db()
    assert request.state == StatusCorrectionRequest.State.RESOLVED
    assert (request.resolution_comment, request.resolved_by) == ("已核实，隔离已于今日解除。", worker)
    assert request.resolved_at is not None
    assert HealthStatus.objects.get(person=request.person).inputs_version == inputs_before + 1


def test_an_empty_comment_does_not_resolve(queued):
    request = queued["request"]
    response = logged_in(queued["worker"]).post(f"{QUEUE}{request.pk}/change/", {"resolution_comment": "  "})
    assert response.status_code == 200
    assert "请填写处理意见" in response.content.decode()
    request.refresh_from_db()
    assert request.state == StatusCorrectionRequest.State.OPEN
    assert request.resolved_by is None


def test_another_community_and_the_health_authority_do_not_see_a_community_s_request(queued):
    request = queued["request"]
    for user in (queued["other"], queued["health"]):
        client = logged_in(user)
        assert "我已解除隔离" not in client.get(QUEUE).content.decode()
        assert client.get(f"{QUEUE}{request.pk}/change/").status_code == 302  # "does not exist"
        client.post(f"{QUEUE}{request.pk}/change/", {"resolution_comment": "越权"})
    request.refresh_from_db()
    assert request.state == StatusCorrectionRequest.State.OPEN


def test_a_hotel_desk_has_no_queue(queued):
    desk = factories.staff("desk", organisation=factories.organisation("hotel", "H-1"))
    assert logged_in(desk).get(QUEUE).status_code == 403


def test_the_service_refuses_others_and_a_second_resolution(queued):
    from health.errors import NotVisible

    request = queued["request"]
    with pytest.raises(NotVisible):
        corrections.correction_resolve(actor=queued["other"], request=request, comment="越权")
    corrections.correction_resolve(actor=queued["worker"], request=request, comment="已处理")
    with pytest.raises(corrections.AlreadyResolved):
        corrections.correction_resolve(actor=queued["worker"], request=request, comment="再次处理")
    request.refresh_from_db()
    assert request.resolution_comment == "已处理"


def test_the_request_page_links_to_the_person_s_explained_status(queued):
    request = queued["request"]
    fresh(request.person)
    page = logged_in(queued["worker"]).get(f"{QUEUE}{request.pk}/change/").content.decode()
    assert f"/admin/health/person/{request.person_id}/change/" in page
    person_page = logged_in(queued["worker"]).get(f"/admin/health/person/{request.person_id}/change/")
    assert person_page.status_code == 200
    assert "社区登记了居家隔离，尚未解除" in person_page.content.decode()


# --- routing by the rule that decided, identity numbers kept out, re-routing ----------------------
def test_a_status_decided_by_a_designation_goes_to_the_health_authority_not_the_old_community(api):
    # given a person once quarantined by C-1 (lifted), now designated a close contact by health
    from communities.services import quarantines_lift
    from health.services.designations import designation_create

    number = factories.id_number()
    old = register(community("C-1"), name="张三", number=number, started_at=timezone.now() - timedelta(days=10))
    quarantines_lift(actor=None, records_or_ids=[old.pk])
    designation_create(actor=None, name="张三", id_number=number, kind="close_contact", designated_at=timezone.now() - timedelta(hours=2))
    # when they ask for a correction
    assert api.post(URL, {"name": "张三", "id_number": number, "message": "我不是密接"}, format="json").status_code == 202
    # then the health authority, which can act on it, gets it
    request = StatusCorrectionRequest.objects.get()
    assert request.reasons_at_submission[0] == "R1"
    assert request.organisation == health_department()


def test_an_unmanaged_inbound_case_goes_to_border_control():
    number = factories.id_number()
    inbound_register(
        actor=None, person_name="钱七", id_number=number, entered_country_on=timezone.localdate() - timedelta(days=3),
        port="首都机场", origin_country="JP",
    )
    request = corrections.correction_submit(name="钱七", id_number=number, message="我已完成隔离")
    assert request.reasons_at_submission[0] == "R4"
    assert request.organisation == factories.department(Organisation.Kind.BORDER)


def test_a_popup_from_the_platforms_itinerary_goes_to_the_platform():
    from health.services.itinerary import StayInput, stays_ingest

    number = factories.id_number()
    stays_ingest(actor=None, stays=[StayInput(
        name="周九", id_number=number, region_code="310100",
        arrived_at=timezone.now() - timedelta(days=5), left_at=timezone.now() - timedelta(days=3),
    )])
    request = corrections.correction_submit(name="周九", id_number=number, message="我没去过上海")
    assert request.reasons_at_submission[:2] == ["P", "itinerary_outside_jjj"]
    assert request.organisation == factories.department(Organisation.Kind.PLATFORM)


@pytest.mark.parametrize(
    "written",
    [
        "我的身份证号是{number}，一直弹窗",
        "身份证 {spaced} 弹窗",
        "号码{lower}",
        "护照E12345678和港澳通行证H1234567890都登记过",
    ],
)
def test_identity_numbers_in_the_message_are_never_stored(api, written):
    number = factories.id_number()
    register(community("C-1"), name="张三", number=number)
    spaced = " ".join(number[i:i + 4] for i in range(0, 18, 4))
    message = written.format(number=number, spaced=spaced, lower=number.lower())
    # when the message carries an identity number
    assert api.post(URL, {"name": "张三", "id_number": number, "message": message}, format="json").status_code == 202
    # then what is stored has a marker instead, and the rest as written
    stored = StatusCorrectionRequest.objects.get().message
    for secret in (number, number[:17], number.lower(), "E12345678", "H1234567890"):
        assert secret not in stored.replace(" ", "")
    assert "〔证件号已隐去〕" in stored
    assert stored.startswith(message[:2])


def test_a_phone_number_for_the_call_back_is_kept(api):
    number = factories.id_number()
    register(community("C-1"), name="张三", number=number)
    api.post(URL, {"name": "张三", "id_number": number, "message": "请回电13812345678"}, format="json")
    assert StatusCorrectionRequest.objects.get().message == "请回电13812345678"


def test_the_receiver_passes_a_request_on_in_the_admin(queued):
    request, worker = queued["request"], queued["worker"]
    health = health_department()
    client = logged_in(worker)
    # when C-1 passes it on to the health authority, with a reason
    response = client.post(
        f"{QUEUE}{request.pk}/change/", {"resolution_comment": "", "reroute_to": health.pk, "reroute_note": "确诊由卫健认定"}
    )
    assert response.status_code == 302, response.content.decode()[-3000:]
    # then it is health's, still open, with the reason; C-1 no longer sees it, health does
    request.refresh_from_db()
    assert (request.organisation, request.state, request.routing_note) == (health, "open", "确诊由卫健认定")
    assert "我已解除隔离" not in client.get(QUEUE).content.decode()
    assert "我已解除隔离" in logged_in(queued["health"]).get(QUEUE).content.decode()
    # and the change is on record with who made it
    latest = request.history.order_by("-history_id").first()
    assert (latest.organisation_id, latest.history_user) == (health.pk, worker)


def test_passing_on_needs_a_reason_and_is_only_for_the_receiver(queued):
    request = queued["request"]
    health = health_department()
    # without a reason: the form again, nothing changes
    page = logged_in(queued["worker"]).post(f"{QUEUE}{request.pk}/change/", {"reroute_to": health.pk, "reroute_note": ""})
    assert page.status_code == 200 and "请说明转交原因" in page.content.decode()
    # another community cannot pass it on
    from health.errors import NotVisible

    with pytest.raises(NotVisible):
        corrections.correction_reroute(actor=queued["other"], request=request, organisation=health, note="越权")
    # a hotel is not a receiver
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError):
        corrections.correction_reroute(
            actor=queued["worker"], request=request, organisation=factories.organisation("hotel", "H-9"), note="酒店"
        )
    request.refresh_from_db()
    assert request.organisation.code == "C-1" and request.routing_note == ""
    # a resolved request stays where it was resolved
    corrections.correction_resolve(actor=queued["worker"], request=request, comment="已处理")
    with pytest.raises(corrections.AlreadyResolved):
        corrections.correction_reroute(actor=queued["worker"], request=request, organisation=health, note="晚了")
