"""Request-level security shared by the API and the admin: the client address, the absolute session limit,
no NUL character past the door."""
from __future__ import annotations

import time
from urllib.parse import urlencode

from django.conf import settings
from django.contrib.auth import logout
from django.http import HttpRequest, HttpResponseRedirect, JsonResponse
from django.utils.crypto import salted_hmac
from django.utils.translation import gettext

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


def _nul_in_path_or_headers(request: HttpRequest) -> bool:
    return "\x00" in request.path_info or any(
        "\x00" in value for key, value in request.META.items() if key.startswith("HTTP_") and isinstance(value, str)
    )


class NulCharacterMiddleware:
    """Refuses a NUL character in the path, the query string or a header before any view sees it.

    PostgreSQL text cannot hold NUL: a path segment (`/communities/%00/quarantines/`), an admin
    filter (`?kind=%00`), an autocomplete term (`term=%00`), a token or a session cookie would reach a
    lookup and fail there with a 500. No URL or header of this service ever carries one. Under /api/
    the answer is a JSON 400; in the admin a query parameter holding one is dropped (the page is
    reloaded without it: the list unfiltered, as for any filter value the admin ignores), and a path
    or header holding one is the usual 400 page.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        in_path = _nul_in_path_or_headers(request)
        query = [(key, value) for key, values in request.GET.lists() for value in values]
        clean_query = [(key, value) for key, value in query if "\x00" not in key + value]
        if not in_path and len(clean_query) == len(query):
            return self.get_response(request)
        if request.path_info.startswith("/api/"):
            return JsonResponse(
                {"detail": gettext("请求中含有不允许的空字符（NUL）。")}, status=400, json_dumps_params={"ensure_ascii": False}
            )
        if not in_path and request.method in ("GET", "HEAD"):
            return HttpResponseRedirect(request.path + ("?" + urlencode(clean_query) if clean_query else ""))
        from django.views.defaults import bad_request

        return bad_request(request, None)
