"""The health authority's designations: record one, clear one; each marks the person dirty."""
from __future__ import annotations

from datetime import datetime

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from health.models import Designation, Organisation, Person
from health.services.persons import person_resolve
from health.services.statuses import persons_mark_dirty


def health_department() -> Organisation | None:
    """The city's health authority (departments exist with code == kind)."""
    return Organisation.objects.filter(kind=Organisation.Kind.HEALTH, code=Organisation.Kind.HEALTH).first()


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
        organisation=health_department(),
        created_by=actor,
    )
    designation.full_clean()
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
    now = timezone.now()
    if designation.cleared_at is not None and designation.cleared_at <= now:
        if cleared_at is None or cleared_at == designation.cleared_at:
            return designation
        raise ValidationError({"cleared_at": [_("该认定已解除。")]})
    at = cleared_at or now
    if at < designation.designated_at:
        raise ValidationError({"cleared_at": [_("解除时间不能早于认定时间。")]})
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
    designation.kind = kind
    designation.designated_at = designated_at
    designation.cleared_at = cleared_at
    designation.full_clean()
    designation.save()
    persons_mark_dirty([designation.person_id], cause="designation")
    return designation
