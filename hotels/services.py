"""Every write of the hotels app: hotels, guests' check-ins with their tests, test results, checkouts.

Each write validates first (a bad request writes nothing), saves with full_clean(), records who
did it, and marks the guest dirty in the same transaction, so their status is recomputed as soon
as the change is committed.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from health import timebounds
from health.errors import ApplicationError
from health.models import Organisation
from health.services.organisations import organisation_create, region_current
from health.services.persons import person_resolve
from health.services.statuses import persons_mark_dirty
from hotels.models import CheckIn, Hotel, NucleicAcidTest

RESULTS = {choice.value for choice in NucleicAcidTest.Result}
SOURCES = {choice.value for choice in NucleicAcidTest.Source}


# --- validation shared by the writes ---------------------------------------------------------
def past_time_errors(moment: datetime | None, *, now: datetime) -> list[str]:
    """Why a time that must have happened is not acceptable (empty when it is)."""
    if moment is None:
        return [_("该字段是必填项。")]
    if timezone.is_naive(moment):
        return [_("时间须带时区。")]
    return timebounds.past_time_errors(moment, now=now)


def _nat_test_errors(test: Mapping, *, now: datetime) -> list[str]:
    errors = [f"{_('采样时间')}：{message}" for message in past_time_errors(test.get("sampled_at"), now=now)]
    if test.get("result") not in RESULTS:
        errors.append(_("检测结果须为阴性（negative）或阳性（positive）。"))
    if test.get("source") not in SOURCES:
        errors.append(_("来源须为自带证明（certificate）或酒店检测（hotel）。"))
    return errors


def _require_hotel(hotel: Organisation) -> None:
    if hotel.kind != Organisation.Kind.HOTEL:
        raise ApplicationError(_("该机构不是酒店。"), field="hotel")


def _as_actor(actor: AbstractBaseUser | None) -> AbstractBaseUser | None:
    return actor if actor is not None and getattr(actor, "is_authenticated", False) else None


def _audited_save(instance, actor: AbstractBaseUser | None) -> None:
    """full_clean() then save(), with the actor on the history row (services run outside requests too)."""
    instance.full_clean()
    instance._history_user = actor
    instance.save()


# --- hotels ------------------------------------------------------------------------------------
def hotel_create(*, code: str, name: str, region_code: str, actor: AbstractBaseUser | None = None) -> Hotel:
    """A new hotel: an organisation of kind hotel, placed in a current region."""
    return organisation_create(
        kind=Organisation.Kind.HOTEL, code=code, name=name, region_code=region_code, actor=actor, model=Hotel
    )


@transaction.atomic
def hotel_update(*, hotel: Organisation, name: str, region_code: str, actor: AbstractBaseUser | None = None) -> Organisation:
    """Rename or move a hotel; a new region changes the place of every guest's stay there.

    "Moved" compares with the stored row, read under lock: a caller's object may already carry
    the new region (an admin form fills it in before saving), and would hide the move.
    """
    _require_hotel(hotel)
    region = region_current(region_code)
    if region is None:
        raise ValidationError({"region_code": [_("未知的区划代码。")]})
    stored_region = Organisation.objects.select_for_update().filter(pk=hotel.pk).values_list("region_id", flat=True).get()
    moved = stored_region != region.code
    hotel.name = " ".join(str(name or "").split())
    hotel.region = region
    hotel.full_clean()
    hotel.save()
    if moved:
        persons_mark_dirty(
            CheckIn.objects.filter(hotel=hotel).values_list("person_id", flat=True).distinct(), cause="hotel_moved"
        )
    return hotel


# --- check-ins ---------------------------------------------------------------------------------
@transaction.atomic
def checkin_register(
    *,
    actor: AbstractBaseUser | None,
    hotel: Organisation,
    person_name: str,
    id_number: str,
    checked_in_at: datetime,
    origin_region_code: str,
    health_management_accepted: bool,
    nat_tests: Sequence[Mapping] = (),
) -> CheckIn:
    """Register a guest's check-in with the tests they bring or take; the guest is marked dirty.

    `nat_tests` are mappings with sampled_at, result (negative|positive), source (certificate|hotel).
    """
    _require_hotel(hotel)
    actor = _as_actor(actor)
    now = timezone.now()
    errors: dict[str, list[str]] = {}
    if time_errors := past_time_errors(checked_in_at, now=now):
        errors["checked_in_at"] = time_errors
    region = region_current(origin_region_code)
    if region is None:
        errors["origin_region_code"] = [_("未知的区划代码。")]
    test_errors = [
        _("第 %(index)s 项：%(message)s") % {"index": index, "message": message}
        for index, test in enumerate(nat_tests, start=1)
        for message in _nat_test_errors(test, now=now)
    ]
    if test_errors:
        errors["nat_tests"] = test_errors
    if errors:
        raise ValidationError(errors)

    try:
        person = person_resolve(name=person_name, id_number=id_number)
    except ValidationError as error:
        raise ValidationError({"person": error.messages}) from None
    if CheckIn.objects.filter(person=person, hotel=hotel, checked_out_at__isnull=True).exists():
        raise ValidationError({"person": [_("该客人在本酒店已有未离店的入住登记，请先办理离店。")]})

    checkin = CheckIn(
        person=person,
        hotel=hotel,
        checked_in_at=checked_in_at,
        origin_region=region,
        health_management_accepted=bool(health_management_accepted),
        created_by=actor,
    )
    try:
        with transaction.atomic():
            _audited_save(checkin, actor)
    except IntegrityError:  # the same guest registered concurrently at this desk
        raise ValidationError({"person": [_("该客人在本酒店已有未离店的入住登记，请先办理离店。")]}) from None
    for test in nat_tests:
        _nat_test_save(actor=actor, checkin=checkin, test=test, now=now)
    persons_mark_dirty([person.pk], cause="hotel_checkin")
    return checkin


def _nat_test_save(*, actor, checkin: CheckIn, test: Mapping, now: datetime) -> NucleicAcidTest:
    nat_test = NucleicAcidTest(
        person_id=checkin.person_id,
        checkin=checkin,
        hotel_id=checkin.hotel_id,
        sampled_at=test["sampled_at"],
        result=test["result"],
        source=test["source"],
        recorded_by=actor,
        recorded_at=now,
    )
    _audited_save(nat_test, actor)
    return nat_test


@transaction.atomic
def nat_test_add(
    *, actor: AbstractBaseUser | None, checkin: CheckIn, sampled_at: datetime, result: str, source: str
) -> NucleicAcidTest:
    """Record a test result for a guest's stay (also after checkout: results come in late)."""
    actor = _as_actor(actor)
    now = timezone.now()
    test = {"sampled_at": sampled_at, "result": result, "source": source}
    errors = _nat_test_errors(test, now=now)
    if errors:
        field = "sampled_at" if past_time_errors(sampled_at, now=now) else "non_field_errors"
        raise ValidationError({field: errors})
    nat_test = _nat_test_save(actor=actor, checkin=checkin, test=test, now=now)
    persons_mark_dirty([checkin.person_id], cause="hotel_nat_test")
    return nat_test


# --- checkouts ---------------------------------------------------------------------------------
@transaction.atomic
def checkouts(
    *, actor: AbstractBaseUser | None, checkins: Iterable[CheckIn], checked_out_at: datetime | None = None
) -> list[CheckIn]:
    """Check out several guests at once: all or nothing, one transaction, one dirty mark for all.

    Without `checked_out_at` each stay ends now (or at its check-in, for one recorded a little
    ahead of the server's clock). A stay already checked out is refused, so a double click
    cannot move a checkout time.
    """
    actor = _as_actor(actor)
    now = timezone.now()
    if checked_out_at is not None and (time_errors := past_time_errors(checked_out_at, now=now)):
        raise ValidationError({"checked_out_at": time_errors})
    pks = sorted({checkin.pk for checkin in checkins})
    locked = list(CheckIn.objects.select_for_update().filter(pk__in=pks).select_related("person").order_by("pk"))
    if len(locked) != len(pks):
        raise ApplicationError(_("入住登记不存在。"))
    done = [checkin for checkin in locked if checkin.checked_out_at is not None]
    if done:
        names = "、".join(checkin.person.name for checkin in done)
        raise ApplicationError(_("以下客人已办理离店：%(names)s。") % {"names": names})
    for checkin in locked:
        end = checked_out_at if checked_out_at is not None else max(now, checkin.checked_in_at)
        if end < checkin.checked_in_at:
            raise ValidationError({"checked_out_at": [_("离店时间不能早于入住时间。")]})
        checkin.checked_out_at = end
        checkin.checked_out_by = actor
        _audited_save(checkin, actor)
    persons_mark_dirty([checkin.person_id for checkin in locked], cause="hotel_checkout")
    return locked


def checkout(*, actor: AbstractBaseUser | None, checkin: CheckIn, checked_out_at: datetime | None = None) -> CheckIn:
    """Check out one guest (see `checkouts`)."""
    return checkouts(actor=actor, checkins=[checkin], checked_out_at=checked_out_at)[0]
