"""Reads of the core app: who a staff account acts for, and what they may see."""
from django.contrib.auth.models import AbstractBaseUser

from health.models import Organisation, StaffMembership


def membership_of(user: AbstractBaseUser) -> StaffMembership | None:
    if not getattr(user, "is_authenticated", False):
        return None
    try:
        return user.membership
    except StaffMembership.DoesNotExist:
        return None


def user_is_admin(user: AbstractBaseUser) -> bool:
    membership = membership_of(user)
    return bool(getattr(user, "is_superuser", False) or (membership and membership.role == StaffMembership.Role.ADMIN))


def user_organisation(user: AbstractBaseUser) -> Organisation | None:
    membership = membership_of(user)
    return membership.organisation if membership else None


def user_organisation_kind(user: AbstractBaseUser) -> str | None:
    organisation = user_organisation(user)
    return organisation.kind if organisation else None
