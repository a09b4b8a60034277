"""The status query's fast path answers exactly as the DRF view would, and hands on everything else."""

import json

import pytest
from django.core.cache import cache
from django.test import RequestFactory, override_settings
from django.utils import timezone, translation

from health.api import status_query
from health.api.views import StatusQueryView
from health.identity import id_number_digest
from health.services.itinerary import StayInput, stays_ingest
from tests import factories

from .helpers import ago, moment
from .test_api_public import QUERY, rates, with_beijing_stay

DRF_VIEW = StatusQueryView.as_view()


@pytest.fixture(autouse=True)
def frozen(monkeypatch):
    """One clock for both answers: a stranger's answer is computed at the moment it is asked."""
    from django.utils import timezone

    moment = timezone.now()
    monkeypatch.setattr(timezone, "now", lambda: moment)
    return moment


def request_of(body, *, content_type="application/json", address="10.9.0.1", **headers):
    data = body if isinstance(body, bytes | str) else json.dumps(body, ensure_ascii=False)
    return RequestFactory().post(QUERY, data=data, content_type=content_type, REMOTE_ADDR=address, **headers)


def drf_answer(body, **kwargs):
    response = DRF_VIEW(request_of(body, **kwargs))
    response.render()
    return response


def same_answer(fast, drf) -> None:
    assert fast.status_code == drf.status_code
    if fast["Content-Type"].startswith("text/html"):
        # The browsable API's page carries a fresh CSRF token each time.
        assert drf["Content-Type"].startswith("text/html")
    else:
        assert fast.content == drf.content
    for header in ("Content-Type", "Allow", "Vary", "Cache-Control"):
        assert fast.get(header) == drf.get(header), header


@pytest.mark.parametrize(("language", "zone"), [("zh-hans", "Asia/Shanghai"), ("en", "UTC")])
def test_the_fast_answer_is_the_drf_view_s_answer_byte_for_byte(db, language, zone):
    # given a known person, a stranger and a known number with another name
    known = with_beijing_stay()
    stranger = factories.person_payload("王五")
    other_name = {**known, "name": "李四"}
    spelled = {"name": f"  {known['name']} ", "id_number": f" {known['id_number'].lower()} "}
    # a known person whose status ends at a time (valid_until set), in another time zone too
    expiring = factories.person_payload("赵六")
    stays_ingest(
        actor=None,
        stays=[
            StayInput(
                expiring["name"],
                expiring["id_number"],
                "110000",
                moment(ago(days=13)),
                moment(ago(days=13, seconds=-60)),
            )
        ],
    )
    with translation.override(language), timezone.override(zone):
        for body in (known, stranger, other_name, spelled, {**known, "extra": [1, 2]}, expiring):
            # when the fast path and the DRF view answer the same request
            fast = status_query.answer(request_of(body))
            drf = drf_answer(body)
            # then they are the same answer (status, body, headers), in the active language
            assert fast is not None, body
            same_answer(fast, drf)
    assert json.loads(fast.content)["label"] == ("Pop-up" if language == "en" else "弹窗")
    assert json.loads(fast.content)["valid_until"].endswith("Z" if zone == "UTC" else "+08:00")


@pytest.mark.parametrize(
    ("case", "kwargs"),
    [
        ("form data", {"content_type": "application/x-www-form-urlencoded"}),
        (
            "another charset",
            {
                "content_type": "application/json; charset=latin-1",
                "body": {"name": "Li Si", "id_number": "11010519491231002X"},
            },
        ),
        ("HTML wanted", {"HTTP_ACCEPT": "text/html"}),
        ("malformed JSON", {"body": b'{"name": '}),
        ("NaN", {"body": '{"name": "张三", "id_number": "11010519491231002X", "x": NaN}'}),
        ("a list", {"body": [1, 2]}),
        ("name a number", {"body": {"name": 5, "id_number": "11010519491231002X"}}),
        ("blank name", {"body": {"name": "  ", "id_number": "11010519491231002X"}}),
        ("long name", {"body": {"name": "张" * 65, "id_number": "11010519491231002X"}}),
        ("NUL in the name", {"body": {"name": "张\x00三", "id_number": "11010519491231002X"}}),
        ("no number", {"body": {"name": "张三"}}),
        ("a large body", {"body": {"name": "张三", "id_number": "11010519491231002X", "padding": "x" * 5000}}),
        ("UTF-16", {"body": '{"name": "Li", "id_number": "11010519491231002X"}'.encode("utf-16")}),
        ("bad check character", {"body": {"name": "张三", "id_number": "110105194912310021"}}),
    ],
)
def test_anything_unusual_is_handed_to_the_drf_view(db, case, kwargs):
    body = kwargs.pop("body", factories.person_payload())
    # the fast path declines ...
    assert status_query.answer(request_of(body, **kwargs)) is None, case
    # ... and the routed view gives the DRF view's answer
    if "content_type" not in kwargs or "charset" in kwargs.get("content_type", ""):
        routed = status_query.status_query_view()(request_of(body, **kwargs))
        routed.render()
        same_answer(routed, drf_answer(body, **kwargs))
        assert routed.status_code in (200, 400)


def test_a_request_is_counted_once_whichever_path_answers(db):
    payload = factories.person_payload()
    view = status_query.status_query_view()
    with override_settings(REST_FRAMEWORK=rates("2/minute")):
        # given two answered queries of one number
        codes = [view(request_of(payload)).status_code for _ in range(2)]
        # when a third comes (fast path: counted, over the limit, answered by the DRF view)
        third = view(request_of(payload))
        third.render()
    # then it is refused with the contract's 429, and each counter counted each request once
    assert codes == [200, 200]
    assert third.status_code == 429
    assert third["Retry-After"] == "60"
    assert third["Cache-Control"] == "no-store"
    assert cache.get(f"throttle_public_id_number_{id_number_digest(payload['id_number'])}") == 3
    assert cache.get("throttle_public_address_10.9.0.1") == 3


def test_an_invalid_request_is_counted_once_per_address(db):
    view = status_query.status_query_view()
    response = view(request_of({"name": "张三", "id_number": "123"}))
    response.render()
    assert response.status_code == 400
    assert cache.get("throttle_public_address_10.9.0.1") == 1


def test_the_common_request_builds_no_drf_request(db, monkeypatch, django_assert_num_queries):
    from rest_framework import request as drf_request

    payload = with_beijing_stay()
    view = status_query.status_query_view()
    assert view(request_of(payload)).status_code == 200

    def refuse(*args, **kwargs):
        raise AssertionError("the fast path built a DRF request")

    monkeypatch.setattr(drf_request.Request, "__init__", refuse)
    # a fresh status: one query, no DRF machinery
    with django_assert_num_queries(1):
        response = view(request_of(payload))
    assert response.status_code == 200


def test_the_schema_still_documents_the_endpoint(db):
    from drf_spectacular.generators import SchemaGenerator

    schema = SchemaGenerator().get_schema(request=None, public=True)
    operation = schema["paths"]["/api/v1/status/query/"]["post"]
    assert set(operation["responses"]) >= {"200", "400", "429"}
    assert operation["operationId"]
