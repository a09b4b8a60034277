"""The hotel boundaries of R3, G2 and P's checkout reason, through the services and the real pipeline."""
from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from health.errors import ApplicationError, PersonConflict
from health.models import HealthStatus, Person, RiskArea, StatusEvent
from hotels import services
from hotels.models import CheckIn, NucleicAcidTest
from tests import factories
from tests.hotels.conftest import (
    jjj_itinerary,
    register,
    risk_area_declared,
    status_of,
)

NO_DATA = ["itinerary_unverifiable", "itinerary_not_declared"]
UNMET = ["P", "hotel_requirements_unmet", *NO_DATA]


# --- G2: certificates ------------------------------------------------------------------------
def test_certificate_sampled_exactly_seven_days_before_checkin_gives_hotel_stay(hotel):
    # given a guest checking in with a negative certificate sampled exactly 7 days before
    checked_in_at = timezone.now() - timedelta(hours=1)
    checkin = register(hotel, checked_in_at=checked_in_at, tests=[(checked_in_at - timedelta(days=7), "negative", "certificate")])
    # then the guest has 未见异常 for the stay
    status = status_of(checkin.person_id)
    assert (status.status, status.reasons) == ("no_abnormality", ["G2", "hotel_stay"])
    assert status.needs_review is False


def test_certificate_sampled_seven_days_and_one_minute_before_checkin_is_too_old(hotel):
    checked_in_at = timezone.now() - timedelta(hours=1)
    old = checked_in_at - timedelta(days=7, minutes=1)
    checkin = register(hotel, checked_in_at=checked_in_at, tests=[(old, "negative", "certificate")])
    status = status_of(checkin.person_id)
    assert (status.status, status.reasons) == ("popup", UNMET)


def test_positive_certificate_does_not_qualify_and_flags_the_guest(hotel):
    checked_in_at = timezone.now() - timedelta(hours=1)
    checkin = register(hotel, checked_in_at=checked_in_at, tests=[(checked_in_at - timedelta(days=1), "positive", "certificate")])
    status = status_of(checkin.person_id)
    assert (status.status, status.reasons, status.needs_review) == ("popup", ["R3", "nat_positive"], True)


# --- G2: tests at the hotel ------------------------------------------------------------------
def test_hotel_test_sampled_before_checkin_does_not_count(hotel):
    checked_in_at = timezone.now() - timedelta(hours=1)
    checkin = register(
        hotel, checked_in_at=checked_in_at, accepted=True, tests=[(checked_in_at - timedelta(minutes=1), "negative", "hotel")]
    )
    assert status_of(checkin.person_id).reasons == UNMET


def test_hotel_test_after_checkin_with_health_management_gives_hotel_stay(hotel):
    checked_in_at = timezone.now() - timedelta(hours=1)
    checkin = register(hotel, checked_in_at=checked_in_at, accepted=True, tests=[(checked_in_at, "negative", "hotel")])
    status = status_of(checkin.person_id)
    assert (status.status, status.reasons) == ("no_abnormality", ["G2", "hotel_stay"])


def test_hotel_test_after_checkin_without_health_management_does_not_count(hotel):
    checked_in_at = timezone.now() - timedelta(hours=1)
    checkin = register(
        hotel, checked_in_at=checked_in_at, accepted=False, tests=[(checked_in_at + timedelta(minutes=30), "negative", "hotel")]
    )
    assert status_of(checkin.person_id).reasons == UNMET


def test_hotel_test_result_added_later_turns_the_popup_into_hotel_stay(hotel):
    # given a guest who accepted health management and has no test yet
    checked_in_at = timezone.now() - timedelta(hours=2)
    checkin = register(hotel, checked_in_at=checked_in_at, accepted=True)
    assert status_of(checkin.person_id).reasons == UNMET
    # when the hotel's negative result comes in
    services.nat_test_add(actor=None, checkin=checkin, sampled_at=checked_in_at + timedelta(minutes=10), result="negative", source="hotel")
    # then the guest has 未见异常, and the change is in the history
    status = status_of(checkin.person_id)
    assert (status.status, status.reasons) == ("no_abnormality", ["G2", "hotel_stay"])
    assert list(StatusEvent.objects.filter(person_id=checkin.person_id).values_list("new_status", flat=True)) == [
        "no_abnormality",
        "popup",
    ]


# --- R3 ----------------------------------------------------------------------------------------
def test_positive_hotel_result_gives_popup_nat_positive_and_flags_for_review(hotel):
    checked_in_at = timezone.now() - timedelta(hours=3)
    checkin = register(hotel, checked_in_at=checked_in_at, tests=[(checked_in_at - timedelta(days=1), "negative", "certificate")])
    assert status_of(checkin.person_id).status == "no_abnormality"
    services.nat_test_add(actor=None, checkin=checkin, sampled_at=timezone.now() - timedelta(minutes=5), result="positive", source="hotel")
    status = status_of(checkin.person_id)
    assert (status.status, status.reasons, status.needs_review) == ("popup", ["R3", "nat_positive"], True)


def test_positive_result_keeps_r3_after_checkout(hotel):
    checked_in_at = timezone.now() - timedelta(hours=3)
    checkin = register(hotel, checked_in_at=checked_in_at, tests=[(checked_in_at + timedelta(hours=1), "positive", "hotel")])
    services.checkout(actor=None, checkin=checkin)
    status = status_of(checkin.person_id)
    assert (status.status, status.reasons, status.needs_review) == ("popup", ["R3", "nat_positive"], True)


# --- risk of the origin ------------------------------------------------------------------------
def test_origin_designated_medium_risk_during_the_stay_recomputes_the_guest(hotel):
    # given a guest from Xuhui, Shanghai with 未见异常 for the stay
    checked_in_at = timezone.now() - timedelta(hours=5)
    checkin = register(hotel, checked_in_at=checked_in_at, origin="310104", tests=[(checked_in_at - timedelta(days=2), "negative", "certificate")])
    assert status_of(checkin.person_id).status == "no_abnormality"
    # when Xuhui becomes a medium-risk area
    risk_area_declared("310104", effective_from=timezone.now() - timedelta(minutes=1))
    # then the fan-out marked the guest dirty and the recomputed status is 弹窗
    assert HealthStatus.objects.get(person_id=checkin.person_id).dirty is True
    status = status_of(checkin.person_id)
    # the 5-hour hotel stay in Beijing qualifies (it is in JJJ and not risky): only the platform data is missing
    assert (status.status, status.reasons) == ("popup", UNMET)


def test_another_district_of_the_origin_city_designated_reaches_the_guest(hotel):
    # given a guest from Xuhui, Shanghai; Huangpu (another district of the same city) becomes medium-risk
    checked_in_at = timezone.now() - timedelta(hours=1)
    checkin = register(hotel, checked_in_at=checked_in_at, origin="310104", tests=[(checked_in_at - timedelta(days=2), "negative", "certificate")])
    assert status_of(checkin.person_id).status == "no_abnormality"
    risk_area_declared("310101", effective_from=timezone.now() - timedelta(minutes=1))
    # then (a city elsewhere with a risky district is risky as a whole) the guest is recomputed to 弹窗
    assert HealthStatus.objects.get(person_id=checkin.person_id).dirty is True
    assert status_of(checkin.person_id).reasons == UNMET


def test_risk_area_elsewhere_does_not_touch_the_guest(hotel):
    checked_in_at = timezone.now() - timedelta(hours=1)
    checkin = register(hotel, checked_in_at=checked_in_at, origin="310104", tests=[(checked_in_at - timedelta(days=2), "negative", "certificate")])
    status_of(checkin.person_id)
    risk_area_declared("440305", effective_from=timezone.now() - timedelta(minutes=1))
    assert HealthStatus.objects.get(person_id=checkin.person_id).dirty is False
    assert status_of(checkin.person_id).reasons == ["G2", "hotel_stay"]


def test_origin_risky_before_checkin_within_the_window_fails_g2(hotel):
    # a risk of the origin that ended 3 days ago still lies in the 14-day window
    now = timezone.now()
    RiskArea.objects.create(region_id="310104", level="medium", effective_from=now - timedelta(days=10), effective_to=now - timedelta(days=3))
    checkin = register(hotel, checked_in_at=now - timedelta(hours=1), origin="310104", tests=[(now - timedelta(days=1), "negative", "certificate")])
    assert status_of(checkin.person_id).reasons == UNMET


# --- checkout and G3 ---------------------------------------------------------------------------
def test_checkout_with_fourteen_days_in_jjj_keeps_no_abnormality_by_g3(hotel):
    # given a Beijing resident back from a trip, registered with a certificate, and a platform stay
    # in Beijing covering the whole window, declared
    checked_in_at = timezone.now() - timedelta(days=2)
    checkin = register(hotel, checked_in_at=checked_in_at, origin="120101", tests=[(checked_in_at - timedelta(days=1), "negative", "certificate")])
    jjj_itinerary(checkin.person)
    assert status_of(checkin.person_id).reasons == ["G2", "hotel_stay"]
    # when the guest checks out
    services.checkout(actor=None, checkin=checkin)
    # then the general 14-day rule holds: 未见异常 by G3
    status = status_of(checkin.person_id)
    assert (status.status, status.reasons) == ("no_abnormality", ["G3", "itinerary_verified"])


def test_checkout_without_fourteen_days_in_jjj_gives_popup(hotel):
    checked_in_at = timezone.now() - timedelta(days=2)
    checkin = register(hotel, checked_in_at=checked_in_at, tests=[(checked_in_at - timedelta(days=1), "negative", "certificate")])
    assert status_of(checkin.person_id).status == "no_abnormality"
    services.checkout(actor=None, checkin=checkin)
    status = status_of(checkin.person_id)
    assert (status.status, status.reasons) == ("popup", ["P", "hotel_checkout_requirements_unmet", *NO_DATA])


def test_checkout_with_a_declaration_missing_the_hotel_city_is_a_mismatch(hotel):
    # the hotel stay counts as a qualifying stay in Beijing: a declaration of Tianjin alone does not cover it
    checked_in_at = timezone.now() - timedelta(days=2)
    checkin = register(hotel, checked_in_at=checked_in_at, tests=[(checked_in_at - timedelta(days=1), "negative", "certificate")])
    jjj_itinerary(checkin.person, regions=("120000",))
    services.checkout(actor=None, checkin=checkin)
    assert status_of(checkin.person_id).reasons == ["P", "hotel_checkout_requirements_unmet", "itinerary_mismatch"]


def test_bulk_checkout_is_one_transaction_and_marks_everyone(hotel):
    checked_in_at = timezone.now() - timedelta(hours=6)
    tests = [(checked_in_at - timedelta(days=1), "negative", "certificate")]
    first = register(hotel, checked_in_at=checked_in_at, tests=tests, name="甲")
    second = register(hotel, checked_in_at=checked_in_at, tests=tests, name="乙")
    done = services.checkouts(actor=None, checkins=[first, second])
    assert {checkin.pk for checkin in done} == {first.pk, second.pk}
    assert CheckIn.objects.filter(checked_out_at__isnull=True).count() == 0
    assert [status_of(c.person_id).reasons[:2] for c in (first, second)] == [["P", "hotel_checkout_requirements_unmet"]] * 2


def test_bulk_checkout_with_one_guest_already_out_changes_nobody(hotel):
    checked_in_at = timezone.now() - timedelta(hours=6)
    first = register(hotel, checked_in_at=checked_in_at, name="甲")
    second = register(hotel, checked_in_at=checked_in_at, name="乙")
    services.checkout(actor=None, checkin=second)
    left_at = CheckIn.objects.get(pk=second.pk).checked_out_at
    with pytest.raises(ApplicationError):
        services.checkouts(actor=None, checkins=[first, second])
    assert CheckIn.objects.get(pk=first.pk).checked_out_at is None
    assert CheckIn.objects.get(pk=second.pk).checked_out_at == left_at


def test_checkout_twice_is_refused_and_keeps_the_first_time(hotel):
    checkin = register(hotel, checked_in_at=timezone.now() - timedelta(hours=6))
    services.checkout(actor=None, checkin=checkin, checked_out_at=timezone.now() - timedelta(hours=1))
    first = CheckIn.objects.get(pk=checkin.pk).checked_out_at
    with pytest.raises(ApplicationError):
        services.checkout(actor=None, checkin=checkin)
    assert CheckIn.objects.get(pk=checkin.pk).checked_out_at == first


def test_checkout_before_checkin_is_refused_and_nothing_changes(hotel):
    checked_in_at = timezone.now() - timedelta(hours=6)
    checkin = register(hotel, checked_in_at=checked_in_at, tests=[(checked_in_at - timedelta(days=1), "negative", "certificate")])
    before = status_of(checkin.person_id)
    with pytest.raises(ValidationError) as error:
        services.checkout(actor=None, checkin=checkin, checked_out_at=checked_in_at - timedelta(minutes=1))
    assert list(error.value.message_dict) == ["checked_out_at"]
    assert CheckIn.objects.get(pk=checkin.pk).checked_out_at is None
    after = HealthStatus.objects.get(person_id=checkin.person_id)
    assert (after.dirty, after.inputs_version, after.reasons) == (False, before.inputs_version, ["G2", "hotel_stay"])


# --- registrations that write nothing -----------------------------------------------------------
def test_register_with_future_test_and_unknown_origin_writes_nothing(hotel):
    with pytest.raises(ValidationError) as error:
        register(
            hotel,
            checked_in_at=timezone.now() - timedelta(hours=1),
            origin="999999",
            tests=[(timezone.now() + timedelta(hours=1), "negative", "certificate")],
        )
    assert sorted(error.value.message_dict) == ["nat_tests", "origin_region_code"]
    assert (Person.objects.count(), CheckIn.objects.count(), NucleicAcidTest.objects.count()) == (0, 0, 0)


def test_register_twice_at_the_same_hotel_is_refused_while_the_first_stay_is_open(hotel, other_hotel):
    number = factories.id_number()
    register(hotel, checked_in_at=timezone.now() - timedelta(hours=2), number=number)
    with pytest.raises(ValidationError) as error:
        register(hotel, checked_in_at=timezone.now() - timedelta(hours=1), number=number)
    assert list(error.value.message_dict) == ["person"]
    # at another hotel the same guest may be registered (an open stay at each)
    register(other_hotel, checked_in_at=timezone.now() - timedelta(hours=1), number=number)
    assert CheckIn.objects.count() == 2


def test_register_a_known_number_under_another_name_is_a_conflict(hotel):
    number = factories.id_number()
    register(hotel, checked_in_at=timezone.now() - timedelta(hours=2), number=number, name="王五")
    with pytest.raises(PersonConflict):
        register(hotel, checked_in_at=timezone.now() - timedelta(hours=1), number=number, name="赵六")
    assert CheckIn.objects.count() == 1


def test_nat_test_sampled_in_the_future_is_refused(hotel):
    checkin = register(hotel, checked_in_at=timezone.now() - timedelta(hours=2))
    with pytest.raises(ValidationError) as error:
        services.nat_test_add(actor=None, checkin=checkin, sampled_at=timezone.now() + timedelta(minutes=10), result="negative", source="hotel")
    assert list(error.value.message_dict) == ["sampled_at"]
    assert NucleicAcidTest.objects.count() == 0
    assert HealthStatus.objects.get(person_id=checkin.person_id).inputs_version == 2  # created, then registered


def test_hotel_create_refuses_a_duplicate_code_and_an_unknown_region(hotel):
    with pytest.raises(ValidationError) as error:
        services.hotel_create(code="bj-hotel-1", name="重复", region_code="000001")
    assert sorted(error.value.message_dict) == ["code", "region_code"]


# --- database constraints (the last line behind the services) ----------------------------------
def test_database_refuses_a_checkout_before_checkin(hotel):
    checkin = register(hotel, checked_in_at=timezone.now() - timedelta(hours=2))
    with pytest.raises(IntegrityError), transaction.atomic():
        CheckIn.objects.filter(pk=checkin.pk).update(checked_out_at=checkin.checked_in_at - timedelta(seconds=1))


def test_database_refuses_a_second_open_stay_at_the_same_hotel(hotel):
    checkin = register(hotel, checked_in_at=timezone.now() - timedelta(hours=2))
    with pytest.raises(IntegrityError), transaction.atomic():
        CheckIn.objects.create(
            person_id=checkin.person_id, hotel=hotel, checked_in_at=timezone.now(), origin_region_id="310104"
        )


def test_database_allows_a_new_stay_after_checkout(hotel):
    checkin = register(hotel, checked_in_at=timezone.now() - timedelta(hours=2))
    services.checkout(actor=None, checkin=checkin)
    CheckIn.objects.create(person_id=checkin.person_id, hotel=hotel, checked_in_at=timezone.now(), origin_region_id="310104")
    assert CheckIn.objects.filter(person_id=checkin.person_id).count() == 2


def test_database_refuses_a_test_sampled_after_it_was_recorded(hotel):
    checkin = register(hotel, checked_in_at=timezone.now() - timedelta(hours=2))
    recorded_at = timezone.now()
    with pytest.raises(IntegrityError), transaction.atomic():
        NucleicAcidTest.objects.create(
            person_id=checkin.person_id,
            checkin=checkin,
            hotel=hotel,
            sampled_at=recorded_at + timedelta(minutes=5, seconds=1),
            result="negative",
            source="hotel",
            recorded_at=recorded_at,
        )
    # within the clock skew it is accepted
    NucleicAcidTest.objects.create(
        person_id=checkin.person_id, checkin=checkin, hotel=hotel, sampled_at=recorded_at + timedelta(minutes=5),
        result="negative", source="hotel", recorded_at=recorded_at,
    )


def test_registration_is_recomputed_on_commit_without_anyone_asking(hotel, django_capture_on_commit_callbacks):
    # given a registration committed (the eager task runs on commit, as the worker would)
    checked_in_at = timezone.now() - timedelta(hours=1)
    with django_capture_on_commit_callbacks(execute=True):
        checkin = register(hotel, checked_in_at=checked_in_at, tests=[(checked_in_at - timedelta(days=1), "negative", "certificate")])
    # then the stored status is already fresh, with the cause recorded
    stored = HealthStatus.objects.get(person_id=checkin.person_id)
    assert (stored.dirty, stored.status, stored.reasons) == (False, "no_abnormality", ["G2", "hotel_stay"])
    assert StatusEvent.objects.get(person_id=checkin.person_id).cause == "hotel_checkin"
