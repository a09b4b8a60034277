"""Throttles of the public endpoints: per client address, per ID number and name (the owner's budget) and
a ceiling per ID number (keyed by digests; docs/security.md lists the budgets).

Counters are shared and atomic: on Redis each is an `INCR` followed by `EXPIRE … NX`, every
counter of a request in one server-side script (one command, one round trip for both public
throttles). Other caches (memory in tests) use `cache.add` then `cache.incr`. Either way N
processes racing over the limit admit exactly the limit. DRF's own throttle keeps a list of
timestamps and writes it back (read-modify-write): two requests at once both pass.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass

from django.core.cache import DEFAULT_CACHE_ALIAS, caches
from django.core.cache.backends.redis import RedisCache
from django.core.exceptions import ValidationError
from rest_framework.settings import api_settings
from rest_framework.throttling import BaseThrottle

from config.security import client_address
from health.identity import DocumentType, document_clean, id_number_digest, id_number_input_clean


@dataclass(frozen=True)
class CheckedIdNumber:
    """What one request's ID number turned out to be: the canonical number and its digest, or the refusal."""

    number: str | None = None
    digest: str | None = None
    error: ValidationError | None = None


def id_number_checked(request, raw: object) -> CheckedIdNumber:
    """The `id_number` of a request (as sent: any JSON value) cleaned once by `id_number_input_clean`:
    the throttle, the serializer field and the lookup share the result, so they accept and count the same.

    Kept on the request only (never in a process-wide cache: plain numbers must not outlive it).
    """
    if type(raw) is not str:
        try:
            id_number_input_clean(raw)
        except ValidationError as error:
            return CheckedIdNumber(error=error)
    checked = getattr(request, "_id_numbers_checked", None)
    if checked is None:
        checked = {}
        request._id_numbers_checked = checked
    if raw not in checked:
        try:
            number = id_number_input_clean(raw)
        except ValidationError as error:
            checked[raw] = CheckedIdNumber(error=error)
        else:
            # Also under the canonical number, which is what the serializer hands on to the view.
            checked[raw] = checked[number] = CheckedIdNumber(number=number, digest=id_number_digest(number))
    return checked[raw]


def person_checked(request, data: dict) -> CheckedIdNumber:
    """The document of a public request's body: `id_number` as `id_number_checked` cleans it, or the
    `document_type`/`document_number`/`nationality` of another document (health.identity.document_clean),
    so that the per-number throttles count every document under its digest."""
    if data.get("document_type") in (None, DocumentType.RESIDENT_ID) and data.get("document_number") is None:
        return id_number_checked(request, data.get("id_number"))
    cache = getattr(request, "_documents_checked", None)
    if cache is None:
        cache = request._documents_checked = {}
    key = tuple(repr(data.get(field)) for field in ("document_type", "document_number", "nationality"))
    if key not in cache:
        try:
            document = document_clean(
                data.get("document_type"), number=data.get("document_number"), nationality=data.get("nationality")
            )
        except ValidationError as error:
            cache[key] = CheckedIdNumber(error=error)
        else:
            if document.document_type == DocumentType.RESIDENT_ID:
                cache[key] = id_number_checked(request, document.number)
            else:
                cache[key] = CheckedIdNumber(number=None, digest=document.digest)
    return cache[key]


class AtomicRateThrottle(BaseThrottle):
    """A fixed window per key: at most `num` requests per `duration` seconds from its first request.

    A fixed window may admit up to twice the rate across a window boundary; that is the price of
    one atomic counter per key instead of a list of timestamps.
    """

    scope = ""
    cache_format = "throttle_%(scope)s_%(ident)s"

    def get_rate(self) -> str | None:
        # Read per request (DRF copies rates at import time) so that settings overrides apply.
        return api_settings.DEFAULT_THROTTLE_RATES.get(self.scope)

    def get_ident(self, request) -> str:
        return client_address(request)

    def get_cache_key(self, request, view) -> str | None:
        raise NotImplementedError

    def counter_of(self, request, view) -> str | None:
        """The key to count this request under (and the rate set on self), or None when not counted."""
        if self.get_rate() is None:
            return None
        return self.counted_as(self.get_cache_key(request, view))

    def counted_as(self, key: str | None) -> str | None:
        """`key`, with the rate set on self; None when there is no key or no rate."""
        rate = self.get_rate()
        if key is None or rate is None:
            return None
        self.num_requests, self.duration = parse_rate(rate)
        return key

    def allow_request(self, request, view) -> bool:
        return not throttles_exceeded([self], request, view)

    @staticmethod
    def counter_increment(key: str, duration: int) -> int:
        return counters_increment([(key, duration)])[0]

    def wait(self) -> float:
        # An upper bound (the window may be partly over); Retry-After never promises too early.
        return float(getattr(self, "duration", 60))


def throttles_exceeded(throttles: Sequence[AtomicRateThrottle], request, view) -> list[AtomicRateThrottle]:
    """Count the request under every throttle at once (one round trip on Redis); those over their limit.

    Every throttle counts the request, as DRF's own check does (a refused request still uses up the window).
    """
    return _counted_exceeded([(throttle, throttle.counter_of(request, view)) for throttle in throttles])


def public_throttles_exceeded(request, *, digest: str, name: str) -> list[AtomicRateThrottle]:
    """The status query's throttles for a plain Django request whose valid ID number has this digest, asked
    with this (cleaned) name: per address, the number's ceiling and the number and name, in one round trip."""
    address, number, person = PublicAddressThrottle(), PublicIdNumberThrottle(), PublicPersonThrottle()
    return _counted_exceeded(
        [
            (address, address.counter_of(request, None)),
            (number, number.counted_as(number.key_of(digest))),
            (person, person.counted_as(person.key_of(digest, name))),
        ]
    )


def _counted_exceeded(keyed: Sequence[tuple[AtomicRateThrottle, str | None]]) -> list[AtomicRateThrottle]:
    counted = [(throttle, key) for throttle, key in keyed if key is not None]
    counts = counters_increment([(key, throttle.duration) for throttle, key in counted])
    return [throttle for (throttle, _key), count in zip(counted, counts, strict=True) if count > throttle.num_requests]


def counters_increment(counters: Sequence[tuple[str, int]]) -> list[int]:
    """Each (key, window seconds) counted once; the new counts in the same order."""
    if not counters:
        return []
    cache = caches[DEFAULT_CACHE_ALIAS]
    if isinstance(cache, RedisCache):
        return _redis_increment(cache, counters)
    return [_cache_increment(cache, key, duration) for key, duration in counters]


# Each key counted (INCR) and its window ended (EXPIRE … NX: set when the window opens, never pushed
# back), atomically, all keys of a request in one command. A script, not MULTI/EXEC: one command to
# pack and parse instead of 2 + 2 per key.
_INCREMENT = """
local counts = {}
for i, key in ipairs(KEYS) do
  counts[i] = redis.call('INCR', key)
  redis.call('EXPIRE', key, ARGV[i], 'NX')
end
return counts
"""
_increment_script = None


def _redis_increment(cache: RedisCache, counters: Sequence[tuple[str, int]]) -> list[int]:
    # Django's RedisCache keeps ints as plain Redis integers, so `cache.get` still reads these counters.
    # Writes all go to the first server (Django's client), whatever the key.
    global _increment_script
    client = _write_client(cache)
    if _increment_script is None:
        _increment_script = client.register_script(_INCREMENT)
    # make_key: these keys are ours (a scope and an address or a hex digest); no per-character portability check.
    keys = [cache.make_key(key) for key, _duration in counters]
    # EVALSHA, loading the script first if the server does not know it (a restart, another server).
    return [
        int(count)
        for count in _increment_script(keys=keys, args=[duration for _key, duration in counters], client=client)
    ]


def _write_client(cache: RedisCache):
    """The cache's client for writes, made once: Django makes a new one per call (~100 µs of set-up)."""
    backend = cache._cache
    client = getattr(backend, "_throttle_client", None)
    if client is None:
        client = backend._throttle_client = backend.get_client(write=True)
    return client


def _cache_increment(cache, key: str, duration: int) -> int:
    cache.add(key, 0, timeout=duration)
    try:
        count = cache.incr(key)
    except ValueError:
        # The window expired between add and incr: open the next one with this request.
        cache.add(key, 0, timeout=duration)
        count = cache.incr(key)
    if count == 1:
        # Whoever opened the window makes sure it ends (a backend whose incr could recreate an
        # expired key would leave it without a time to live).
        cache.touch(key, duration)
    return count


def parse_rate(rate: str) -> tuple[int, int]:
    """'60/minute' -> (60, 60); the period's first letter is what counts, as in DRF."""
    num, period = rate.split("/")
    return int(num), {"s": 1, "m": 60, "h": 3600, "d": 86400}[period[0]]


class PublicAddressThrottle(AtomicRateThrottle):
    """PUBLIC_THROTTLE_RATE per client address (behind exactly NUM_PROXIES trusted proxies)."""

    scope = "public_address"

    def get_cache_key(self, request, view):
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}


def name_cleaned(raw: object) -> str | None:
    """The name as the serializer's text field cleans it (trimmed), for the per-person key; None if not text."""
    return raw.strip() if type(raw) is str else None


class PublicIdNumberThrottle(AtomicRateThrottle):
    """The ceiling per ID number, whatever the name: PUBLIC_ID_NUMBER_CEILING_RATE, counted under its keyed digest.

    Well above an owner's use (their own budget is PublicPersonThrottle): it bounds how many names can be
    tried against one number per window from any number of addresses. The query and the declaration,
    both of which answer a status, count under the same key. The number is cleaned as the serializer
    cleans it (`id_number_checked`): every accepted number is counted under its canonical form; a
    request without a valid number is refused as invalid (and counted per address).
    """

    scope = "public_id_number"

    def get_cache_key(self, request, view):
        data = request.data
        if not isinstance(data, dict):
            return None
        return self.key_of(person_checked(request, data).digest)

    def key_of(self, digest: str | None) -> str | None:
        return None if digest is None else self.cache_format % {"scope": self.scope, "ident": digest}


class PublicPersonThrottle(AtomicRateThrottle):
    """The owner's budget: per ID number **and name** (PUBLIC_THROTTLE_RATE for the status query).

    Queries with the number and another name count under another key, so a stranger trying names
    never spends the owner's budget (only the ceiling above). The key is a digest of the number's
    keyed digest and the name: neither appears in the cache.
    """

    scope = "public_person"

    def get_cache_key(self, request, view):
        data = request.data
        if not isinstance(data, dict):
            return None
        name = name_cleaned(data.get("name"))
        digest = person_checked(request, data).digest
        return None if name is None else self.key_of(digest, name)

    def key_of(self, digest: str | None, name: str) -> str | None:
        if digest is None:
            return None
        # surrogatepass: the key of a name the serializer will refuse must still be computable.
        pair = hashlib.sha256(f"{digest}\x1f{name}".encode("utf-8", "surrogatepass")).hexdigest()[:40]
        return self.cache_format % {"scope": self.scope, "ident": pair}


class DeclarationPersonThrottle(PublicPersonThrottle):
    """Declarations per number and name: DECLARATION_THROTTLE_RATE, tighter than queries and counted apart."""

    scope = "declaration_person"


class CorrectionPersonThrottle(PublicPersonThrottle):
    """Correction requests per number, name **and client address**: CORRECTION_THROTTLE_RATE.

    Every matching request within it is kept, so the budget is what bounds a community's queue. The
    address is part of the key because whoever knows the name and number is indistinguishable from
    the owner by what they send: a stranger (even one who knows both) spends only their own budget.
    """

    scope = "correction_person"

    def get_cache_key(self, request, view):
        key = super().get_cache_key(request, view)
        return None if key is None else f"{key}_{self.get_ident(request)}"


class TokenAddressThrottle(PublicAddressThrottle):
    """Password guesses against the token endpoint: the public rate per address, counted apart."""

    cache_format = "throttle_token_%(scope)s_%(ident)s"
