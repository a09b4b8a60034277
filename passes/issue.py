"""Issuing the pass of a public status answer: a CWT signed with COSE ES256, zlib, Base45, prefix "HK1:".

docs/pass.md has the format byte for byte. A pass is signed once per answer: the same answer (status,
label, valid_until, policy version, masked holder, key) asked again within PASS_REUSE seconds gets the
same pass back from the shared cache. Issuing is counted per hour (the dashboard), and the last pass
of a holder is kept with it for the staff status page (time, expiry, status; never the text).
"""
from __future__ import annotations

import hashlib
import hmac
import zlib
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import quote

import base45
import cwt
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from django.conf import settings
from django.core.cache import cache
from django.utils import timezone

from health.display import BEIJING
from health.identity import id_number_mask, name_normalise
from health.models import HealthStatus

from . import keys

PREFIX = "HK1:"
PAYLOAD_CLAIM = -65537  # a private CWT claim: the pass itself
# CWT claim keys (RFC 8392)
ISS, EXP, NBF, IAT = 1, 4, 5, 6
HOLD_SECONDS = 2 * 24 * 3600  # how long the hourly counts and a holder's last pass stay in the cache
QR_PATH = "/api/v1/passes/qr/?t="


def name_mask(name: str) -> str:
    """张三 -> 张*, 欧阳娜娜 -> 欧***: the first character and one star per other character."""
    name = name_normalise(name)
    return name[:1] + "*" * (len(name) - 1)


def expiry(valid_until: datetime | None, *, now: datetime) -> datetime:
    """The earliest of valid_until, the next midnight (Beijing) and now + PASS_TTL, to the second below."""
    local = now.astimezone(BEIJING)
    midnight = (local + timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)
    candidates = [midnight, now + timedelta(seconds=settings.PASS_TTL)]
    if valid_until is not None:
        candidates.append(valid_until)
    return min(candidates).replace(microsecond=0)


# --- the holder reference: the online check finds the person, nobody else learns anything ------------
def _holder_key() -> bytes:
    return hmac.digest(settings.SECRET_KEY.encode(), b"pass-holder", "sha256")[:16]


def holder_ref(person_id: int | None, *, id_digest: str, name: str) -> bytes:
    """16 bytes: AES-128 of (person id, 8 zero bytes) for a person; for a stranger, 16 bytes derived from
    the number and name that decrypt to nothing (so a stranger's pass looks like anyone's)."""
    key = _holder_key()
    if person_id is None:
        return hmac.digest(key, f"{id_digest}\0{name_normalise(name)}".encode(), "sha256")[:16]
    encryptor = Cipher(algorithms.AES(key), modes.ECB()).encryptor()  # noqa: S305 - one block, a permutation
    return encryptor.update(person_id.to_bytes(8, "big") + bytes(8)) + encryptor.finalize()


def holder_person_id(ref: bytes) -> int | None:
    if len(ref) != 16:
        return None
    decryptor = Cipher(algorithms.AES(_holder_key()), modes.ECB()).decryptor()  # noqa: S305
    block = decryptor.update(ref) + decryptor.finalize()
    return int.from_bytes(block[:8], "big") if block[8:] == bytes(8) else None


# --- signing -------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Pass:
    text: str
    issued_at: datetime
    expires_at: datetime
    kid: str
    status: str

    @property
    def qr_url(self) -> str:
        return QR_PATH + quote(self.text, safe="")

    def answer(self) -> dict:
        """The `pass` object of a status answer (expires_at still a datetime: each renderer writes it)."""
        return {"text": self.text, "expires_at": self.expires_at, "qr_svg": self.qr_url}


def encode(claims: dict, signer: keys.Signer) -> str:
    """Claims -> "HK1:" + Base45(zlib(COSE_Sign1))."""
    signed = cwt.encode(claims, signer.key)
    return PREFIX + base45.b45encode(zlib.compress(signed, 9)).decode("ascii")


def sign(
    health_status: HealthStatus, *, person_id: int | None, name: str, id_number: str, id_digest: str, now: datetime
) -> Pass | None:
    signer = keys.current_signer()
    if signer is None:
        return None
    expires = expiry(health_status.valid_until, now=now)
    issued = now.replace(microsecond=0)
    payload = {
        "v": health_status.policy_version or 0,
        "s": health_status.status,
        "l": str(HealthStatus.Code(health_status.status).label),
        "n": name_mask(name),
        "d": id_number_mask(id_number),
        "h": holder_ref(person_id, id_digest=id_digest, name=name),
    }
    claims = {
        ISS: settings.PASS_ISSUER,
        IAT: int(issued.timestamp()),
        NBF: int(issued.timestamp()),  # written by us, not left to cwt's clock
        EXP: int(expires.timestamp()),
        PAYLOAD_CLAIM: payload,
    }
    return Pass(encode(claims, signer), issued, expires, signer.kid_text, health_status.status)


# --- once per answer ---------------------------------------------------------------------------------
def _holder_key_name(id_digest: str, name: str) -> str:
    return "pass:last:" + hashlib.blake2b(f"{id_digest}\0{name_normalise(name)}".encode(), digest_size=16).hexdigest()


def _hour_key(moment: datetime) -> str:
    return "pass:issued:" + moment.astimezone(BEIJING).strftime("%Y%m%d%H")


def pass_for(
    health_status: HealthStatus, *, name: str, id_number: str, id_digest: str, now: datetime | None = None
) -> Pass | None:
    """The pass of this answer: the one issued for the same answer within PASS_REUSE seconds, else a new one.

    A stranger's answer (no person) goes the same way, with the same cost.
    """
    now = now or timezone.now()
    signer = keys.current_signer()
    if signer is None:
        return None
    person_id = health_status.person_id  # None for a stranger's answer (an unsaved status)
    fingerprint = (
        signer.kid_text,
        health_status.status,
        tuple(health_status.reasons),
        health_status.valid_until,
        health_status.policy_version,
        person_id,
    )
    key = _holder_key_name(id_digest, name)
    stored = cache.get(key)
    if stored is not None:
        stored_fingerprint, issued = stored
        if (
            stored_fingerprint == fingerprint
            and now - issued.issued_at < timedelta(seconds=settings.PASS_REUSE)
            and issued.expires_at > now
        ):
            return issued
    issued = sign(health_status, person_id=person_id, name=name, id_number=id_number, id_digest=id_digest, now=now)
    cache.set(key, (fingerprint, issued), timeout=HOLD_SECONDS)
    _count(now)
    return issued


def _count(now: datetime) -> None:
    hour = _hour_key(now)
    if not cache.add(hour, 1, timeout=HOLD_SECONDS):
        try:
            cache.incr(hour)
        except ValueError:  # expired between the two calls
            cache.add(hour, 1, timeout=HOLD_SECONDS)


def issued_per_hour(*, hours: int = 24, now: datetime | None = None) -> list[tuple[datetime, int]]:
    """(start of the hour, passes issued) for the last `hours` hours, oldest first (Beijing hours)."""
    now = (now or timezone.now()).astimezone(BEIJING).replace(minute=0, second=0, microsecond=0)
    starts = [now - timedelta(hours=back) for back in range(hours - 1, -1, -1)]
    counts = cache.get_many([_hour_key(start) for start in starts])
    return [(start, int(counts.get(_hour_key(start), 0))) for start in starts]


def last_pass(*, person_id: int, id_digest: str, name: str) -> Pass | None:
    """The last pass issued to this person (kept as long as the cache holds it, two days at most)."""
    stored = cache.get(_holder_key_name(id_digest, name))
    if stored is None or stored[0][-1] != person_id:
        return None
    return stored[1]
