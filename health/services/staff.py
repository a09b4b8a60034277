"""Staff accounts: create or update an account and its organisation (idempotent)."""
from __future__ import annotations

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.contrib.auth.password_validation import validate_password
from django.db import transaction

from health.models import Organisation, StaffMembership


@transaction.atomic
def membership_set(*, user: AbstractBaseUser, organisation: Organisation | None, admin: bool) -> StaffMembership:
    """The account acts for `organisation`, or as an administrator (who acts for none)."""
    membership = StaffMembership.objects.filter(user=user).first() or StaffMembership(user=user)
    membership.role = StaffMembership.Role.ADMIN if admin else StaffMembership.Role.MEMBER
    membership.organisation = None if admin else organisation
    membership.full_clean()
    membership.save()
    return membership


@transaction.atomic
def staff_upsert(
    *, username: str, password: str, organisation: Organisation | None = None, admin: bool = False
) -> tuple[AbstractBaseUser, bool]:
    """Create the account, or update its password and membership; (user, created).

    A changed password ends the account's API tokens (health.auth); tokens come from the token endpoint.
    """
    User = get_user_model()
    user = User.objects.filter(username=username).first()
    created = user is None
    if created:
        user = User(username=username)
    validate_password(password, user)
    user.set_password(password)
    user.is_staff = True
    user.is_active = True
    # Administrators also manage accounts in Django's own admin pages, which go by superuser.
    user.is_superuser = admin
    user.full_clean(exclude=["password"])
    user.save()
    membership_set(user=user, organisation=organisation, admin=admin)
    return user, created
