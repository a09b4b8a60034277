"""Verifying a pass: for venues' own systems (`verify_pass()`, `manage.py verify_pass TEXT`) and the online check."""
from __future__ import annotations

import zlib
from dataclasses import dataclass, field
from datetime import UTC, datetime

import base45
import cbor2
from cwt import COSE, COSEKey
from django.utils import timezone

from . import keys
from .issue import EXP, IAT, ISS, PAYLOAD_CLAIM, PREFIX
from .models import PassKey

TEXT_MAX = 2048  # a pass is about 300 characters
INFLATED_MAX = 4096


class Refusal:
    """Why a pass is refused (stable codes; the verify page shows the same ones)."""

    MALFORMED = "malformed"  # not a pass of this format
    UNKNOWN_KEY = "unknown_key"  # signed by a key id we never published
    REVOKED_KEY = "revoked_key"
    FORGED = "forged"  # the signature does not match (altered, or signed by a key that is not ours)
    EXPIRED = "expired"


@dataclass
class Verified:
    ok: bool
    refusal: str | None = None
    kid: str = ""
    claims: dict = field(default_factory=dict)

    @property
    def payload(self) -> dict:
        return self.claims.get(PAYLOAD_CLAIM, {})

    @property
    def issued_at(self) -> datetime | None:
        return datetime.fromtimestamp(self.claims[IAT], UTC) if IAT in self.claims else None

    @property
    def expires_at(self) -> datetime | None:
        return datetime.fromtimestamp(self.claims[EXP], UTC) if EXP in self.claims else None

    @property
    def authentic(self) -> bool:
        """Signed by one of our keys (an expired pass is authentic, not valid)."""
        return self.ok or self.refusal == Refusal.EXPIRED


def decode(text: str) -> bytes | None:
    """"HK1:..." -> the COSE_Sign1 bytes, or None if it is not one."""
    if not isinstance(text, str) or len(text) > TEXT_MAX or not text.startswith(PREFIX):
        return None
    try:
        compressed = base45.b45decode(text[len(PREFIX) :])
        inflater = zlib.decompressobj()
        data = inflater.decompress(compressed, INFLATED_MAX)
        if inflater.unconsumed_tail or not inflater.eof:
            return None
        return data
    except (ValueError, zlib.error):
        return None


def _kid(data: bytes) -> bytes | None:
    try:
        message = cbor2.loads(data)
    except (cbor2.CBORDecodeError, ValueError, TypeError, RecursionError):
        return None
    if isinstance(message, cbor2.CBORTag):
        message = message.value
    if not isinstance(message, list) or len(message) != 4 or not isinstance(message[0], bytes):
        return None
    try:
        protected = cbor2.loads(message[0]) if message[0] else {}
    except (cbor2.CBORDecodeError, ValueError, TypeError):
        return None
    unprotected = message[1] if isinstance(message[1], dict) else {}
    kid = (protected if isinstance(protected, dict) else {}).get(4, unprotected.get(4))
    return kid if isinstance(kid, bytes) else None


def verify_pass(text: str, *, now: datetime | None = None, key_rows: list[PassKey] | None = None) -> Verified:
    """Checks a pass against our keys (signature ES256, key not revoked, not expired)."""
    now = now or timezone.now()
    data = decode(text.strip() if isinstance(text, str) else text)
    if data is None:
        return Verified(False, Refusal.MALFORMED)
    kid = _kid(data)
    if kid is None:
        return Verified(False, Refusal.MALFORMED)
    kid_text = keys.b64url(kid)
    if key_rows is None:
        keys.current_registered()
        row = PassKey.objects.filter(kid=kid_text).first()
    else:
        row = next((row for row in key_rows if row.kid == kid_text), None)
    if row is None:
        return Verified(False, Refusal.UNKNOWN_KEY, kid_text)
    if row.revoked_at is not None:
        return Verified(False, Refusal.REVOKED_KEY, kid_text)
    public = COSEKey.new({1: 2, 2: kid, 3: -7, -1: 1, -2: keys.b64url_decode(row.x), -3: keys.b64url_decode(row.y)})
    try:
        payload = COSE.new().decode(data, public)
        claims = cbor2.loads(payload)
    except Exception:  # noqa: BLE001 - cwt raises its own errors (and others) for any bad signature or shape
        return Verified(False, Refusal.FORGED, kid_text)
    if (
        not isinstance(claims, dict)
        or not isinstance(claims.get(EXP), int)
        or not isinstance(claims.get(IAT), int)
        or not isinstance(claims.get(ISS), str)
        or not isinstance(claims.get(PAYLOAD_CLAIM), dict)
    ):
        return Verified(False, Refusal.MALFORMED, kid_text)
    if claims[EXP] <= int(now.timestamp()):
        return Verified(False, Refusal.EXPIRED, kid_text, claims)
    return Verified(True, None, kid_text, claims)
