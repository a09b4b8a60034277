"""API credentials: staff tokens issued for a password and (with a device) the current TOTP code; machine keys."""
from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.contrib.auth.signals import user_login_failed
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django_otp import match_token, user_has_device
from knox.models import AuthToken

from health.auth import MACHINE_KEY_SCOPES
from health.errors import ApplicationError
from health.models import MachineKey
from health.selectors import user_organisation_kind


class SecondFactorRequired(ApplicationError):
    """The account needs its current TOTP code (400 on `otp_token`)."""

    default_message = _("请填写动态验证码（otp_token）。")


class SecondFactorWrong(ApplicationError):
    default_message = _("动态验证码错误或已过期。")


class SecondFactorNotEnrolled(ApplicationError):
    default_message = _("该账号尚未绑定动态验证码设备，不能获取访问令牌；系统对接请使用接入密钥。")


def api_token_issue(*, user: AbstractBaseUser, otp_token: str = "", request=None) -> tuple[AuthToken, str]:
    """A new token for an account whose password was checked: (record, the token, shown once).

    An account with a confirmed OTP device must send its current code; with
    API_TOKEN_OTP_REQUIRED (production) an account without one gets no token at all. A wrong code
    counts as a failed sign-in for the lockout (django-axes hears `user_login_failed`), and the
    device's own throttle slows the next try; neither is undone by a rollback (no transaction here).
    """
    otp_token = str(otp_token or "").strip()
    if user_has_device(user, confirmed=True):
        if not otp_token:
            raise SecondFactorRequired(field="otp_token")
        if match_token(user, otp_token) is None:
            user_login_failed.send(
                sender=__name__, credentials={"username": user.get_username()}, request=request
            )
            raise SecondFactorWrong(field="otp_token")
    elif getattr(settings, "API_TOKEN_OTP_REQUIRED", False):
        raise SecondFactorNotEnrolled(field="otp_token")
    # The account's expired tokens go here rather than on every request (health.auth.StaffTokenAuthentication).
    AuthToken.objects.filter(user=user, expiry__lt=timezone.now()).delete()
    return AuthToken.objects.create(user=user)


@transaction.atomic
def api_tokens_revoke(*, user: AbstractBaseUser) -> int:
    """Every token of the account ends now (a new password, a deactivated account, an administrator's call)."""
    deleted, _ = AuthToken.objects.filter(user=user).delete()
    return deleted


@transaction.atomic
def api_token_revoke(*, token: AuthToken) -> None:
    AuthToken.objects.filter(pk=token.pk).delete()


# --- machine keys --------------------------------------------------------------------------------
def ensure_machine_account(user: AbstractBaseUser) -> None:
    """Keys are for the accounts of systems whose kind has endpoints for them (health.auth.MACHINE_KEY_SCOPES)."""
    if user_organisation_kind(user) not in MACHINE_KEY_SCOPES:
        raise ValidationError({"user": [_("接入密钥只能发给国家政务服务平台或酒店的系统账号。")]})


@transaction.atomic
def machine_key_create(*, user: AbstractBaseUser, name: str, expiry_date: datetime | None = None) -> tuple[MachineKey, str]:
    """A new key for a system's account: (record, the key, shown once and never stored)."""
    ensure_machine_account(user)
    machine_key = MachineKey(user=user, name=str(name or "").strip()[:50], expiry_date=expiry_date)
    plain = MachineKey.objects.assign_key(machine_key)
    machine_key.full_clean()
    machine_key.save()
    return machine_key, plain


@transaction.atomic
def machine_key_rotate(*, machine_key: MachineKey, now: datetime | None = None) -> tuple[MachineKey, str]:
    """A new key for the same system; the old one keeps working for the grace period, then ends."""
    now = now or timezone.now()
    old = MachineKey.objects.select_for_update().get(pk=machine_key.pk)
    if old.revoked or old.has_expired:
        raise ValidationError({"revoked": [_("该密钥已失效，请新建密钥。")]})
    ensure_machine_account(old.user)
    grace_end = now + timedelta(hours=settings.MACHINE_KEY_ROTATION_GRACE_HOURS)
    old.expiry_date = min(old.expiry_date, grace_end) if old.expiry_date else grace_end
    old.save(update_fields=["expiry_date"])
    new = MachineKey(user=old.user, name=old.name, rotated_from=old)
    plain = MachineKey.objects.assign_key(new)
    new.full_clean()
    new.save()
    return new, plain


@transaction.atomic
def machine_key_revoke(*, machine_key: MachineKey) -> None:
    """The key stops working at once (for good: a revoked key cannot be restored)."""
    MachineKey.objects.filter(pk=machine_key.pk).update(revoked=True)
