"""Issuing the pass of a public status answer: a CWT signed with COSE ES256, zlib, Base45, prefix "HK1:".

docs/pass.md has the format byte for byte. A pass is signed once per answer: the same answer (status,
label, valid_until, policy version, masked holder, key) asked again within PASS_REUSE seconds gets the
same pass back from the shared cache. Issuing is counted per hour (the dashboard), and the last pass
of a holder is kept with it for the staff status page (time, expiry, status; never the text).
"""
from __future__ import annotations

import hashlib
import hmac
import pickle
import threading
import time
import zlib
from collections import OrderedDict
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import quote

import base45
import cwt
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from django.conf import settings
from django.core.cache import DEFAULT_CACHE_ALIAS, cache, caches
from django.core.cache.backends.redis import RedisCache
from django.utils import timezone

from health.display import BEIJING
from health.identity import Document, document_of, name_normalise
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
    health_status: HealthStatus, *, person_id: int | None, name: str, id_number: str | Document, id_digest: str, now: datetime
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
        "d": document_of(id_number).masked,  # a resident ID number or any other document
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
    health_status: HealthStatus, *, name: str, id_number: str | Document, id_digest: str, now: datetime | None = None
) -> Pass | None:
    """The pass of this answer: the one this process issued for the same answer within PASS_REUSE seconds,
    else a new one. A stranger's answer (no person) goes the same way, with the same cost."""
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
    stored = _recent.get(key)
    if stored is not None:
        stored_fingerprint, issued = stored
        if (
            stored_fingerprint == fingerprint
            and timedelta(0) <= now - issued.issued_at < timedelta(seconds=settings.PASS_REUSE)
            and issued.expires_at > now
        ):
            return issued
    issued = sign(health_status, person_id=person_id, name=name, id_number=id_number, id_digest=id_digest, now=now)
    with _recent_lock:
        _recent[key] = (fingerprint, issued)
        _recent.move_to_end(key)
        if len(_recent) > RECENT_MAX:
            _recent.popitem(last=False)
    _record(key, (fingerprint, issued), hour=_hour_key(now))
    return issued


# --- where passes are kept ---------------------------------------------------------------------------
# In the process: the passes it issued lately, by holder (a query never waits on the network for its pass).
RECENT_MAX = 50_000
_recent: OrderedDict[str, tuple] = OrderedDict()
_recent_lock = threading.Lock()
# In the shared cache, for staff (a holder's last pass, the hourly counts): on Redis, written in batches
# of one pipeline every FLUSH_SECONDS or FLUSH_MAX passes, whichever comes first.
FLUSH_SECONDS = 2.0
FLUSH_MAX = 200
_pending: list[tuple[str, tuple, str]] = []
_flushed = [0.0]
_lock = threading.Lock()


def forget() -> None:
    """Drop this process's recent passes (tests; after a rotation the fingerprint does it anyway)."""
    _recent.clear()
    flush()


def _redis():
    """The Redis client of the default cache, made once (Django makes one per call, ~0.3 ms); None off Redis."""
    backend = caches[DEFAULT_CACHE_ALIAS]
    if not isinstance(backend, RedisCache):
        return None, backend
    client = getattr(backend._cache, "_pass_client", None)
    if client is None:
        client = backend._cache._pass_client = backend._cache.get_client(write=True)
    return client, backend


def _record(key: str, value: tuple, *, hour: str) -> None:
    client, backend = _redis()
    if client is None:
        backend.set(key, value, timeout=HOLD_SECONDS)
        if not backend.add(hour, 1, timeout=HOLD_SECONDS):
            try:
                backend.incr(hour)
            except ValueError:  # expired between the two calls
                backend.add(hour, 1, timeout=HOLD_SECONDS)
        return
    with _lock:
        _pending.append((key, value, hour))
        due = len(_pending) >= FLUSH_MAX or time.monotonic() - _flushed[0] >= FLUSH_SECONDS
    if due:
        flush()


def flush() -> None:
    """Write the pending records in one pipeline (pickled as Django's RedisCache pickles: its get reads them)."""
    with _lock:
        batch = _pending[:]
        _pending.clear()
        _flushed[0] = time.monotonic()
    if not batch:
        return
    client, backend = _redis()
    pipe = client.pipeline(transaction=False)
    hours: dict[str, int] = {}
    for key, value, hour in batch:
        pipe.set(backend.make_key(key), pickle.dumps(value, pickle.HIGHEST_PROTOCOL), ex=HOLD_SECONDS)
        hours[hour] = hours.get(hour, 0) + 1
    for hour, count in hours.items():
        pipe.incrby(backend.make_key(hour), count)
        pipe.expire(backend.make_key(hour), HOLD_SECONDS, nx=True)
    pipe.execute()


def issued_per_hour(*, hours: int = 24, now: datetime | None = None) -> list[tuple[datetime, int]]:
    """(start of the hour, passes issued) for the last `hours` hours, oldest first (Beijing hours)."""
    flush()
    now = (now or timezone.now()).astimezone(BEIJING).replace(minute=0, second=0, microsecond=0)
    starts = [now - timedelta(hours=back) for back in range(hours - 1, -1, -1)]
    counts = cache.get_many([_hour_key(start) for start in starts])
    return [(start, int(counts.get(_hour_key(start), 0))) for start in starts]


def last_pass(*, person_id: int, id_digest: str, name: str) -> Pass | None:
    """The last pass issued to this person (kept as long as the cache holds it, two days at most)."""
    flush()
    stored = cache.get(_holder_key_name(id_digest, name))
    if stored is None or stored[0][-1] != person_id:
        return None
    return stored[1]
