"""Staff read Beijing time everywhere: record titles, labels and confirmation pages of facts recorded at 23:30 UTC."""
from datetime import UTC, date, datetime, timedelta

import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.utils import timezone

from communities.models import PlannedEndChange
from communities.services import quarantine_change_planned_end
from entrants.services import inbound_register, inbound_release
from health.display import beijing_day, beijing_time
from health.models import ItineraryDeclaration, ItineraryStay, Region, StatusAccess, StatusCorrectionRequest
from health.services.access import Channel, status_access_record
from hotels.models import CheckIn, NucleicAcidTest
from hotels.services import checkin_register, hotel_create
from tests import factories
from tests.communities.helpers import community, register
from tests.staff.helpers import logged_in

pytestmark = pytest.mark.django_db


def late_evening_utc() -> datetime:
    """The latest 23:30 UTC at least a day ago: 07:30 of the next day in Beijing."""
    now = timezone.now()
    moment = now.astimezone(UTC).replace(hour=23, minute=30, second=0, microsecond=0)
    while moment > now - timedelta(days=1):
        moment -= timedelta(days=1)
    return moment


def test_the_formatter_writes_the_beijing_clock_and_date():
    # given 23:30 UTC on 2 December
    moment = datetime(2026, 12, 2, 23, 30, 15, tzinfo=UTC)
    # then staff read 07:30 on 3 December, and a calendar date as it is
    assert beijing_time(moment) == "2026-12-03 07:30"
    assert beijing_time(moment, seconds=True) == "2026-12-03 07:30:15"
    assert beijing_day(moment) == "2026-12-03"
    assert beijing_day(date(2026, 12, 2)) == "2026-12-02"
    assert beijing_time(None) == beijing_day(None) == "—"


def test_every_record_title_shows_the_beijing_date_and_time():
    clock = late_evening_utc()
    beijing_date = (clock + timedelta(hours=8)).date().isoformat()
    assert beijing_date != clock.date().isoformat()
    # given a quarantine started at 07:00 Beijing time (23:00 UTC the day before), its planned end moved
    record = register(community("C-1"), name="张三", started_at=clock - timedelta(minutes=30), planned_end_at=None)
    quarantine_change_planned_end(actor=None, record=record, planned_end_at=clock + timedelta(days=14), comment="延长")
    # and a hotel stay from 07:30 with a test sampled at 07:34 Beijing time
    hotel = hotel_create(code="h1", name="前门饭店", region_code="110101")
    checkin = checkin_register(
        actor=None,
        hotel=hotel,
        person_name="李四",
        id_number=factories.id_number(serial=902),
        checked_in_at=clock,
        origin_region_code="110105",
        health_management_accepted=True,
        nat_tests=[{"sampled_at": clock + timedelta(minutes=4), "result": "negative", "source": "hotel"}],
    )
    person = checkin.person
    stay = ItineraryStay.objects.create(person=person, region=Region.objects.get(code="110105"), arrived_at=clock)
    declaration = ItineraryDeclaration.objects.create(person=person, declared_at=clock, region_codes=["110000"])
    access = status_access_record(user=factories.staff(admin=True), person=person, channel=Channel.ADMIN)
    StatusAccess.objects.filter(pk=access.pk).update(accessed_at=clock)
    access.refresh_from_db()
    correction = StatusCorrectionRequest.objects.create(
        person=person, organisation=factories.department("health"), message="请核实", submitted_at=clock
    )
    # then every title carries the Beijing date (and time), never the UTC one
    assert str(record).endswith(f"居家隔离 {beijing_date}")
    assert str(PlannedEndChange.objects.get()).endswith(f"{beijing_date[:8]}{(clock + timedelta(days=14, hours=8)):%d} 07:30")
    assert str(CheckIn.objects.get()).endswith(f"{beijing_date} 07:30")
    assert str(NucleicAcidTest.objects.get()).endswith(f"{beijing_date} 07:34 阴性")
    assert str(stay).endswith(f"{beijing_date} 07:30")
    assert str(declaration).endswith(f"{beijing_date} 07:30")
    assert str(access).endswith(f"{beijing_date} 07:30")
    assert f"{beijing_date} 07:30 " in str(correction)


def test_the_test_row_label_says_the_time_its_field_says(client):
    clock = late_evening_utc()
    beijing_date = (clock + timedelta(hours=8)).date().isoformat()
    hotel = hotel_create(code="h1", name="前门饭店", region_code="110101")
    desk = factories.staff("desk", organisation=hotel)
    checkin = checkin_register(
        actor=desk,
        hotel=hotel,
        person_name="李四",
        id_number=factories.id_number(serial=903),
        checked_in_at=clock,
        origin_region_code="110105",
        health_management_accepted=True,
        nat_tests=[{"sampled_at": clock + timedelta(minutes=4), "result": "negative", "source": "hotel"}],
    )
    # when the desk opens the stay
    html = logged_in(desk).get(f"/admin/hotels/checkin/{checkin.pk}/change/").content.decode()
    # then the test's row is labelled 07:34 Beijing time, like its field; 23:34 appears nowhere
    assert f"{beijing_date} 07:34 阴性" in html
    assert "23:34" not in html
    # and the checkout confirmation lists the check-in at 07:30 Beijing time
    page = logged_in(desk).post(
        "/admin/hotels/checkin/", {"action": "checkout_action", ACTION_CHECKBOX_NAME: [checkin.pk]}
    ).content.decode()
    assert f"{beijing_date} 07:30" in page and "23:30" not in page


def test_the_lift_and_release_confirmations_show_beijing_time():
    clock = late_evening_utc()
    beijing_date = (clock + timedelta(hours=8)).date().isoformat()
    here = community("C-1")
    worker = factories.staff(organisation=here)
    record = register(here, name="张三", started_at=clock)
    page = logged_in(worker).post(
        "/admin/communities/quarantinerecord/", {"action": "lift_selected", ACTION_CHECKBOX_NAME: [record.pk]}
    ).content.decode()
    assert f"{beijing_date} 07:30" in page and "23:30" not in page
    # an inbound case released at 07:30 Beijing time
    border = factories.staff(organisation=factories.department("border"))
    case = inbound_register(
        actor=border,
        person_name="王五",
        id_number=factories.id_number(serial=904),
        entered_country_on=(clock - timedelta(days=10)).date(),
        port="首都机场",
        origin_country="FR",
        community_code="C-1",
    )
    inbound_release(actor=worker, case=case, released_at=clock)
    admin = factories.staff(admin=True)
    page = logged_in(admin).post(
        "/admin/entrants/inboundcase/", {"action": "release_selected", ACTION_CHECKBOX_NAME: [case.pk]}
    ).content.decode()
    assert f"已于 {beijing_date} 07:30 解除" in page
