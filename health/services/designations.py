"""The health authority's designations: record one, clear one; each marks the person dirty."""
from __future__ import annotations

from datetime import datetime

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from health.models import WITHDRAWAL_REASON_MAX, Designation, Organisation, Person
from health.selectors import user_organisation
from health.services.persons import person_resolve
from health.services.statuses import persons_mark_dirty

CLEARED_BEFORE_DESIGNATED = _("解除时间不能早于认定时间。")


def health_department(actor: AbstractBaseUser | None = None) -> Organisation | None:
    """The city's health authority (departments exist with code == kind): the actor's own organisation
    when the actor acts for it (loaded with the account), else read."""
    own = user_organisation(actor) if actor is not None else None
    if own is not None and own.kind == Organisation.Kind.HEALTH and own.code == Organisation.Kind.HEALTH:
        return own
    return Organisation.objects.filter(kind=Organisation.Kind.HEALTH, code=Organisation.Kind.HEALTH).first()


def withdrawal_reason_clean(reason: str | None) -> str:
    """The reason of a withdrawal, whitespace folded; required, and bounded by the column."""
    text = " ".join((reason or "").split())
    if not text:
        raise ValidationError({"reason": [_("请填写撤销原因。")]})
    if len(text) > WITHDRAWAL_REASON_MAX:
        raise ValidationError({"reason": [_("撤销原因不能超过 %(max)d 个字符。") % {"max": WITHDRAWAL_REASON_MAX}]})
    return text


def ensure_not_withdrawn(record, *, field: str) -> None:
    """A withdrawn record is kept as it was withdrawn: nothing more is done to it."""
    if record.withdrawn_at is not None:
        raise ValidationError({field: [_("该记录已撤销。")]})


@transaction.atomic
def designation_create(
    *,
    actor: AbstractBaseUser | None,
    kind: str,
    designated_at: datetime,
    cleared_at: datetime | None = None,
    person: Person | None = None,
    name: str | None = None,
    id_number: str | None = None,
) -> Designation:
    """Record a designation of `person` (or of the person named by name + ID number, created if new)."""
    if person is None:
        person = person_resolve(name=name, id_number=id_number)
    designation = Designation(
        person=person,
        kind=kind,
        designated_at=designated_at,
        cleared_at=cleared_at,
        # Designations are the one health authority's records, whoever typed them in.
        organisation=health_department(actor),
        created_by=actor,
    )
    if cleared_at is not None and designated_at is not None and cleared_at < designated_at:
        raise ValidationError({"cleared_at": [CLEARED_BEFORE_DESIGNATED]})
    # The person, the organisation and the actor were read or made in this request, and the one check
    # constraint a new record can break is the order checked above (a new record is not withdrawn):
    # Django's validation would ask the database again for each, five queries of a designation's
    # write (docs/scaling.md, "Fifth round"). The database still holds every constraint.
    designation.full_clean(exclude=["person", "organisation", "created_by"], validate_constraints=False)
    designation.save()
    persons_mark_dirty([person.pk], cause="designation")
    return designation


@transaction.atomic
def designation_clear(
    *, actor: AbstractBaseUser | None, designation: Designation, cleared_at: datetime | None = None
) -> Designation:
    """Clear a designation at `cleared_at` (default now).

    Clearing one already cleared is answered with the record unchanged when no other time is
    asked for (a retried request), and refused when it would move a clearance that has happened.
    """
    designation = Designation.objects.select_for_update().get(pk=designation.pk)
    ensure_not_withdrawn(designation, field="cleared_at")
    now = timezone.now()
    if designation.cleared_at is not None and designation.cleared_at <= now:
        if cleared_at is None or cleared_at == designation.cleared_at:
            return designation
        raise ValidationError({"cleared_at": [_("该认定已解除。")]})
    at = cleared_at or now
    if at < designation.designated_at:
        raise ValidationError({"cleared_at": [CLEARED_BEFORE_DESIGNATED]})
    designation.cleared_at = at
    designation.full_clean()
    designation.save(update_fields=["cleared_at"])
    persons_mark_dirty([designation.person_id], cause="designation_cleared")
    return designation


@transaction.atomic
def designation_update(
    *, actor: AbstractBaseUser | None, designation: Designation, kind: str, designated_at: datetime, cleared_at: datetime | None
) -> Designation:
    """A correction made in the admin: the same record with other values; the person is recomputed."""
    ensure_not_withdrawn(Designation.objects.select_for_update().get(pk=designation.pk), field="kind")
    designation.kind = kind
    designation.designated_at = designated_at
    designation.cleared_at = cleared_at
    designation.full_clean()
    designation.save()
    persons_mark_dirty([designation.person_id], cause="designation")
    return designation


@transaction.atomic
def designation_withdraw(*, actor: AbstractBaseUser | None, designation: Designation, reason: str) -> Designation:
    """Withdraw (撤销) a designation made in error: unlike a clearance (解除), it never existed for the rules.

    The record stays, with who withdrew it, when and why; the person is recomputed.
    """
    reason = withdrawal_reason_clean(reason)
    designation = Designation.objects.select_for_update().get(pk=designation.pk)
    ensure_not_withdrawn(designation, field="reason")
    designation.withdrawn_at = timezone.now()
    designation.withdrawn_by = actor
    designation.withdrawal_reason = reason
    designation.full_clean()
    designation.save(update_fields=["withdrawn_at", "withdrawn_by", "withdrawal_reason"])
    persons_mark_dirty([designation.person_id], cause="designation_withdrawn")
    return designation
