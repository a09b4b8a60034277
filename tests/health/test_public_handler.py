"""The public status query's lean handler (config/public.py): the same answers, headers and throttles as Django's full one."""

import io
import json

import pytest
from django.conf import settings
from django.core import signals
from django.core.cache import cache
from django.core.handlers.wsgi import WSGIHandler
from django.db import close_old_connections
from django.test import override_settings

from config.public import PUBLIC_PATHS, PublicHandler
from tests import factories

from .test_api_public import QUERY, rates, with_beijing_stay

pytestmark = pytest.mark.django_db

# What production turns on (config/settings/production.py), so that every security header is compared.
PRODUCTION_HEADERS = {
    "SECURE_HSTS_SECONDS": 31536000,
    "SECURE_HSTS_INCLUDE_SUBDOMAINS": True,
    "SECURE_HSTS_PRELOAD": True,
    "SECURE_CONTENT_TYPE_NOSNIFF": True,
    "SECURE_PROXY_SSL_HEADER": ("HTTP_X_FORWARDED_PROTO", "https"),
    "X_FRAME_OPTIONS": "DENY",
}


@pytest.fixture(autouse=True)
def frozen(monkeypatch):
    """One clock for both handlers: a stranger's answer is computed at the moment it is asked."""
    from django.utils import timezone

    moment = timezone.now()
    monkeypatch.setattr(timezone, "now", lambda: moment)
    return moment


def call(handler, body, *, method="POST", path=QUERY, address="10.8.0.1", **headers) -> tuple[str, list, bytes]:
    data = body if isinstance(body, bytes) else json.dumps(body, ensure_ascii=False).encode()
    environ = {
        "REQUEST_METHOD": method,
        "PATH_INFO": path,
        "SCRIPT_NAME": "",
        "QUERY_STRING": "",
        "CONTENT_TYPE": "application/json",
        "CONTENT_LENGTH": str(len(data)),
        "wsgi.input": io.BytesIO(data),
        "SERVER_NAME": "testserver",
        "SERVER_PORT": "443",
        "HTTP_HOST": "localhost",
        "REMOTE_ADDR": address,
        "HTTP_X_FORWARDED_PROTO": "https",
        "wsgi.url_scheme": "http",
        "wsgi.errors": io.StringIO(),
        "wsgi.version": (1, 0),
        "wsgi.multithread": True,
        "wsgi.multiprocess": True,
        "wsgi.run_once": False,
        "SERVER_PROTOCOL": "HTTP/1.1",
        **headers,
    }
    seen = {}

    def start_response(status, response_headers, exc_info=None):
        seen["status"], seen["headers"] = status, response_headers

    # As Django's test client does: the test's transaction keeps its connection (request_started and
    # request_finished would close it as an old one).
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    try:
        result = handler(environ, start_response)
        content = b"".join(result)
        result.close()
    finally:
        signals.request_started.connect(close_old_connections)
        signals.request_finished.connect(close_old_connections)
    return seen["status"], sorted(seen["headers"]), content


def without_vary_cookie(answer: tuple[str, list, bytes]) -> tuple[str, list, bytes]:
    """The answer without what the staff middleware adds: `Cookie` in Vary, and Set-Cookie (a stray
    session or CSRF cookie ended or replaced)."""
    status, headers, content = answer
    kept = []
    for name, value in headers:
        if name == "Set-Cookie":
            continue
        if name == "Vary":
            value = ", ".join(part for part in value.split(", ") if part != "Cookie")
        kept.append((name, value))
    return status, kept, content


def test_the_public_handler_runs_only_its_middleware_in_django_s_order():
    # the public list is the full list's own entries, in the same order, and none of the staff's
    assert settings.PUBLIC_MIDDLEWARE == [name for name in settings.MIDDLEWARE if name in settings.PUBLIC_MIDDLEWARE]
    assert "django.middleware.security.SecurityMiddleware" in settings.PUBLIC_MIDDLEWARE
    assert "django.middleware.clickjacking.XFrameOptionsMiddleware" in settings.PUBLIC_MIDDLEWARE
    for staff_only in ("sessions", "auth", "csrf", "messages", "otp", "axes", "simple_history", "Absolute"):
        assert not any(staff_only in name for name in settings.PUBLIC_MIDDLEWARE), staff_only
    # and the entry point sends exactly the status query there
    assert PUBLIC_PATHS == {QUERY}
    from config import wsgi

    assert isinstance(wsgi.public_application, PublicHandler)


def test_both_handlers_give_the_same_answers_and_headers():
    known = with_beijing_stay()
    stranger = factories.person_payload("王五")
    requests = [
        ({"body": known}),
        ({"body": stranger}),
        ({"body": {"name": "李四", "id_number": known["id_number"]}}),
        ({"body": {"name": "张三", "id_number": "123"}}),  # a 400 from the DRF view
        ({"body": b'{"name": '}),  # malformed JSON
        ({"body": b"", "method": "GET"}),  # 405
        ({"body": known, "HTTP_ACCEPT_LANGUAGE": "en"}),  # the label in English, Content-Language
        ({"body": known, "HTTP_COOKIE": "sessionid=nothing; csrftoken=x"}),  # a stray staff cookie
    ]
    with override_settings(**PRODUCTION_HEADERS):
        full, public = WSGIHandler(), PublicHandler()
        for number, request in enumerate(requests):
            request = dict(request)
            body = request.pop("body")
            # the same request, from another address each time (each path has its own budget)
            answers = [
                call(handler, body, address=f"10.8.{side}.{number}", **request)
                for side, handler in enumerate((full, public))
            ]
            # then status, every header and the body are the same, but for the full handler's
            # `Vary: Cookie` and cookies: staff middleware looked at the session (the answer does not
            # depend on a cookie, is never cached: no-store, and the public handler sets none)
            assert without_vary_cookie(answers[0]) == answers[1] == without_vary_cookie(answers[1]), request
    status, headers, _content = answers[0]
    names = {name for name, _value in headers}
    assert {"Strict-Transport-Security", "X-Content-Type-Options", "X-Frame-Options", "Referrer-Policy"} <= names
    assert {"Content-Language", "Content-Length", "Cache-Control"} <= names


def test_the_throttles_still_refuse_on_the_public_handler():
    payload = factories.person_payload()
    with override_settings(REST_FRAMEWORK=rates("2/minute")):
        public, full = PublicHandler(), WSGIHandler()
        # given two answered queries from one address
        codes = [call(public, payload, address="10.7.0.1")[0] for _ in range(2)]
        # when a third comes through the public handler, and a fourth through the full one
        third = call(public, payload, address="10.7.0.1")
        fourth = call(full, payload, address="10.7.0.1")
    # then both are refused with the contract's 429, with the same headers, on the same counters
    assert codes == ["200 OK", "200 OK"]
    assert third[0].startswith("429") and fourth[0].startswith("429")
    assert third[1] == without_vary_cookie(fourth)[1] and ("Retry-After", "60") in third[1]
    assert cache.get("throttle_public_address_10.7.0.1") == 4
