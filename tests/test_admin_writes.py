"""Every write the admin offers on a fact goes through a service that marks the affected persons dirty.

The walk: for each registered admin model, the writes an administrator is offered (the change form,
delete, each action) are listed; each one on a fact about a person is made here through the admin
itself (a browser's form, as the page renders it) and must mark the persons it affects, and each
write listed as not offered must indeed not be. A new admin write fails
`test_every_admin_write_is_walked` until it is walked here.
"""
from __future__ import annotations

from datetime import timedelta
from html.parser import HTMLParser

import pytest
from django.contrib import admin
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.test import Client, RequestFactory, TestCase
from django.utils import timezone

from communities.models import QuarantineRecord
from communities.services import community_create, quarantine_register
from entrants.models import InboundCase
from entrants.services import inbound_register
from health.models import Designation, HealthStatus, ItineraryStay, Organisation, Region, RiskArea
from health.services.designations import designation_create
from health.services.itinerary import StayInput, stays_ingest
from health.services.risk_areas import risk_area_create
from hotels.models import CheckIn, Hotel
from hotels.services import checkin_register, hotel_create
from tests import factories

pytestmark = pytest.mark.django_db

# Admin models whose writes change no fact about a person's status (who may act, logins, the
# scheduler, a resident's request, second factors): nothing to mark.
NOT_FACTS = {
    "auth.User": "staff accounts",
    "knox.AuthToken": "staff API tokens",
    "health.MachineKey": "machine accounts' API keys",
    "axes.AccessAttempt": "login lockouts",
    "axes.AccessLog": "login log",
    "axes.AccessFailureLog": "login log",
    "otp_totp.TOTPDevice": "second factors",
    "otp_static.StaticDevice": "second factors",
    "django_celery_beat.PeriodicTask": "the scheduler",
    "django_celery_beat.ClockedSchedule": "the scheduler",
    "django_celery_beat.CrontabSchedule": "the scheduler",
    "django_celery_beat.SolarSchedule": "the scheduler",
    "django_celery_beat.IntervalSchedule": "the scheduler",
    "health.StaffMembership": "who acts for which organisation",
    "health.StatusCorrectionRequest": "a resident's request; resolving it changes no record",
}
# Policy versions: never changed or deleted; a publication recomputes everyone when it takes effect,
# and the action "publish based on this version" only opens the add form filled with its values
# (tests/health/test_policy_versions.py walks both).
OWNED_ELSEWHERE = {"health.Policy"}

# Each write on a fact, walked by the test named: (model, write) -> test function.
WALKED = {
    ("communities.QuarantineRecord", "change"): "test_quarantine_planned_end_changed_in_the_admin_marks",
    ("communities.QuarantineRecord", "delete"): "test_quarantine_deleted_in_the_admin_marks",
    ("communities.QuarantineRecord", "lift_selected"): "test_quarantine_lifted_by_the_admin_action_marks",
    ("entrants.InboundCase", "change"): "test_inbound_case_changed_in_the_admin_marks",
    ("entrants.InboundCase", "delete"): "test_inbound_case_deleted_in_the_admin_marks_and_ends_r4",
    ("entrants.InboundCase", "release_selected"): "test_inbound_case_released_by_the_admin_action_marks",
    ("hotels.Hotel", "change"): "test_hotel_moved_in_the_admin_recomputes_its_guests",
    ("hotels.CheckIn", "change"): "test_nat_test_added_on_the_checkin_change_form_marks",
    ("hotels.CheckIn", "checkout_action"): "test_checkout_by_the_admin_action_marks",
    ("health.RiskArea", "change"): "test_risk_area_changed_in_the_admin_marks",
    ("health.Designation", "change"): "test_designation_changed_in_the_admin_marks",
    ("health.RiskArea", "withdraw_selected"): "test_risk_area_withdrawn_by_the_admin_action_marks",
    ("health.Designation", "withdraw_selected"): "test_designation_withdrawn_by_the_admin_action_marks",
    ("health.Organisation", "change"): "test_organisation_change_form_offers_no_region_kind_or_code",
    ("communities.Community", "change"): "test_community_change_form_offers_nothing_to_write",
    ("health.Person", "merge_selected"): "test_persons_merged_by_the_admin_action_marks",
}


def offered_writes(user) -> set[tuple[str, str]]:
    """What an administrator may write on each registered admin model: change, delete, actions."""
    request = RequestFactory().get("/admin/")
    request.user = user
    found = set()
    for model, model_admin in admin.site._registry.items():
        label = model._meta.label
        if model_admin.has_change_permission(request):
            found.add((label, "change"))
        if model_admin.has_delete_permission(request):
            found.add((label, "delete"))
        found |= {(label, name) for name in model_admin.get_actions(request) if name != "delete_selected"}
    return found


def test_every_admin_write_is_walked(admin_user):
    # given every write the admin offers an administrator
    offered = offered_writes(admin_user)

    # then each one on a fact is walked below, and each walked one is really offered
    unwalked = {write for write in offered if write[0] not in NOT_FACTS and write[0] not in OWNED_ELSEWHERE} - set(WALKED)
    assert unwalked == set()
    assert set(WALKED) <= offered
    assert all(name in globals() for name in WALKED.values())


@pytest.mark.parametrize(
    "label",
    ["health.ItineraryStay", "health.ItineraryDeclaration", "health.Region", "health.StatusEvent",
     "health.StatusAccess", "hotels.NucleicAcidTest"],
)
def test_records_of_facts_offered_read_only(admin_user, label):
    # facts that happened (or are derived): the admin offers no change, delete or action on them
    assert {write for write in offered_writes(admin_user) if write[0] == label} == set()


@pytest.mark.parametrize(
    "label",
    ["hotels.CheckIn", "health.RiskArea", "health.Designation", "hotels.Hotel", "health.Organisation",
     "communities.Community"],
)
def test_no_delete_where_a_delete_makes_no_sense(admin_user, label):
    # a stay, a designation ended by its clearing, a risk area ended by its end, an organisation records point at
    assert (label, "delete") not in offered_writes(admin_user)


# --- helpers ---------------------------------------------------------------------------------
class _FormFields(HTMLParser):
    """The values a browser would submit from the page's main form (inputs, selects, text areas)."""

    def __init__(self) -> None:
        super().__init__()
        self.data: dict[str, str] = {}
        self._select: str | None = None
        self._textarea: str | None = None
        self._in_form = False

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "form" and attrs.get("method", "").lower() == "post" and "search" not in (attrs.get("id") or ""):
            self._in_form = True
        if not self._in_form:
            return
        name = attrs.get("name")
        if tag == "input" and name:
            kind = attrs.get("type", "text")
            if kind in ("checkbox", "radio"):
                if "checked" in attrs:
                    self.data[name] = attrs.get("value", "on")
            elif kind not in ("submit", "button", "file"):
                self.data[name] = attrs.get("value") or ""
        elif tag == "select" and name:
            self._select = name
            self.data.setdefault(name, "")
        elif tag == "option" and self._select and "selected" in attrs:
            self.data[self._select] = attrs.get("value", "")
        elif tag == "textarea" and name:
            self._textarea = name
            self.data[name] = ""

    def handle_data(self, data):
        if self._textarea:
            self.data[self._textarea] += data

    def handle_endtag(self, tag):
        if tag == "select":
            self._select = None
        elif tag == "textarea":
            self._textarea = None
        elif tag == "form":
            self._in_form = False


def page_form(client: Client, url: str) -> dict[str, str]:
    page = client.get(url)
    assert page.status_code == 200
    parser = _FormFields()
    parser.feed(page.content.decode())
    return parser.data


def split(moment) -> dict[str, str]:
    local = timezone.localtime(moment)
    return {"0": local.strftime("%Y-%m-%d"), "1": local.strftime("%H:%M:%S")}


def browser(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def settled(make):
    """Set up through the services with their on-commit recomputation run: every status clean."""
    with TestCase.captureOnCommitCallbacks(execute=True):
        return make()


def mark_of(person_id: int) -> tuple[bool, int]:
    row = HealthStatus.objects.get(person_id=person_id)
    return row.dirty, row.inputs_version


def assert_marked(person_id: int, before: tuple[bool, int]) -> None:
    """Marked: the inputs version moved on (the mark; a page that shows the fresh status recomputes it at once)."""
    assert before[0] is False
    _dirty, version = mark_of(person_id)
    assert version > before[1]


def quarantine(community=None, **fields):
    community = community or community_create(code=f"C-{factories.id_number()[-5:]}", name="社区", region_code="110105")
    return settled(
        lambda: quarantine_register(
            actor=None,
            community=community,
            person_name="张三",
            id_number=factories.id_number(),
            kind="home",
            started_at=timezone.now() - timedelta(days=3),
            **fields,
        )
    )


def inbound(community=None):
    return settled(
        lambda: inbound_register(
            actor=None,
            person_name="李四",
            id_number=factories.id_number(),
            entered_country_on=timezone.localdate() - timedelta(days=10),
            port="首都机场",
            origin_country="GB",
            community_code=community.code if community else None,
        )
    )


def checkin(hotel, **fields):
    at = timezone.now() - timedelta(hours=2)
    return settled(
        lambda: checkin_register(
            actor=None,
            hotel=hotel,
            person_name="王五",
            id_number=factories.id_number(),
            checked_in_at=at,
            origin_region_code="110105",
            health_management_accepted=False,
            nat_tests=[{"sampled_at": at - timedelta(days=1), "result": "negative", "source": "certificate"}],
            **fields,
        )
    )


# --- quarantines -----------------------------------------------------------------------------
def test_quarantine_planned_end_changed_in_the_admin_marks(admin_user):
    record = quarantine()
    before = mark_of(record.person_id)
    url = f"/admin/communities/quarantinerecord/{record.pk}/change/"
    client = browser(admin_user)
    data = page_form(client, url)
    end = split(timezone.now() + timedelta(days=10))
    data.update({"planned_end_at_0": end["0"], "planned_end_at_1": end["1"], "change_comment": "延长", "_save": "1"})

    response = client.post(url, data)

    assert response.status_code == 302
    assert QuarantineRecord.objects.get(pk=record.pk).planned_end_at is not None
    assert_marked(record.person_id, before)


def test_quarantine_deleted_in_the_admin_marks(admin_user):
    record = quarantine()
    before = mark_of(record.person_id)

    response = browser(admin_user).post(f"/admin/communities/quarantinerecord/{record.pk}/delete/", {"post": "yes"})

    assert response.status_code == 302
    assert not QuarantineRecord.objects.filter(pk=record.pk).exists()
    assert_marked(record.person_id, before)


def test_quarantine_lifted_by_the_admin_action_marks(admin_user):
    record = quarantine()
    before = mark_of(record.person_id)

    response = browser(admin_user).post(
        "/admin/communities/quarantinerecord/",
        {"action": "lift_selected", ACTION_CHECKBOX_NAME: [record.pk], "confirm": "yes"},
    )

    assert response.status_code == 302
    assert QuarantineRecord.objects.get(pk=record.pk).lifted_at is not None
    assert_marked(record.person_id, before)


# --- inbound cases ---------------------------------------------------------------------------
def test_inbound_case_changed_in_the_admin_marks(admin_user):
    case = inbound()
    before = mark_of(case.person_id)
    url = f"/admin/entrants/inboundcase/{case.pk}/change/"
    client = browser(admin_user)
    data = page_form(client, url)
    data.update({"entered_city_on": (timezone.localdate() - timedelta(days=2)).isoformat(), "_save": "1"})

    response = client.post(url, data)

    assert response.status_code == 302
    assert InboundCase.objects.get(pk=case.pk).entered_city_on is not None
    assert_marked(case.person_id, before)


def test_inbound_case_deleted_in_the_admin_marks_and_ends_r4(admin_user):
    # given a traveller in observation (R4) because of one inbound case
    case = inbound()
    assert HealthStatus.objects.get(person_id=case.person_id).reasons == ["R4", "inbound_unreleased"]
    before = mark_of(case.person_id)

    # when an administrator deletes the case in the admin
    with TestCase.captureOnCommitCallbacks(execute=False) as after_commit:
        response = browser(admin_user).post(f"/admin/entrants/inboundcase/{case.pk}/delete/", {"post": "yes"})
    assert_marked(case.person_id, before)
    for callback in after_commit:
        callback()

    # then the case is gone and the person's stored status no longer says 弹窗 for it
    assert response.status_code == 302
    assert not InboundCase.objects.filter(pk=case.pk).exists()
    stored = HealthStatus.objects.get(person_id=case.person_id)
    assert (stored.status, stored.reasons) == ("popup", ["P", "itinerary_unverifiable", "itinerary_not_declared"])


def test_inbound_case_released_by_the_admin_action_marks(admin_user):
    community = community_create(code="C-R", name="社区", region_code="110105")
    case = inbound(community)
    before = mark_of(case.person_id)

    response = browser(admin_user).post(
        "/admin/entrants/inboundcase/",
        {"action": "release_selected", ACTION_CHECKBOX_NAME: [case.pk], "post": "yes"},
    )

    assert response.status_code == 302
    assert InboundCase.objects.get(pk=case.pk).released_at is not None
    assert_marked(case.person_id, before)


# --- hotels ----------------------------------------------------------------------------------
def test_hotel_moved_in_the_admin_recomputes_its_guests(admin_user):
    # given a guest at a Beijing hotel (G2), and a high-risk designation of Shanghai's Huangpu
    hotel = hotel_create(code="h-move", name="酒店", region_code="110105")
    stay = checkin(hotel)
    assert HealthStatus.objects.get(person_id=stay.person_id).reasons == ["G2", "hotel_stay"]
    settled(
        lambda: risk_area_create(
            actor=None, region=Region.objects.get(code="310101"), level="high", effective_from=timezone.now() - timedelta(days=1)
        )
    )
    before = mark_of(stay.person_id)
    url = f"/admin/hotels/hotel/{hotel.pk}/change/"
    client = browser(admin_user)
    data = page_form(client, url)
    data.update({"region": "310101", "_save": "1"})

    # when the hotel is moved to that district in the hotel admin
    with TestCase.captureOnCommitCallbacks(execute=False) as after_commit:
        response = client.post(url, data)
    assert response.status_code == 302
    assert Hotel.objects.get(pk=hotel.pk).region_id == "310101"
    assert_marked(stay.person_id, before)
    for callback in after_commit:
        callback()

    # then the guest is recomputed: the hotel's region is risky now
    stored = HealthStatus.objects.get(person_id=stay.person_id)
    assert stored.status == "popup" and "hotel_requirements_unmet" in stored.reasons


def test_nat_test_added_on_the_checkin_change_form_marks(admin_user):
    hotel = hotel_create(code="h-test", name="酒店", region_code="110105")
    stay = checkin(hotel)
    before = mark_of(stay.person_id)
    url = f"/admin/hotels/checkin/{stay.pk}/change/"
    client = browser(admin_user)
    data = page_form(client, url)
    index = int(data["nat_tests-INITIAL_FORMS"])
    sampled = split(timezone.now() - timedelta(minutes=30))
    data.update(
        {
            f"nat_tests-{index}-sampled_at_0": sampled["0"],
            f"nat_tests-{index}-sampled_at_1": sampled["1"],
            f"nat_tests-{index}-result": "positive",
            f"nat_tests-{index}-source": "hotel",
            "_save": "1",
        }
    )

    response = client.post(url, data)

    assert response.status_code == 302
    assert stay.nat_tests.filter(result="positive").exists()
    assert_marked(stay.person_id, before)


def test_checkout_by_the_admin_action_marks(admin_user):
    hotel = hotel_create(code="h-out", name="酒店", region_code="110105")
    stay = checkin(hotel)
    before = mark_of(stay.person_id)

    response = browser(admin_user).post(
        "/admin/hotels/checkin/", {"action": "checkout_action", ACTION_CHECKBOX_NAME: [stay.pk], "confirm": "yes"}
    )

    assert response.status_code == 302
    assert CheckIn.objects.get(pk=stay.pk).checked_out_at is not None
    assert_marked(stay.person_id, before)


# --- the health authority's records ------------------------------------------------------------
def test_risk_area_changed_in_the_admin_marks(admin_user):
    now = timezone.now()
    stay = StayInput("赵六", factories.id_number(), "130100", now - timedelta(days=3), now - timedelta(days=2))
    settled(lambda: stays_ingest(actor=None, stays=[stay]))
    person_id = ItineraryStay.objects.get().person_id
    area = settled(
        lambda: risk_area_create(
            actor=None, region=Region.objects.get(code="130102"), level="high", effective_from=timezone.now() - timedelta(days=5)
        )
    )
    before = mark_of(person_id)
    url = f"/admin/health/riskarea/{area.pk}/change/"
    client = browser(admin_user)
    data = page_form(client, url)
    end = split(timezone.now() - timedelta(days=4))
    data.update({"effective_to_0": end["0"], "effective_to_1": end["1"], "_save": "1", "_impact_confirmed": "1"})  # past its impact preview

    response = client.post(url, data)

    assert response.status_code == 302
    assert RiskArea.objects.get(pk=area.pk).effective_to is not None
    assert_marked(person_id, before)


def test_designation_changed_in_the_admin_marks(admin_user):
    designation = settled(
        lambda: designation_create(
            actor=None, kind="close_contact", designated_at=timezone.now() - timedelta(days=2), name="钱七",
            id_number=factories.id_number(),
        )
    )
    before = mark_of(designation.person_id)
    url = f"/admin/health/designation/{designation.pk}/change/"
    client = browser(admin_user)
    data = page_form(client, url)
    cleared = split(timezone.now() - timedelta(hours=1))
    data.update({"cleared_at_0": cleared["0"], "cleared_at_1": cleared["1"], "_save": "1"})

    response = client.post(url, data)

    assert response.status_code == 302
    assert Designation.objects.get(pk=designation.pk).cleared_at is not None
    assert_marked(designation.person_id, before)


def test_risk_area_withdrawn_by_the_admin_action_marks(admin_user):
    now = timezone.now()
    stay = StayInput("赵六", factories.id_number(), "130100", now - timedelta(days=3), now - timedelta(days=2))
    settled(lambda: stays_ingest(actor=None, stays=[stay]))
    person_id = ItineraryStay.objects.get().person_id
    area = settled(
        lambda: risk_area_create(
            actor=None, region=Region.objects.get(code="130102"), level="high", effective_from=timezone.now() - timedelta(days=5)
        )
    )
    before = mark_of(person_id)

    response = browser(admin_user).post(
        "/admin/health/riskarea/",
        {"action": "withdraw_selected", "_selected_action": [area.pk], "confirm": "yes", "reason": "误发布"},
    )

    assert response.status_code == 302
    assert RiskArea.objects.get(pk=area.pk).withdrawn_at is not None
    assert_marked(person_id, before)


def test_designation_withdrawn_by_the_admin_action_marks(admin_user):
    designation = settled(
        lambda: designation_create(
            actor=None, kind="close_contact", designated_at=timezone.now() - timedelta(days=2), name="钱七",
            id_number=factories.id_number(),
        )
    )
    before = mark_of(designation.person_id)

    response = browser(admin_user).post(
        "/admin/health/designation/",
        {"action": "withdraw_selected", "_selected_action": [designation.pk], "confirm": "yes", "reason": "误认定"},
    )

    assert response.status_code == 302
    assert Designation.objects.get(pk=designation.pk).withdrawn_at is not None
    assert_marked(designation.person_id, before)


# --- organisations: no write on a fact offered ---------------------------------------------------
def test_organisation_change_form_offers_no_region_kind_or_code(admin_user):
    # given a hotel with a guest, seen in the organisations admin
    hotel = hotel_create(code="h-org", name="酒店", region_code="110105")
    stay = checkin(hotel)
    before = mark_of(stay.person_id)
    url = f"/admin/health/organisation/{hotel.pk}/change/"
    client = browser(admin_user)
    data = page_form(client, url)

    # then the form has no region, kind or code to submit, and one posted anyway changes nothing
    assert {"region", "kind", "code"} & set(data) == set()
    data.update({"region": "310101", "kind": "community", "code": "x", "name": "改名酒店", "_save": "1"})
    response = client.post(url, data)
    assert response.status_code == 302
    stored = Organisation.objects.get(pk=hotel.pk)
    assert (stored.region_id, stored.kind, stored.code, stored.name) == ("110105", "hotel", "h-org", "改名酒店")
    assert mark_of(stay.person_id) == before


def test_community_change_form_offers_nothing_to_write(admin_user):
    record = quarantine()
    community = record.community
    before = mark_of(record.person_id)
    url = f"/admin/communities/community/{community.pk}/change/"
    client = browser(admin_user)
    data = page_form(client, url)

    assert {"region", "region_code", "code", "name"} & set(data) == set()
    data.update({"region_code": "310101", "code": "x", "name": "改名", "_save": "1"})
    assert client.post(url, data).status_code == 302
    stored = Organisation.objects.get(pk=community.pk)
    assert (stored.region_id, stored.code) == (community.region_id, community.code)
    assert mark_of(record.person_id) == before


def test_persons_merged_by_the_admin_action_marks(admin_user):
    # a person merged into another (the only write on persons: health.admin_merge) marks the kept one
    from health.identity import document_clean
    from health.models import Person, PersonMerge

    kept = settled(lambda: designation_create(
        actor=None, kind="close_contact", designated_at=timezone.now() - timedelta(days=2), name="孙八",
        id_number=factories.id_number()))
    other = settled(lambda: designation_create(
        actor=None, kind="suspected", designated_at=timezone.now() - timedelta(days=1), name="孙八",
        id_number=document_clean("passport", number="E00000001", nationality="CHN")))
    before = mark_of(kept.person_id)

    response = browser(admin_user).post(
        "/admin/health/person/",
        {"action": "merge_selected", "_selected_action": [kept.person_id, other.person_id], "post": "yes",
         "keep": str(kept.person_id), "reason": "同一人"},
    )

    assert response.status_code == 302
    assert not Person.objects.filter(pk=other.person_id).exists()
    assert Designation.objects.get(pk=other.pk).person_id == kept.person_id
    assert PersonMerge.objects.get().merged_by == admin_user
    assert_marked(kept.person_id, before)
