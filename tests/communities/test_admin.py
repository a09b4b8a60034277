"""The community workers' admin: add, lift with confirmation, filters at the Beijing day boundary, search, scoping."""
from datetime import UTC, datetime, time, timedelta

import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.test import Client
from django.utils import timezone

from communities.models import PlannedEndChange, QuarantineRecord
from communities.services import quarantine_change_planned_end
from health.models import HealthStatus, Person
from tests import factories
from tests.communities.helpers import community, register

pytestmark = pytest.mark.django_db

CHANGELIST = "/admin/communities/quarantinerecord/"


def logged_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def split(moment: datetime) -> dict:
    local = timezone.localtime(moment)
    return {"0": local.strftime("%Y-%m-%d"), "1": local.strftime("%H:%M:%S")}


def add_form(name: str, number: str, *, kind: str = "home", started_at=None, planned_end_at=None) -> dict:
    started = split(started_at or timezone.now() - timedelta(days=1))
    planned = split(planned_end_at or timezone.now() + timedelta(days=13))
    return {
        "person_name": name,
        "id_number": number,
        "kind": kind,
        "started_at_0": started["0"],
        "started_at_1": started["1"],
        "planned_end_at_0": planned["0"],
        "planned_end_at_1": planned["1"],
    }


def listed(response) -> list[int]:
    return [record.pk for record in response.context["cl"].result_list]


def beijing(day, hour=0, minute=0, second=0) -> datetime:
    return timezone.make_aware(datetime.combine(day, time(hour, minute, second)))


def test_worker_adds_then_lifts_through_the_admin_and_sees_the_status_change(django_capture_on_commit_callbacks):
    # given a logged-in community worker
    here = community("C-1")
    worker = factories.staff(organisation=here)
    client = logged_in(worker)
    number = factories.id_number()
    # when they add a record by typing a name and an ID number
    assert client.get(f"{CHANGELIST}add/").status_code == 200
    with django_capture_on_commit_callbacks(execute=True):
        added = client.post(f"{CHANGELIST}add/", add_form("孙八", number))
    # then the record is their community's, the person created, and the status is home observation
    assert added.status_code == 302
    record = QuarantineRecord.objects.get()
    assert (record.community, record.created_by, record.person.name, record.kind) == (here, worker, "孙八", "home")
    assert HealthStatus.objects.get(person=record.person).status == "home_observation"
    page = client.get(CHANGELIST)
    assert listed(page) == [record.pk]
    assert "居家观察" in page.content.decode()
    # when they choose 解除隔离 on it, a confirmation page lists it and nothing is lifted yet
    confirm = client.post(CHANGELIST, {"action": "lift_selected", "index": 0, ACTION_CHECKBOX_NAME: [record.pk]})
    assert confirm.status_code == 200
    assert confirm.templates[0].name == "admin/communities/quarantinerecord/lift_confirmation.html"
    assert "孙八" in confirm.content.decode() and record.person.id_masked in confirm.content.decode()
    assert QuarantineRecord.objects.get().lifted_at is None
    # when they confirm
    with django_capture_on_commit_callbacks(execute=True):
        done = client.post(CHANGELIST, {"action": "lift_selected", "confirm": "yes", ACTION_CHECKBOX_NAME: [record.pk]})
    # then it is lifted by them and the status is no abnormality, released by G1
    assert done.status_code == 302
    record.refresh_from_db()
    assert record.lifted_at is not None and record.lifted_by == worker
    status = HealthStatus.objects.get(person=record.person)
    assert (status.status, status.reasons, status.dirty) == ("no_abnormality", ["G1", "released_quarantine"], False)
    # and the change page shows the current status, its reasons and its history, read-only
    change = client.get(f"{CHANGELIST}{record.pk}/change/").content.decode()
    assert "未见异常" in change and "原因：已解除隔离" in change and "released_quarantine" not in change
    assert "居家观察 → 未见异常" in change
    assert 'name="planned_end_at_0"' not in change  # a lifted record's planned end no longer changes


def test_add_form_refuses_a_bad_id_number_keeping_it_in_its_field_and_writes_nothing():
    here = community("C-1")
    client = logged_in(factories.staff(organisation=here))
    bad = "110105199001010000"
    response = client.post(f"{CHANGELIST}add/", add_form("周九", bad))
    assert response.status_code == 200
    assert list(response.context["adminform"].form.errors) == ["id_number"]
    # kept in its field for correction, and nowhere else on the page
    assert response.content.decode().count(bad) == 1
    assert (Person.objects.count(), QuarantineRecord.objects.count()) == (0, 0)


def test_add_form_refuses_a_future_start_and_an_end_before_start():
    here = community("C-1")
    client = logged_in(factories.staff(organisation=here))
    future = client.post(
        f"{CHANGELIST}add/", add_form("周九", factories.id_number(), started_at=timezone.now() + timedelta(days=1))
    )
    assert list(future.context["adminform"].form.errors) == ["started_at"]
    backwards = client.post(
        f"{CHANGELIST}add/",
        add_form(
            "周九",
            factories.id_number(),
            started_at=timezone.now() - timedelta(days=1),
            planned_end_at=timezone.now() - timedelta(days=2),
        ),
    )
    assert list(backwards.context["adminform"].form.errors) == ["planned_end_at"]
    assert (Person.objects.count(), QuarantineRecord.objects.count()) == (0, 0)


def test_add_form_reuses_a_known_person_and_refuses_another_name_for_the_number():
    here = community("C-1")
    client = logged_in(factories.staff(organisation=here))
    number = factories.id_number()
    existing = register(community("C-9"), name="吴十", number=number)
    assert client.post(f"{CHANGELIST}add/", add_form("吴十", number)).status_code == 302
    assert QuarantineRecord.objects.get(community=here).person == existing.person
    conflict = client.post(f"{CHANGELIST}add/", add_form("郑十一", number, kind="centralized"))
    assert list(conflict.context["adminform"].form.errors) == ["person_name"]
    assert (Person.objects.count(), QuarantineRecord.objects.count()) == (1, 2)


def test_another_communitys_worker_can_neither_see_nor_change_nor_lift_the_record():
    # given a record of C-1 and a worker of C-2 logged in
    record = register(community("C-1"))
    stranger = logged_in(factories.staff(organisation=community("C-2")))
    # then it is not listed, its pages redirect to the admin index (Django's "does not exist"), and a lift does nothing
    assert listed(stranger.get(CHANGELIST)) == []
    for page in (f"{CHANGELIST}{record.pk}/change/", f"{CHANGELIST}{record.pk}/history/"):
        response = stranger.get(page)
        assert (response.status_code, response["Location"]) == (302, "/admin/")
    posted = stranger.post(f"{CHANGELIST}{record.pk}/change/", {"planned_end_at_0": "2030-01-01", "planned_end_at_1": "00:00:00", "change_comment": "x"})
    assert (posted.status_code, posted["Location"]) == (302, "/admin/")
    lift = stranger.post(CHANGELIST, {"action": "lift_selected", "confirm": "yes", ACTION_CHECKBOX_NAME: [record.pk]})
    assert lift.status_code == 302
    record.refresh_from_db()
    assert (record.lifted_at, record.planned_end_at) == (None, None)
    assert PlannedEndChange.objects.count() == 0


def test_a_hotel_clerk_is_refused_the_quarantine_admin():
    clerk = logged_in(factories.staff(organisation=factories.organisation("hotel", "H-1")))
    register(community("C-1"))
    assert clerk.get(CHANGELIST).status_code == 403
    assert clerk.get(f"{CHANGELIST}add/").status_code == 403


def test_admin_sees_every_community_and_chooses_one_when_adding():
    here, there = community("C-1"), community("C-2")
    records = [register(here), register(there)]
    client = logged_in(factories.staff("boss", admin=True))
    assert sorted(listed(client.get(CHANGELIST))) == sorted(r.pk for r in records)
    form = add_form("冯十二", factories.id_number())
    assert list(client.post(f"{CHANGELIST}add/", form).context["adminform"].form.errors) == ["community"]
    assert client.post(f"{CHANGELIST}add/", {**form, "community": there.pk}).status_code == 302
    assert QuarantineRecord.objects.filter(community=there).count() == 2


def test_due_today_and_overdue_filters_cut_at_beijing_midnight():
    # given records planned to end around the Beijing day boundaries of today
    here = community("C-1")
    today = timezone.localdate()
    started = beijing(today - timedelta(days=10))
    plans = {
        "yesterday_2359": beijing(today - timedelta(days=1), 23, 59, 59),
        "today_0000": beijing(today),
        "today_2359": beijing(today, 23, 59, 59),
        "tomorrow_0000": beijing(today + timedelta(days=1)),
    }
    records = {key: register(here, started_at=started, planned_end_at=moment) for key, moment in plans.items()}
    lifted_overdue = register(here, kind="centralized", started_at=started, planned_end_at=plans["yesterday_2359"])
    QuarantineRecord.objects.filter(pk=lifted_overdue.pk).update(lifted_at=timezone.now())
    client = logged_in(factories.staff(organisation=here))
    # then overdue is only the one planned before today's 00:00 Beijing (and not lifted)
    assert listed(client.get(CHANGELIST, {"due": "overdue"})) == [records["yesterday_2359"].pk]
    # and due today is [00:00, 24:00) Beijing
    assert sorted(listed(client.get(CHANGELIST, {"due": "today"}))) == sorted(
        [records["today_0000"].pk, records["today_2359"].pk]
    )
    # and the boundary is Beijing's, not UTC's: 00:00 Beijing is 16:00 UTC the day before
    assert plans["today_0000"].astimezone(UTC).hour == 16
    assert sorted(listed(client.get(CHANGELIST, {"active": "no"}))) == [lifted_overdue.pk]
    assert len(listed(client.get(CHANGELIST, {"active": "yes", "kind__exact": "home"}))) == 4


def test_search_by_name_and_by_id_number_never_puts_the_number_in_a_url():
    here = community("C-1")
    number = factories.id_number()
    wanted = register(here, name="陈十三", number=number)
    register(here, name="褚十四")
    client = logged_in(factories.staff(organisation=here))
    by_name = client.post(CHANGELIST, {"q": "陈十三", "_hashed_search": "1"})
    assert by_name.status_code == 302
    assert listed(client.get(by_name["Location"])) == [wanted.pk]
    by_number = client.post(CHANGELIST, {"q": number.lower(), "_hashed_search": "1"})
    assert number not in by_number["Location"] and number.lower() not in by_number["Location"]
    assert listed(client.get(by_number["Location"])) == [wanted.pk]
    invalid = client.post(CHANGELIST, {"q": "110105199001010000", "_hashed_search": "1"})
    assert invalid["Location"] == CHANGELIST
    # a number typed into the query string by hand is sent to its digest as well
    by_url = client.get(CHANGELIST, {"q": number})
    assert by_url.status_code == 302 and number not in by_url["Location"]
    assert listed(client.get(by_url["Location"])) == [wanted.pk]


def test_changing_the_planned_end_in_the_admin_needs_a_reason_and_is_kept_in_the_history():
    here = community("C-1")
    worker = factories.staff(organisation=here)
    started = timezone.now() - timedelta(days=2)
    record = register(here, actor=worker, started_at=started, planned_end_at=started + timedelta(days=14))
    client = logged_in(worker)
    new_end = split(started + timedelta(days=21))
    url = f"{CHANGELIST}{record.pk}/change/"
    without = client.post(url, {"planned_end_at_0": new_end["0"], "planned_end_at_1": new_end["1"], "change_comment": ""})
    assert list(without.context["adminform"].form.errors) == ["change_comment"]
    assert PlannedEndChange.objects.count() == 0
    done = client.post(url, {"planned_end_at_0": new_end["0"], "planned_end_at_1": new_end["1"], "change_comment": "复查未完成"})
    assert done.status_code == 302
    change = PlannedEndChange.objects.get()
    assert (change.old_planned_end_at, change.changed_by, change.comment) == (started + timedelta(days=14), worker, "复查未完成")
    assert QuarantineRecord.objects.get(pk=record.pk).planned_end_at == change.new_planned_end_at
    quarantine_change_planned_end(actor=worker, record=record, planned_end_at=None, comment="改为待定")
    page = client.get(url).content.decode()
    assert "复查未完成" in page and "改为待定" in page


def test_an_administrator_deleting_a_mistaken_record_recomputes_the_status(django_capture_on_commit_callbacks):
    here = community("C-1")
    with django_capture_on_commit_callbacks(execute=True):
        record = register(here)
    assert HealthStatus.objects.get(person=record.person).status == "home_observation"
    client = logged_in(factories.staff("boss", admin=True))
    worker = logged_in(factories.staff(organisation=here))
    assert worker.post(f"{CHANGELIST}{record.pk}/delete/", {"post": "yes"}).status_code == 403
    with django_capture_on_commit_callbacks(execute=True):
        assert client.post(f"{CHANGELIST}{record.pk}/delete/", {"post": "yes"}).status_code == 302
    assert QuarantineRecord.objects.count() == 0
    status = HealthStatus.objects.get(person=record.person)
    assert (status.status, status.reasons, status.dirty) == ("popup", ["P", "itinerary_unverifiable", "itinerary_not_declared"], False)
