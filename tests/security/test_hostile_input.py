"""A corpus of hostile values (deep nesting, NUL, lone surrogates, 10 MB bodies, wrong types) sent into every
API operation the OpenAPI schema lists (its path and query parameters, whole bodies, every body property) and
into every admin changelist filter, search and autocomplete: never a 5xx, at most one log line each.

Runs on SQLite and on PostgreSQL (CI), where NUL and lone surrogates are refused by the database itself.
"""

from __future__ import annotations

import json
import logging
from urllib.parse import quote

import pytest
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.test import Client, RequestFactory
from django.urls import resolve
from drf_spectacular.generators import SchemaGenerator

from tests.security import world as w
from tests.security.test_access_matrix import endpoints

MB = 1024 * 1024
# Whole bodies, as raw bytes.
BODIES = {
    "arrays nested 2000 deep": b"[" * 2000,
    "objects nested 3000 deep": b'{"a":' * 3000,
    "nesting closed, 2000 deep": b"[" * 2000 + b"]" * 2000,
    "10 MB string": b'"' + b"a" * (10 * MB) + b'"',
    "10 MB of brackets": b"[" * (10 * MB),
    "a NUL string": b'"\\u0000"',
    "a lone surrogate": b'{"name": "\\ud800", "id_number": "\\udfff"}',
    "invalid UTF-8": b'{"name": "\xed\xa0\x80"}',
    "a raw NUL byte": b'{"name": "\x00"}',
    "a number": b"110105198501040035",
    "null": b"null",
    "true": b"true",
    "a list": b"[]",
    "malformed": b'{"a":',
    "NaN": b'{"a": NaN}',
}
# Values for one property (JSON text, spliced into an otherwise valid body).
VALUES = {
    "nested 2000 deep": "[" * 2000 + "]" * 2000,
    "NUL": '"\\u0000"',
    "NUL inside": '"C-A\\u0000"',
    "lone surrogate": '"\\ud800"',
    "1 MB string": '"' + "屋" * MB + '"',
    "a big number": "1" + "0" * 5000,
    "a float": "1e309",
    "a number": "110105198501040035",
    "a list": '["x"]',
    "an object": '{"a": "\\u0000"}',
    "null": "null",
    "false": "false",
}
# Path and query values (already URL-encoded).
URL_VALUES = {
    "NUL": "%00",
    "lone surrogate as UTF-8": "%ED%A0%80",
    "invalid UTF-8": "%FF%FE",
    "long": "a" * 5000,
    "dots": "..%2F..",
    "a number": "-1",
}
MEDIA_TYPES = ["application/json", "text/csv", "application/x-ndjson", "multipart/form-data; boundary=x", "text/plain"]


def _schema() -> dict:
    return SchemaGenerator().get_schema(request=None, public=True)


def _resolve_ref(schema: dict, node: dict) -> dict:
    while "$ref" in node:
        node = schema["components"]["schemas"][node["$ref"].rsplit("/", 1)[1]]
    return node


def operations():
    """(method, path template, operation) of every operation of the API schema."""
    schema = _schema()
    for template, item in schema["paths"].items():
        for method, operation in item.items():
            if method in ("get", "post", "put", "patch", "delete"):
                yield method, template, operation


def _concrete(template: str, world, value: str | None = None) -> str:
    """The template with every {param} filled: `value` if given, else an existing object of organisation A."""
    ids = {
        "risk-areas": world.ids["risk_area"], "quarantines": world.ids["quarantine:A"],
        "checkins": world.ids["checkin:A"], "entrants": world.ids["entrant:A"], "designations": world.ids["designation"],
    }
    parts = []
    segments = template.split("/")
    for index, segment in enumerate(segments):
        if segment.startswith("{"):
            if value is not None:
                parts.append(value)
            elif segment in ("{code}",):
                parts.append({"communities": "C-A", "hotels": "H-A"}[segments[index - 1]])
            else:
                parts.append(str(ids[segments[index - 1]]))
        else:
            parts.append(segment)
    return "/".join(parts)


class Requests:
    """Every request sent, its answer and the log records it caused."""

    def __init__(self, caplog):
        self.caplog = caplog
        self.failures: list = []
        self.sent = 0

    def check(self, label, response, records):
        self.sent += 1
        noisy = [record for record in records if record.levelno >= logging.WARNING]
        if response.status_code >= 500 or len(noisy) > 1:
            self.failures.append((label, response.status_code, [r.getMessage()[:80] for r in noisy]))
        elif response.request["PATH_INFO"].startswith("/api/") and response.status_code >= 400:
            if not response.get("Content-Type", "").startswith("application/json"):
                self.failures.append((label, response.status_code, response.get("Content-Type")))

    def send(self, label, call, *args, **kwargs):
        self.caplog.clear()
        # The throttles would answer 429 before the body is read: every request meets the real parsing.
        cache.clear()
        response = call(*args, **kwargs)
        self.check(label, response, list(self.caplog.records))
        return response


def _splice(body: dict | None, key: str, value_json: str) -> bytes:
    """`body` with `key` set to the JSON text `value_json` (which json.dumps could not build: too deep, surrogates)."""
    base = dict(body or {})
    base[key] = "__HOSTILE__"
    return json.dumps(base, ensure_ascii=False).replace('"__HOSTILE__"', value_json, 1).encode()


def _properties(schema: dict, operation: dict) -> list[str]:
    content = operation.get("requestBody", {}).get("content", {})
    names: list[str] = []
    for media in content.values():
        node = _resolve_ref(schema, media.get("schema", {}))
        names += [name for name in node.get("properties", {}) if name not in names]
    return names


@pytest.mark.django_db
def test_no_hostile_value_in_any_api_operation_is_a_5xx(caplog):
    # given the city, an administrator (who may call every operation), and the valid body of each operation
    world = w.build()
    schema = _schema()
    valid = {resolve(path.split("?")[0]).url_name: body for _name, (_method, path, body) in endpoints(world).items()}
    client = w.client_as(world.users["admin"])
    client.raise_request_exception = False
    requests = Requests(caplog)
    caplog.set_level(logging.INFO)

    for method, template, operation in operations():
        path = _concrete(template, world)
        call = getattr(client, method)
        body = valid.get(resolve(path).url_name)
        # when a path parameter is hostile
        if "{" in template:
            for label, value in URL_VALUES.items():
                requests.send((method, template, "path", label), call, _concrete(template, world, value))
        # when a query parameter (every one the schema lists, and one it does not) is hostile
        names = [p["name"] for p in operation.get("parameters", []) if p["in"] == "query"] + ["unlisted"]
        for name in names:
            for label, value in URL_VALUES.items():
                requests.send((method, template, name, label), call, f"{path}?{name}={value}")
        if method == "get":
            continue
        # when the whole body is hostile, in every media type (the 10 MB ones as JSON and CSV: the rest refuse
        # them by media type before reading)
        for label, raw in BODIES.items():
            for media_type in MEDIA_TYPES if len(raw) < MB else MEDIA_TYPES[:2]:
                requests.send((method, template, media_type, label), call, path, data=raw, content_type=media_type)
        # when one property of an otherwise valid body is hostile
        for name in _properties(schema, operation):
            for label, value in VALUES.items():
                data = _splice(body, name, value)
                requests.send((method, template, name, label), call, path, data=data, content_type="application/json")

    # then nothing answered 5xx, every refusal under /api/ was JSON, and no request logged more than one line
    assert requests.sent > 1000
    assert requests.failures == [], "\n".join(map(str, requests.failures))


def _superuser_client() -> Client:
    user = get_user_model().objects.create_superuser("hostile-root", password="pw-Secret-123")
    client = Client(raise_request_exception=False)
    client.force_login(user)
    return client


def _as(user):
    request = RequestFactory().get("/")
    request.user = user
    return request


def _filter_parameters(model_admin, request) -> list[str]:
    changelist = model_admin.get_changelist_instance(request)
    return [name for spec in changelist.filter_specs for name in spec.expected_parameters()]


@pytest.mark.django_db
def test_no_hostile_value_in_any_admin_filter_search_or_autocomplete_is_a_5xx(caplog):
    # given the city and a superuser (who sees every changelist)
    w.build()
    client = _superuser_client()
    request = _as(get_user_model().objects.get(username="hostile-root"))
    requests = Requests(caplog)
    caplog.set_level(logging.INFO)
    filtered = 0

    for model, model_admin in admin.site._registry.items():
        meta = model._meta
        changelist = f"/admin/{meta.app_label}/{meta.model_name}/"
        parameters = _filter_parameters(model_admin, request)
        filtered += bool(parameters)
        if model_admin.get_search_fields(request):
            parameters.append("q")
        # when every filter parameter, and the search, carries each hostile value
        for name in parameters + ["o", "p"]:
            for label, value in URL_VALUES.items():
                requests.send((changelist, name, label), client.get, f"{changelist}?{quote(name)}={value}")
        # when an autocomplete over each of its autocomplete fields is asked a hostile term
        for field_name in model_admin.get_autocomplete_fields(request):
            for label, value in URL_VALUES.items():
                url = (
                    f"/admin/autocomplete/?term={value}&app_label={meta.app_label}"
                    f"&model_name={meta.model_name}&field_name={field_name}"
                )
                requests.send(("autocomplete", changelist, field_name, label), client.get, url)

    # then no page answered 5xx
    assert filtered >= 10
    assert requests.failures == [], "\n".join(map(str, requests.failures))
