"""Throttles of the public endpoints: per client address and per ID number (keyed by its digest).

Counters are shared and atomic: `cache.add` opens a window, `cache.incr` counts in it (one INCR on
Redis), so N processes racing over the limit admit exactly the limit. DRF's own throttle keeps a
list of timestamps and writes it back (read-modify-write): two requests at once both pass.
"""
from __future__ import annotations

from django.core.cache import cache
from rest_framework.settings import api_settings
from rest_framework.throttling import BaseThrottle

from config.security import client_address
from health.identity import id_number_digest_or_none


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

    def allow_request(self, request, view) -> bool:
        rate = self.get_rate()
        if rate is None:
            return True
        key = self.get_cache_key(request, view)
        if key is None:
            return True
        self.num_requests, self.duration = parse_rate(rate)
        count = self.counter_increment(key, self.duration)
        return count <= self.num_requests

    @staticmethod
    def counter_increment(key: str, duration: int) -> int:
        cache.add(key, 0, timeout=duration)
        try:
            count = cache.incr(key)
        except ValueError:
            # The window expired between add and incr: open the next one with this request.
            cache.add(key, 0, timeout=duration)
            count = cache.incr(key)
        if count == 1:
            # Whoever opened the window makes sure it ends: Django's Redis incr checks existence and
            # then INCRs, so a key that expired in between is recreated without a time to live.
            cache.touch(key, duration)
        return count

    def wait(self) -> float:
        # An upper bound (the window may be partly over); Retry-After never promises too early.
        return float(getattr(self, "duration", 60))


def parse_rate(rate: str) -> tuple[int, int]:
    """'60/minute' -> (60, 60); the period's first letter is what counts, as in DRF."""
    num, period = rate.split("/")
    return int(num), {"s": 1, "m": 60, "h": 3600, "d": 86400}[period[0]]


class PublicAddressThrottle(AtomicRateThrottle):
    """PUBLIC_THROTTLE_RATE per client address (behind exactly NUM_PROXIES trusted proxies)."""

    scope = "public_address"

    def get_cache_key(self, request, view):
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}


class PublicIdNumberThrottle(AtomicRateThrottle):
    """PUBLIC_THROTTLE_RATE per ID number, counted under its keyed digest: the plain number is never a cache key.

    It stops the many-addresses enumeration of one person's status; a request without a valid
    number is not counted here (it is refused as invalid, and counted per address).
    """

    scope = "public_id_number"

    def get_cache_key(self, request, view):
        data = request.data
        if not isinstance(data, dict):
            return None
        raw = data.get("id_number")
        digest = id_number_digest_or_none(raw) if isinstance(raw, str) else None
        if digest is None:
            return None
        return self.cache_format % {"scope": self.scope, "ident": digest}


class TokenAddressThrottle(PublicAddressThrottle):
    """Password guesses against the token endpoint: the public rate per address, counted apart."""

    cache_format = "throttle_token_%(scope)s_%(ident)s"
