"""Signing keys: the current one (PASS_SIGNING_KEY, or a file under PASS_KEY_DIR in the embedded mode), and
the published list of public keys (PassKey rows) that venues verify against.

The request path never touches the database for a key: the current key is read from its PEM and kept
in the process, looked at again every few seconds (a rotated file, a revocation flag in the shared cache).
The list is brought up to date where it is read: the keys endpoint, verification, the `pass_keys` command.
"""
from __future__ import annotations

import base64
import hashlib
import os
import threading
import time
from dataclasses import dataclass
from datetime import datetime

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cwt import COSEKey
from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.utils import timezone

from .models import PassKey

REFRESH_SECONDS = 10
SIGNING_FILE = "signing.pem"
_REVOKED = "pass:revoked:{kid}"


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def kid_of(public_key: ec.EllipticCurvePublicKey) -> bytes:
    """The key id: the first 8 bytes of SHA-256 of the public key's DER SubjectPublicKeyInfo (as DCC's kid)."""
    der = public_key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return hashlib.sha256(der).digest()[:8]


def public_xy(public_key: ec.EllipticCurvePublicKey) -> tuple[str, str]:
    numbers = public_key.public_numbers()
    return b64url(numbers.x.to_bytes(32, "big")), b64url(numbers.y.to_bytes(32, "big"))


@dataclass(frozen=True)
class Signer:
    kid: bytes
    key: COSEKey
    public_key: ec.EllipticCurvePublicKey

    @property
    def kid_text(self) -> str:
        return b64url(self.kid)


def new_private_pem() -> bytes:
    key = ec.generate_private_key(ec.SECP256R1())
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())


def signer_from_pem(pem: bytes) -> Signer:
    private = serialization.load_pem_private_key(pem, password=None)
    if not isinstance(private, ec.EllipticCurvePrivateKey) or private.curve.name != "secp256r1":
        raise ValueError("the pass signing key must be an EC P-256 private key")
    kid = kid_of(private.public_key())
    return Signer(kid=kid, key=COSEKey.from_pem(pem, kid=kid, alg="ES256"), public_key=private.public_key())


def embedded() -> bool:
    return not settings.PASS_SIGNING_KEY


def _signing_file():
    return settings.PASS_KEY_DIR / SIGNING_FILE


def _embedded_pem() -> bytes:
    """The embedded mode's key file, made on first use (readable by its owner only)."""
    path = _signing_file()
    try:
        return path.read_bytes()
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    # Written whole under a name of this process's, then linked into place: the file appears complete
    # or not at all, so a process starting beside this one (gunicorn's workers load the key at once,
    # config/warmup.py) never reads it half-written; the first link wins and every process reads it.
    draft = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}")
    fd = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        with os.fdopen(fd, "wb") as file:
            file.write(new_private_pem())
        os.link(draft, path)
    except FileExistsError:
        pass  # another process made it first
    finally:
        draft.unlink(missing_ok=True)
    return path.read_bytes()


class _Current:
    """The process's current signer, looked at again every REFRESH_SECONDS."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        self.signer: Signer | None = None
        self.source: object = None
        self.checked = 0.0
        self.revoked = False

    def get(self) -> Signer | None:
        now = time.monotonic()
        if self.source is not None and now - self.checked < REFRESH_SECONDS:
            return None if self.revoked else self.signer
        with self.lock:
            source = settings.PASS_SIGNING_KEY or _file_stamp()
            if source != self.source or self.signer is None:
                pem = settings.PASS_SIGNING_KEY.encode() if not embedded() else _embedded_pem()
                self.signer = signer_from_pem(pem)
                self.source = settings.PASS_SIGNING_KEY or _file_stamp()
                # On the list before its first pass (once per key and process).
                register(self.signer)
            self.revoked = bool(cache.get(_REVOKED.format(kid=self.signer.kid_text)))
            self.checked = now
            return None if self.revoked else self.signer


def _file_stamp() -> object:
    try:
        stat = _signing_file().stat()
    except FileNotFoundError:
        return None
    return (str(_signing_file()), stat.st_mtime_ns, stat.st_size)


_current = _Current()


def current_signer() -> Signer | None:
    """The key that signs passes now; None if it has been revoked and no other is configured."""
    return _current.get()


def reset() -> None:
    """Forget the process's key (tests; after a rotation in this process)."""
    _current.reset()


# --- the published list -------------------------------------------------------------------------
@transaction.atomic
def register(signer: Signer, *, now: datetime | None = None) -> PassKey:
    """The signer's public half on the list (once); every older key still current is retired now."""
    now = now or timezone.now()
    x, y = public_xy(signer.public_key)
    row, _created = PassKey.objects.get_or_create(kid=signer.kid_text, defaults={"x": x, "y": y, "created_at": now})
    PassKey.objects.filter(created_at__lte=row.created_at, retired_at=None).exclude(pk=row.pk).update(retired_at=now)
    return row


def current_registered() -> PassKey | None:
    signer = current_signer()
    return register(signer) if signer is not None else None


def published(*, now: datetime | None = None) -> list[PassKey]:
    """Keys a pass may carry now: not revoked, and current or retired less than their lifetime ago."""
    now = now or timezone.now()
    current_registered()
    return [key for key in PassKey.objects.filter(revoked_at=None) if key.valid_to is None or key.valid_to > now]


def jwk(key: PassKey) -> dict:
    return {"kty": "EC", "crv": "P-256", "alg": "ES256", "use": "sig", "kid": key.kid, "x": key.x, "y": key.y}


# --- rotation and revocation (the pass_keys command) ------------------------------------------------
def rotate(*, now: datetime | None = None) -> tuple[PassKey, bytes | None]:
    """A new key. Embedded: it replaces the key file and signs from now on. Production: its PEM is
    returned for PASS_SIGNING_KEY (published now, ahead of the deployment; the old key is retired when
    the new one is first seen signing)."""
    now = now or timezone.now()
    current_registered()  # the outgoing key is on the list, to be retired
    pem = new_private_pem()
    signer = signer_from_pem(pem)
    if embedded():
        path = _signing_file()
        path.parent.mkdir(parents=True, exist_ok=True)
        old = path.with_name(f"retired-{int(time.time())}.pem")
        if path.exists():
            path.replace(old)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as file:
            file.write(pem)
        reset()
        return register(signer, now=now), None
    x, y = public_xy(signer.public_key)
    row = PassKey.objects.create(kid=signer.kid_text, x=x, y=y, created_at=now)
    return row, pem


def revoke(kid: str, *, now: datetime | None = None) -> PassKey:
    """Off the list at once, refused by every verifier; a process signing with it stops (within seconds).

    Embedded: revoking the key in use rotates to a new one first.
    """
    now = now or timezone.now()
    current_registered()
    row = PassKey.objects.get(kid=kid)
    if embedded() and _current_kid_text() == kid:
        rotate(now=now)
    row.revoked_at = row.revoked_at or now
    row.save(update_fields=["revoked_at"])
    cache.set(_REVOKED.format(kid=kid), 1, timeout=None)
    reset()
    return row


def _current_kid_text() -> str | None:
    signer = _current.signer if _current.signer is not None else current_signer()
    return signer.kid_text if signer is not None else None
