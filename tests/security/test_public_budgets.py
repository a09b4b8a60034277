"""The public endpoints' budgets as an attacker meets them, through the HTTP stack (Redis in CI): one cleaning
of the ID number for the throttle and the validation, wrong names that never spend the owner's budget, bodies
that cannot be read still counted and answered 400 in JSON, both lookups doing the same work, and the
declaration and correction budgets. The rates are the production defaults (config.settings.base) unless a
test says otherwise."""
from __future__ import annotations

import copy
import logging
import re

import pytest
from django.conf import settings
from django.db import connection
from django.test import Client, override_settings
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from config.settings import base
from health.identity import id_number_digest
from health.models import ItineraryDeclaration, StatusCorrectionRequest
from health.services.persons import person_resolve
from tests import factories
from tests.communities.helpers import community, register

QUERY = "/api/v1/status/query/"
DECLARE = "/api/v1/status/declarations/"
CORRECT = "/api/v1/status/corrections/"
TOKEN = "/api/v1/auth/token/"


def production_rates(**overrides) -> dict:
    framework = copy.deepcopy(settings.REST_FRAMEWORK)
    # From base's own names: the test settings rebind the shared REST_FRAMEWORK's rates.
    framework["DEFAULT_THROTTLE_RATES"] = {
        "public_address": base.PUBLIC_THROTTLE_RATE,
        "public_person": base.PUBLIC_THROTTLE_RATE,
        "public_id_number": base.PUBLIC_ID_NUMBER_CEILING_RATE,
        "declaration_person": base.DECLARATION_THROTTLE_RATE,
        "correction_person": base.CORRECTION_THROTTLE_RATE,
        **overrides,
    }
    return framework


def client() -> APIClient:
    return APIClient(raise_request_exception=False)


def post_raw(path: str, body: bytes | str, address: str, content_type: str = "application/json"):
    return client().post(path, data=body, content_type=content_type, REMOTE_ADDR=address)


# --- item 1: the throttle counts exactly what the validation accepts ---------------------------------
@pytest.mark.django_db
def test_an_id_number_sent_as_a_json_number_is_refused_and_counted():
    # given a limit of 3 per minute per address
    number = next(number for number in (factories.id_number() for _ in range(50)) if number.isdigit())
    payload = {"name": "张三", "id_number": number}
    with override_settings(REST_FRAMEWORK=production_rates(public_address="3/minute")):
        # when the number is sent unquoted, five times
        codes = [
            post_raw(QUERY, f'{{"name": "张三", "id_number": {payload["id_number"]}}}', "10.14.1.1").status_code
            for _ in range(5)
        ]
    # then it is no ID number (400), and the address is counted all the same
    assert codes == [400, 400, 400, 429, 429]


@pytest.mark.django_db
@pytest.mark.parametrize("padding", ["\u1680", "\u3000", "\u2003", " \t"])
def test_a_number_padded_with_unicode_spaces_is_counted_as_the_number(padding):
    # given a budget of 2 per minute for one number and name, spent from two addresses
    payload = factories.person_payload("张三")
    with override_settings(REST_FRAMEWORK=production_rates(public_person="2/minute")):
        plain = [client().post(QUERY, payload, format="json", REMOTE_ADDR=f"10.14.2.{i}").status_code for i in range(2)]
        # when the same number comes padded with Unicode spaces, from a third address (DRF view and fast path)
        padded = client().post(
            QUERY, {**payload, "id_number": f"{padding}{payload['id_number']}{padding}"}, format="json",
            REMOTE_ADDR="10.14.2.9",
        )
    # then it is the same number, over the same budget
    assert plain == [200, 200]
    assert padded.status_code == 429


# --- item 2: the owner is not locked out ----------------------------------------------------------------
@pytest.mark.django_db
def test_wrong_names_from_one_address_do_not_lock_the_owner_out():
    # given a resident, and a stranger sending 70 queries in a minute with the resident's number and other names
    owner = factories.person_payload("王小明")
    person_resolve(**owner)
    with override_settings(REST_FRAMEWORK=production_rates()):
        stranger = [
            client().post(QUERY, {**owner, "name": f"王{i}"}, format="json", REMOTE_ADDR="10.14.3.1").status_code
            for i in range(70)
        ]
        # when the resident asks, from their own phone
        own = client().post(QUERY, owner, format="json", REMOTE_ADDR="10.14.3.2")
    # then the stranger hit their address's limit, and the resident is answered
    assert stranger == [200] * 60 + [429] * 10
    assert own.status_code == 200


@pytest.mark.django_db
def test_the_ceiling_per_number_bounds_name_guesses_from_many_addresses():
    # given a ceiling of 5 guesses per minute per number
    owner = factories.person_payload("王小明")
    with override_settings(REST_FRAMEWORK=production_rates(public_id_number="5/minute")):
        # when names are tried from a new address each time
        codes = [
            client().post(QUERY, {**owner, "name": f"王{i}"}, format="json", REMOTE_ADDR=f"10.14.4.{i}").status_code
            for i in range(8)
        ]
    # then beyond the ceiling every guess is refused, whatever the address
    assert codes == [200] * 5 + [429] * 3


# --- item 3: bodies that cannot be read -----------------------------------------------------------------
@pytest.mark.django_db
@pytest.mark.parametrize("path", [QUERY, DECLARE, CORRECT])
@pytest.mark.parametrize("body", ["[" * 2000, '{"a":' * 3000], ids=["arrays", "objects"])
def test_deeply_nested_json_is_a_counted_json_400_with_one_log_line(path, body, caplog):
    caplog.set_level(logging.INFO)
    with override_settings(REST_FRAMEWORK=production_rates(public_address="3/minute")):
        answers = []
        for _ in range(5):
            caplog.clear()
            response = post_raw(path, body, "10.14.5.1")
            answers.append((response.status_code, response["Content-Type"], len(caplog.records)))
    assert answers == [(400, "application/json", 1)] * 3 + [(429, "application/json", 1)] * 2


@pytest.mark.django_db
def test_deeply_nested_json_to_the_token_endpoint_is_a_json_400(caplog):
    caplog.set_level(logging.INFO)
    response = post_raw(TOKEN, "[" * 2000, "10.14.6.1")
    assert (response.status_code, response["Content-Type"], len(caplog.records)) == (400, "application/json", 1)


@pytest.mark.django_db
@pytest.mark.parametrize("path", [QUERY, DECLARE, CORRECT, TOKEN])
def test_a_body_over_the_upload_limit_is_a_json_400(path):
    body = '{"name": "' + "a" * (settings.DATA_UPLOAD_MAX_MEMORY_SIZE + 1) + '"}'
    response = post_raw(path, body, "10.14.7.1")
    assert (response.status_code, response["Content-Type"]) == (400, "application/json")
    assert response.json() == {"detail": "请求体过大。"}


@pytest.mark.django_db
def test_a_nul_in_a_path_segment_is_a_json_400(admin_user):
    api = client()
    api.credentials(HTTP_AUTHORIZATION=f"Token {admin_user.auth_token.key}")
    response = api.get("/api/v1/communities/%00/quarantines/")
    assert (response.status_code, response["Content-Type"]) == (400, "application/json")


@pytest.mark.django_db
def test_a_nul_in_an_admin_filter_or_autocomplete_gives_the_normal_page(admin_user):
    from django.contrib.auth import get_user_model

    root = get_user_model().objects.create_superuser("root14", password="pw-Secret-123")
    browser = Client(raise_request_exception=False)
    browser.force_login(root)
    listed = browser.get("/admin/health/designation/?kind=%00", follow=True)
    completed = browser.get(
        "/admin/autocomplete/?term=%00&app_label=health&model_name=designation&field_name=person", follow=True
    )
    assert listed.status_code == 200 and listed.redirect_chain == [("/admin/health/designation/", 302)]
    assert completed.status_code < 500


@pytest.mark.django_db
def test_a_nul_in_an_entrant_s_community_code_is_a_400_in_the_api_and_the_import(admin_user):
    api = client()
    api.credentials(HTTP_AUTHORIZATION=f"Token {admin_user.auth_token.key}")
    person = factories.person_payload("入境")
    body = {"person": person, "entered_country_on": "2026-11-01", "port": "首都机场", "origin_country": "SG"}
    registered = api.post("/api/v1/entrants/", {**body, "community_code": "C-1\x00"}, format="json")
    imported = api.post(
        "/api/v1/entrants/import/",
        data=(
            f'{{"name": "入境", "id_number": "{person["id_number"]}", "entered_country_on": "2026-11-01", '
            '"port": "p", "origin_country": "SG", "community_code": "C\\u0000"}\n'
        ),
        content_type="application/x-ndjson",
    )
    assert (registered.status_code, list(registered.json())) == (400, ["community_code"])
    assert imported.status_code == 400
    assert imported.json()["rejected"][0]["errors"] == {"community_code": ["不允许是用空字符串。"]}


# --- item 6: an unknown number and a known one with another name do the same work ---------------------
@pytest.mark.django_db
@pytest.mark.parametrize("fast", [True, False], ids=["fast path", "DRF view"])
def test_an_unknown_number_and_a_wrong_name_cost_the_same_queries(fast):
    known = factories.person_payload("李雷")
    person_resolve(**known)
    client().post(QUERY, known, format="json")  # warm: the status row computed, the statement prepared
    unknown = factories.person_payload("李雷")
    # the DRF view answers a request that asks for a JSON answer with a charset (the fast path hands it on)
    accept = {} if fast else {"HTTP_ACCEPT": "application/json; charset=utf-8"}
    queries = {}
    for label, payload in {"unknown": unknown, "wrong name": {**known, "name": "韩梅梅"}}.items():
        with CaptureQueriesContext(connection) as captured:
            response = client().post(QUERY, payload, format="json", **accept)
        assert response.status_code == 200
        digest = id_number_digest(payload["id_number"])
        # (a statement prepared on the server is logged without its text on PostgreSQL)
        queries[label] = [
            re.sub(r"'\d{4}-\d\d-\d\d[ T][\d:.+]+'", "<now>", (query["sql"] or "").replace(digest, "<digest>"))
            for query in captured.captured_queries
        ]
    # then both did the same queries: the one lookup, the merged documents' (docs/identity.md), and the
    # current policy, for the answer of no data
    assert queries["unknown"] == queries["wrong name"]
    assert len(queries["unknown"]) == 3


# --- items 7 and 8: declarations and correction requests ------------------------------------------------
@pytest.mark.django_db
def test_declarations_have_their_own_tighter_budget_that_other_names_do_not_spend():
    owner = factories.person_payload("张三")
    person_resolve(**owner)
    declaration = {"city_codes": ["110000"]}
    with override_settings(REST_FRAMEWORK=production_rates()):
        # a stranger declares with the owner's number and other names, from many addresses
        stranger = [
            client().post(DECLARE, {**owner, "name": f"张{i}", **declaration}, format="json", REMOTE_ADDR=f"10.14.8.{i}")
            for i in range(12)
        ]
        # the owner declares eleven times in the hour
        own = [client().post(DECLARE, {**owner, **declaration}, format="json", REMOTE_ADDR="10.14.9.1") for _ in range(11)]
        query = client().post(QUERY, owner, format="json", REMOTE_ADDR="10.14.9.1")
    assert [response.status_code for response in stranger] == [201] * 12
    # ten an hour for the owner (DECLARATION_THROTTLE_RATE), counted apart from the queries
    assert [response.status_code for response in own] == [201] * 10 + [429]
    assert query.status_code == 200
    assert cache_count(f"throttle_public_id_number_{id_number_digest(owner['id_number'])}") == 12 + 11 + 1


def cache_count(key: str) -> int | None:
    from django.core.cache import cache

    return cache.get(key)


@pytest.mark.django_db
def test_correction_requests_of_a_stranger_who_knows_the_name_do_not_drop_the_owner_s():
    owner = factories.person_payload("张三")
    register(community("C-14"), name=owner["name"], number=owner["id_number"])
    message = {"message": "请核实"}
    with override_settings(REST_FRAMEWORK=production_rates()):
        # a stranger who knows the name and number sends six requests from their address
        stranger = [client().post(CORRECT, {**owner, **message}, format="json", REMOTE_ADDR="10.14.10.1") for _ in range(6)]
        # then the resident sends theirs
        own = client().post(CORRECT, {**owner, "message": "我已解除隔离"}, format="json", REMOTE_ADDR="10.14.10.2")
    assert [response.status_code for response in stranger] == [202] * 5 + [429]
    assert own.status_code == 202
    # every request within a budget is kept, the resident's included
    messages = list(StatusCorrectionRequest.objects.order_by("pk").values_list("message", flat=True))
    assert messages == ["请核实"] * 5 + ["我已解除隔离"]
    assert not ItineraryDeclaration.objects.exists()


# --- item 9: memory from tiny rows ------------------------------------------------------------------------
ONE_CHARACTER_LINES = {
    "csv": b"name,id_number,entered_country_on,port,origin_country\n" + b"a\n" * (4 * 1024 * 1024 - 28),
    "jsonl": b"1\n" * (4 * 1024 * 1024 - 1),
}


def peak_of(call) -> tuple[object, int]:
    import tracemalloc

    tracemalloc.start()
    try:
        result = call()
        return result, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


@pytest.mark.django_db
@pytest.mark.parametrize("feed_format", ["csv", "jsonl"])
def test_an_import_of_8_mb_of_one_character_lines_stops_reading_at_the_row_limit(admin_user, feed_format):
    # given 8 MB of one-character lines (millions of rows; the limit is 10,000)
    content = ONE_CHARACTER_LINES[feed_format]
    assert len(content) <= 8 * 1024 * 1024
    api = client()
    api.credentials(HTTP_AUTHORIZATION=f"Token {admin_user.auth_token.key}")
    media_type = {"csv": "text/csv", "jsonl": "application/x-ndjson"}[feed_format]
    # when it is sent to the import API
    response, peak = peak_of(lambda: api.post("/api/v1/entrants/import/", data=content, content_type=media_type))
    # then it is refused as too large, having read no more than the limit (it took over a gigabyte)
    assert response.status_code == 400
    assert response.json()["file"] == ["文件过大：每个文件最多 10000 行、8 MB，请分批导入。"]
    assert peak < 100 * 1024 * 1024


@pytest.mark.django_db
@pytest.mark.parametrize(("copies", "peak_max"), [(1, 100), (3, 12)], ids=["8 MB", "24 MB"])
def test_import_entrants_reads_a_file_no_further_than_the_limit(tmp_path, copies, peak_max):
    import io

    from django.core.management import CommandError, call_command

    # given a file of one-character lines, within the size limit and over it
    path = tmp_path / "tiny.csv"
    path.write_bytes(ONE_CHARACTER_LINES["csv"] * copies)

    def imported():
        with pytest.raises(CommandError):
            call_command("import_entrants", str(path), stderr=io.StringIO())

    # when it is imported, then it is refused having read no more than the limit (rows, then bytes)
    _none, peak = peak_of(imported)
    assert peak < peak_max * 1024 * 1024
