"""API credentials: staff tokens (django-rest-knox) that end, and machine keys scoped to their endpoints.

- `Authorization: Token <token>`: a staff token from `POST /api/v1/auth/token/`, 12 hours, revoked
  when the account's password changes or it is deactivated (the receivers below).
- `Authorization: Api-Key <prefix>.<secret>`: a system's key (health.MachineKey). It acts as its
  machine account, and only on the views whose `machine_key_scope` is its organisation kind's scope;
  on any other view it answers 403, so a view that declares nothing refuses every key.
"""
from __future__ import annotations

import binascii
import re
from datetime import timedelta
from hmac import compare_digest

from django.contrib.auth import get_user_model
from django.db.models.signals import post_save, pre_save
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from knox.auth import TokenAuthentication
from knox.crypto import hash_token
from knox.models import AuthToken
from knox.settings import CONSTANTS, knox_settings
from knox.signals import token_expired
from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication, get_authorization_header

from health.models import MachineKey, Organisation
from health.selectors import user_organisation_kind

# The endpoints a system of each kind reaches with its key (views name theirs in `machine_key_scope`).
ITINERARY_STAYS = "itinerary_stays"
HOTEL_CHECKINS = "hotel_checkins"
MACHINE_KEY_SCOPES = {
    Organisation.Kind.PLATFORM: ITINERARY_STAYS,
    Organisation.Kind.HOTEL: HOTEL_CHECKINS,
}
# What knox hands out (64 hex digits) and what the key library makes (8 + "." + 32 letters and
# digits): anything else is refused before it reaches a query (a NUL byte would be a 500 on PostgreSQL).
_TOKEN_FORMAT = re.compile(rb"[0-9a-f]{64}")
_KEY_FORMAT = re.compile(r"[A-Za-z0-9]{8}\.[A-Za-z0-9]{32}")
# Last use is written at most this often per key: a feed posting every second writes once a minute.
LAST_USED_RESOLUTION = timedelta(seconds=60)


class StaffTokenAuthentication(TokenAuthentication):
    """knox's token check, refusing a malformed token with a 401 instead of a query or a decode error."""

    def authenticate(self, request):
        parts = get_authorization_header(request).split()
        if len(parts) == 2 and parts[0].lower() == b"token" and not _TOKEN_FORMAT.fullmatch(parts[1]):
            raise exceptions.AuthenticationFailed(_("无效的令牌。"))
        return super().authenticate(request)

    def authenticate_credentials(self, token):
        """knox's check in one query: the token with its account, membership and organisation.

        knox itself reads the token with its account, then every token of the account (to delete the
        expired ones, on every request), and the permission check then reads the membership and the
        organisation: four round trips. Here the presented token's own expiry is checked (an expired
        token is refused and deleted, as knox does); the account's other expired tokens are deleted
        when it is issued a new one (health.services.tokens.api_token_issue).
        """
        message = _("无效的令牌。")
        token = token.decode("utf-8")
        candidates = AuthToken.objects.filter(token_key=token[: CONSTANTS.TOKEN_KEY_LENGTH]).select_related(
            "user__membership__organisation"
        )
        for auth_token in candidates:
            if auth_token.expiry is not None and auth_token.expiry < timezone.now():
                username = auth_token.user.get_username()
                auth_token.delete()
                token_expired.send(sender=self.__class__, username=username, source="auth_token")
                continue
            try:
                digest = hash_token(token)
            except (TypeError, binascii.Error):
                raise exceptions.AuthenticationFailed(message) from None
            if compare_digest(digest, auth_token.digest):
                if knox_settings.AUTO_REFRESH and auth_token.expiry:
                    self.renew_token(auth_token)
                return self.validate_user(auth_token)
        raise exceptions.AuthenticationFailed(message)


class MachineKeyAuthentication(BaseAuthentication):
    keyword = "Api-Key"

    def authenticate(self, request):
        header = get_authorization_header(request).split()
        if not header or header[0].lower() != self.keyword.lower().encode():
            return None
        if len(header) != 2:
            raise exceptions.AuthenticationFailed(_("无效的接入密钥。"))
        try:
            key = header[1].decode("ascii")
        except UnicodeDecodeError:
            raise exceptions.AuthenticationFailed(_("无效的接入密钥。")) from None
        machine_key = machine_key_valid(key)
        if machine_key is None:
            raise exceptions.AuthenticationFailed(_("无效的接入密钥。"))
        view = (getattr(request, "parser_context", None) or {}).get("view")
        scope = getattr(view, "machine_key_scope", None)
        if scope is None or scope != MACHINE_KEY_SCOPES.get(user_organisation_kind(machine_key.user)):
            raise exceptions.PermissionDenied(_("该接入密钥不能用于此接口。"))
        _last_use_record(machine_key)
        return machine_key.user, machine_key

    def authenticate_header(self, request):
        return self.keyword


def machine_key_valid(key: str) -> MachineKey | None:
    """The key's record if it is well formed, known, not revoked, not expired, and its account active."""
    if not _KEY_FORMAT.fullmatch(key):
        return None
    try:
        machine_key = MachineKey.objects.get_from_key(key)
    except MachineKey.DoesNotExist:
        return None
    if machine_key.has_expired or not machine_key.user.is_active:
        return None
    return machine_key


def _last_use_record(machine_key: MachineKey) -> None:
    now = timezone.now()
    if machine_key.last_used_at is None or now - machine_key.last_used_at >= LAST_USED_RESOLUTION:
        MachineKey.objects.filter(pk=machine_key.pk).update(last_used_at=now)
        machine_key.last_used_at = now


# --- revocation: a new password or a deactivated account ends every token of the account ---------
def _credentials_remember(sender, instance, update_fields=None, **kwargs) -> None:
    instance._credentials_before = None
    if instance.pk is None:
        return
    if update_fields is not None and not {"password", "is_active"} & set(update_fields):
        return  # e.g. the last_login update of every sign-in: nothing to compare, no query
    instance._credentials_before = sender.objects.filter(pk=instance.pk).values("password", "is_active").first()


def _credentials_changed(sender, instance, created, **kwargs) -> None:
    before = getattr(instance, "_credentials_before", None)
    if not before:
        return
    if before["password"] != instance.password or (before["is_active"] and not instance.is_active):
        from health.services.tokens import api_tokens_revoke

        api_tokens_revoke(user=instance)


def connect_revocation() -> None:
    """Called once from the app's ready(): Django has no signal of its own for a changed password."""
    user_model = get_user_model()
    pre_save.connect(_credentials_remember, sender=user_model, dispatch_uid="health.auth.credentials_remember")
    post_save.connect(_credentials_changed, sender=user_model, dispatch_uid="health.auth.credentials_changed")
