"""What the pass endpoints do: the key document, the QR image, the online check."""
from __future__ import annotations

import io
from datetime import datetime

import segno
from django.conf import settings
from django.utils import timezone

from health.models import HealthStatus
from health.services import access

from . import keys
from .issue import holder_person_id
from .verify import Verified, verify_pass


def now() -> datetime:
    return timezone.now()


def keys_document() -> dict:
    return {
        "issuer": settings.PASS_ISSUER,
        "fetched_at": now(),
        "keys": [
            {"kid": key.kid, "jwk": keys.jwk(key), "valid_from": key.created_at, "valid_to": key.valid_to}
            for key in keys.published()
        ],
    }


def verify_text(text: str) -> Verified:
    return verify_pass(text)


def qr_svg(text: str) -> bytes:
    """The pass as a QR code: alphanumeric mode (Base45 is its alphabet), error correction M, 4-module border."""
    buffer = io.BytesIO()
    segno.make(text, error="m", boost_error=False).save(buffer, kind="svg", scale=4, border=4, xmldecl=False)
    return buffer.getvalue()


def claims_shown(verified: Verified) -> dict:
    payload = verified.payload
    return {
        "status": payload.get("s", ""),
        "label": payload.get("l", ""),
        "name": payload.get("n", ""),
        "id_masked": payload.get("d", ""),
        "policy_version": payload.get("v", 0),
        "issued_at": verified.issued_at,
        "expires_at": verified.expires_at,
    }


def check(text: str) -> tuple[Verified, HealthStatus | None]:
    """The pass's verdict and, for a valid one, its holder's status now (a stranger's pass: the no-data answer)."""
    verified = verify_pass(text)
    if not verified.ok:
        return verified, None
    ref = verified.payload.get("h")
    person_id = holder_person_id(ref) if isinstance(ref, bytes) else None
    if person_id is None:
        return verified, access.status_of_stranger()
    try:
        return verified, access.person_status_fresh(person_id)
    except HealthStatus.DoesNotExist:  # the person has since been purged
        return verified, access.status_of_stranger()
