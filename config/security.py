"""Request-level security shared by the API and the admin: the client address, the absolute session limit."""
from __future__ import annotations

import time

from django.conf import settings
from django.contrib.auth import logout
from django.http import HttpRequest
from django.utils.crypto import salted_hmac

SESSION_STARTED_KEY = "_health_session_started_at"


def client_address(request: HttpRequest) -> str:
    """The client's address behind exactly NUM_PROXIES trusted proxies (DRF's rule, used by axes too).

    With no proxy the peer address is the client and X-Forwarded-For is ignored: a header the
    client writes itself must never choose its throttle or lockout bucket.
    """
    num_proxies = settings.REST_FRAMEWORK.get("NUM_PROXIES") or 0
    remote = request.META.get("REMOTE_ADDR", "") or ""
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
    if num_proxies and forwarded:
        hops = [hop.strip() for hop in forwarded.split(",") if hop.strip()]
        if hops:
            return hops[-min(num_proxies, len(hops))]
    return remote


def client_address_digest(request: HttpRequest) -> str:
    """A keyed digest of the client's address: the same client gives the same value, the address is not stored."""
    return salted_hmac("health.client_address", client_address(request), algorithm="sha256").hexdigest()


class AbsoluteSessionLifetimeMiddleware:
    """Logs a session out SESSION_ABSOLUTE_SECONDS after it was first seen authenticated, however active.

    The idle limit is SESSION_COOKIE_AGE with SESSION_SAVE_EVERY_REQUEST (each request pushes the
    expiry forward); this bounds the whole session, so a stolen cookie kept busy still dies.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated and hasattr(request, "session"):
            now = int(time.time())
            started = request.session.get(SESSION_STARTED_KEY)
            if started is None:
                request.session[SESSION_STARTED_KEY] = now
            elif now - int(started) > settings.SESSION_ABSOLUTE_SECONDS:
                logout(request)
        return self.get_response(request)
