"""Garbage into every write endpoint: malformed JSON, wrong types, huge strings and lists, times far in the
past or future, unknown codes. Each is a 400 naming the field, never a 500, and nothing is written."""
import pytest
from django.apps import apps
from django.db import transaction

from tests.security import world as w
from tests.security.test_access_matrix import endpoints

WRITES = [
    "communities create", "hotels create", "risk-areas create", "risk-area update", "risk-area withdraw",
    "quarantine register",
    "quarantine planned end", "quarantine lift", "checkin register", "nat test add", "checkout",
    "entrant register", "entrant update", "entrant release", "designation create", "designation clear",
    "designation withdraw",
    "stays feed", "person status", "status query", "declaration", "correction request",
]

HUGE = "屋" * 100_000
BAD_VALUES = {
    "a list": [1, 2],
    "an object": {"a": 1},
    "a number": 12345,
    "a boolean": True,
    "a huge string": HUGE,
    "a NUL byte": "\x00",
    "the year 1": "0001-01-01T00:00:00+08:00",
    "the year 9999": "9999-12-31T23:59:59+08:00",
    "a past date far off": "1900-01-01",
    "an unknown code": "999999",
    "an unknown country": "ZZ",
}
# Values that are legitimately valid for a field (not garbage there): a boolean where a boolean is asked;
# any short text (digits and dates are text too) in a free-text field.
SHORT_TEXT = {"a number", "the year 1", "the year 9999", "a past date far off", "an unknown code", "an unknown country"}
FREE_TEXT = {"code", "name", "comment", "port", "purpose", "message", "reason"}
VALID_THERE = {("health_management_accepted", "a boolean"), ("health_management_accepted", "a number")} | {
    (field, label) for field in FREE_TEXT for label in SHORT_TEXT
}
# Known defect, reported to the owner of health/api/common.py: RegionCodeField(current=True) looks the
# code up before its own format validators run, so a NUL byte reaches PostgreSQL (DataError -> 500).
# Left out of the sweep below and kept as its own expected failure until it is fixed.
KNOWN_DEFECTS = {("checkin register", "origin_region_code", "a NUL byte")}
# Endpoints whose every field is optional (`{lifted_at?}` ...): an empty body means "now".
OPTIONAL_BODY = {"quarantine lift", "checkout", "entrant release", "designation clear"}


def row_counts() -> dict:
    return {model._meta.label: model._default_manager.count() for model in apps.get_models()}


def field_named(body, field: str) -> bool:
    """The error body names the field (at any depth, as DRF nests errors of nested serializers and lists)."""
    if isinstance(body, dict):
        return field in body or any(field_named(value, field) for value in body.values())
    if isinstance(body, list):
        return any(field_named(item, field) for item in body)
    return False


def mutations(body: dict):
    """(field path, label, mutated body) for every field, nested person fields and the stays' first row included."""
    for field, value in body.items():
        for label, bad in BAD_VALUES.items():
            if (field, label) not in VALID_THERE:
                yield field, label, {**body, field: bad}
        if isinstance(value, dict):
            for inner in value:
                for label, bad in BAD_VALUES.items():
                    if (inner, label) not in VALID_THERE:
                        yield inner, label, {**body, field: {**value, inner: bad}}
        if field == "stays":
            first = value[0]
            for inner in first:
                for label, bad in BAD_VALUES.items():
                    if (inner, label) not in VALID_THERE:
                        yield inner, label, {**body, "stays": [{**first, inner: bad}]}
            yield "stays", "10,001 rows", {**body, "stays": [first] * 10_001}
        if field == "city_codes":
            yield "city_codes", "10,000 codes", {**body, "city_codes": ["110000"] * 10_000}
        if field == "nat_tests":
            yield "nat_tests", "10,000 tests", {**body, "nat_tests": [{"sampled_at": "2020-01-01T00:00:00+08:00", "result": "negative", "source": "hotel"}] * 10_000}


def send(client, method, path, **kwargs):
    with transaction.atomic():
        before = row_counts()
        response = getattr(client, method)(path, **kwargs)
        written = {k: v for k, v in row_counts().items() if v != before[k]}
        transaction.set_rollback(True)
    return response, written


@pytest.mark.django_db
@pytest.mark.parametrize("name", WRITES)
def test_garbage_is_a_400_naming_the_field_and_writes_nothing(name):
    # given the city and an administrator (who may call every endpoint), and the endpoint's valid body
    world = w.build()
    method, path, body = endpoints(world)[name]
    client = w.client_as(world.users["admin"])
    failures = []

    # when the body is not JSON, or not an object
    garbage = {"malformed JSON": '{"person": ', "a JSON list": "[]", "a JSON string": '"x"', "empty": ""}
    if name in OPTIONAL_BODY:
        del garbage["empty"]
    for label, raw in garbage.items():
        response, written = send(client, method, path, data=raw, content_type="application/json")
        if response.status_code != 400 or written:
            failures.append((label, response.status_code, written))

    # when each field in turn is garbage
    for field, label, mutated in mutations(body):
        if (name, field, label) in KNOWN_DEFECTS:
            continue
        response, written = send(client, method, path, data=mutated, format="json")
        named = response.status_code == 400 and field_named(response.json(), field)
        if not named or written:
            failures.append((field, label, response.status_code, written, response.content[:200]))

    # then every answer was a 400 naming the field, and nothing was written
    assert failures == []


@pytest.mark.django_db
def test_a_nul_byte_in_a_current_region_code_is_a_400():
    world = w.build()
    method, path, body = endpoints(world)["checkin register"]
    response, written = send(w.client_as(world.users["admin"]), method, path, data={**body, "origin_region_code": "\x00"}, format="json")
    assert (response.status_code, written) == (400, {})
    assert "origin_region_code" in response.json()
