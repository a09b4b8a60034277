"""Every read of the hotels app: what each staff account may see, for the admin, the API and the tests."""
from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser
from django.db.models import QuerySet

from health.models import Organisation
from health.selectors import user_is_admin, user_organisation
from hotels.models import CheckIn, Hotel, NucleicAcidTest


def hotels_visible_to(user: AbstractBaseUser) -> QuerySet[Hotel]:
    """Administrators see every hotel; a front desk sees its own."""
    hotels = Hotel.objects.select_related("region")
    if user_is_admin(user):
        return hotels
    organisation = user_organisation(user)
    if organisation is None or organisation.kind != Organisation.Kind.HOTEL:
        return hotels.none()
    return hotels.filter(pk=organisation.pk)


def checkins_visible_to(user: AbstractBaseUser) -> QuerySet[CheckIn]:
    """Administrators see every stay; a front desk sees its own hotel's; nobody else sees any."""
    checkins = CheckIn.objects.select_related("person", "person__health_status", "hotel", "origin_region")
    if user_is_admin(user):
        return checkins
    organisation = user_organisation(user)
    if organisation is None or organisation.kind != Organisation.Kind.HOTEL:
        return checkins.none()
    return checkins.filter(hotel_id=organisation.pk)


def nat_tests_visible_to(user: AbstractBaseUser) -> QuerySet[NucleicAcidTest]:
    """Administrators and the health authority see every hotel's tests (positives are theirs to
    review); a front desk sees its own hotel's."""
    tests = NucleicAcidTest.objects.select_related("person", "person__health_status", "hotel", "checkin")
    if user_is_admin(user):
        return tests
    organisation = user_organisation(user)
    if organisation is None:
        return tests.none()
    if organisation.kind == Organisation.Kind.HEALTH:
        return tests
    if organisation.kind == Organisation.Kind.HOTEL:
        return tests.filter(hotel_id=organisation.pk)
    return tests.none()


def hotel_checkins(*, hotel: Organisation, current: bool | None = None) -> QuerySet[CheckIn]:
    """One hotel's stays, newest first; `current=True` only guests not checked out, False only those who left."""
    checkins = (
        CheckIn.objects.filter(hotel=hotel)
        .select_related("person", "person__health_status", "hotel", "origin_region")
        .prefetch_related("nat_tests")
        .order_by("-checked_in_at", "-pk")
    )
    if current is True:
        checkins = checkins.filter(checked_out_at__isnull=True)
    elif current is False:
        checkins = checkins.filter(checked_out_at__isnull=False)
    return checkins
