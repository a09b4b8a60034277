"""Throttles of the public endpoints: per client address and per ID number (keyed by its digest)."""
from rest_framework.settings import api_settings
from rest_framework.throttling import SimpleRateThrottle

from health.identity import id_number_digest_or_none


class _SettingsRateThrottle(SimpleRateThrottle):
    # DRF copies the rates at import time; reading them per request lets settings overrides apply.
    def get_rate(self):
        return api_settings.DEFAULT_THROTTLE_RATES[self.scope]


class PublicAddressThrottle(_SettingsRateThrottle):
    """PUBLIC_THROTTLE_RATE per client address (behind NUM_PROXIES trusted proxies)."""

    scope = "public_address"

    def get_cache_key(self, request, view):
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}


class PublicIdNumberThrottle(_SettingsRateThrottle):
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
