"""Test data built through the same services users call; valid ID numbers computed, never real ones."""
from __future__ import annotations

import itertools
from datetime import date
from types import SimpleNamespace

from django.contrib.auth import get_user_model
from knox.models import AuthToken
from stdnum.cn import ric

from health.models import Organisation, StaffMembership

_serial = itertools.count(1)


def id_number(region: str = "110105", born: date = date(1990, 1, 1), serial: int | None = None) -> str:
    """A valid 18-character resident ID number (check character computed with python-stdnum)."""
    # Drawn serials stay below 700: the serials tests give explicitly (700-999) are never drawn as well,
    # whatever number of persons earlier tests made (a drawn 905 once met a test's own 905).
    serial = next(_serial) % 700 if serial is None else serial
    body = f"{region}{born:%Y%m%d}{serial:03d}"
    return body + ric.calc_check_digit(body + "0")


def person_payload(name: str = "张三", **kwargs) -> dict:
    return {"name": name, "id_number": id_number(**kwargs)}


def organisation(kind: str, code: str | None = None, name: str | None = None, region_code: str | None = "110105"):
    code = code or f"{kind}-{next(_serial)}"
    organisation, _ = Organisation.objects.get_or_create(
        kind=kind, code=code, defaults={"name": name or code, "region_id": region_code}
    )
    return organisation


def staff(username: str | None = None, *, organisation: Organisation | None = None, admin: bool = False):
    """A staff account acting for `organisation` (or an administrator), with an API token.

    The token (knox keeps only its digest) is on the returned object as `user.api_token`, and as
    `user.auth_token.key`, the name DRF's own tokens had, which tests of every app use.
    """
    username = username or f"staff{next(_serial)}"
    user = get_user_model().objects.create_user(username=username, password="pw-Secret-123", is_staff=True)
    StaffMembership.objects.create(
        user=user,
        role=StaffMembership.Role.ADMIN if admin else StaffMembership.Role.MEMBER,
        organisation=None if admin else organisation,
    )
    user.api_token = api_token(user)
    user.auth_token = SimpleNamespace(key=user.api_token)
    return user


def api_token(user) -> str:
    """A new API token of the account, as the token endpoint would issue it (12 hours)."""
    return AuthToken.objects.create(user=user)[1]


def department(kind: str) -> Organisation:
    return Organisation.objects.get(kind=kind, code=kind)
