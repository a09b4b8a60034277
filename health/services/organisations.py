"""Organisations: communities and hotels are created here, one way, for the API, the admin and the shell."""
from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext_lazy as _

from health.errors import NotAllowed
from health.models import Organisation, Region
from health.selectors import user_is_admin


def region_current(code: str | None) -> Region | None:
    """The current region with this code, or None (unknown or retired)."""
    if not code:
        return None
    return Region.objects.filter(code=str(code).strip(), is_current=True).first()


@transaction.atomic
def organisation_create(
    *,
    kind: str,
    code: str,
    name: str,
    region_code: str,
    actor: AbstractBaseUser | None = None,
    model: type[Organisation] = Organisation,
) -> Organisation:
    """A new organisation of `kind` (administrators only), placed in a current region; codes are unique per kind."""
    if actor is not None and not user_is_admin(actor):
        raise NotAllowed()
    code, name = str(code or "").strip(), " ".join(str(name or "").split())
    errors: dict[str, list] = {}
    region = region_current(region_code)
    if region is None:
        errors["region_code"] = [_("未知的区划代码。")]
    if not code:
        errors["code"] = [_("该字段是必填项。")]
    elif Organisation.objects.filter(kind=kind, code=code).exists():
        errors["code"] = [_("该编码已存在。")]
    if not name:
        errors["name"] = [_("该字段是必填项。")]
    if errors:
        raise ValidationError(errors)
    organisation = model(kind=kind, code=code, name=name, region=region)
    organisation.full_clean()
    organisation.save()
    return organisation
