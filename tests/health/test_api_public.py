"""The public endpoints: one's own status and declaration, answers for strangers, throttling, no caching."""
import copy

import pytest
from django.conf import settings
from django.test import override_settings

from health.identity import id_number_digest
from health.models import ItineraryDeclaration, ItineraryStay, KeptDeclaration, Person, StatusEvent
from health.services.itinerary import StayInput, stays_ingest
from health.services.persons import person_resolve
from tests import factories

from .helpers import STRANGER_REASONS, ago, moment, without_computed_at

QUERY = "/api/v1/status/query/"
DECLARE = "/api/v1/status/declarations/"


def with_beijing_stay(name="张三", **kwargs):
    payload = factories.person_payload(name, **kwargs)
    stays_ingest(
        actor=None,
        stays=[StayInput(payload["name"], payload["id_number"], "110000", moment(ago(days=3)), moment(ago(days=1)))],
    )
    return payload


def rates(rate: str) -> dict:
    framework = copy.deepcopy(settings.REST_FRAMEWORK)
    framework["DEFAULT_THROTTLE_RATES"] = dict.fromkeys(framework["DEFAULT_THROTTLE_RATES"], rate)
    return framework


# --- query ---------------------------------------------------------------------------------------
def test_query_answers_the_stored_status_without_credentials(api, db):
    # given a person with a Beijing platform stay and no declaration
    payload = with_beijing_stay()
    # when they ask for their status
    response = api.post(QUERY, payload, format="json")
    # then the precomputed status comes back, never cached
    assert response.status_code == 200
    assert response.json()["status"] == "popup"
    assert response.json()["label"] == "弹窗"
    assert response.json()["reasons"] == ["P", "itinerary_not_declared"]
    assert set(response.json()) == {"status", "label", "reasons", "valid_until", "computed_at", "pass"}
    assert response["Cache-Control"] == "no-store"


def test_query_for_an_unknown_number_answers_as_a_person_with_no_data(api, db):
    # given a person with no data, and a number nobody has
    known = factories.person_payload("李四")
    person_resolve(**known)
    stranger = factories.person_payload("王五")
    # when both are asked for
    known_answer = api.post(QUERY, known, format="json")
    stranger_answer = api.post(QUERY, stranger, format="json")
    # then the answers are the same, and nobody was created for the stranger
    assert known_answer.status_code == stranger_answer.status_code == 200
    assert without_computed_at(stranger_answer.json()) == without_computed_at(known_answer.json())
    assert stranger_answer.json() == {
        "status": "popup",
        "label": "弹窗",
        "reasons": STRANGER_REASONS,
        "valid_until": None,
        "computed_at": stranger_answer.json()["computed_at"],
        "pass": stranger_answer.json()["pass"],
    }
    assert not Person.objects.filter(id_digest=id_number_digest(stranger["id_number"])).exists()


def test_query_with_another_name_answers_as_a_person_with_no_data(api, db):
    # given a person with a stay in Beijing
    payload = with_beijing_stay("张三")
    # when someone asks with their number and another name
    mismatched = api.post(QUERY, {"name": "李四", "id_number": payload["id_number"]}, format="json")
    stranger = api.post(QUERY, factories.person_payload("李四"), format="json")
    # then nothing of the person shows
    assert mismatched.status_code == 200
    assert without_computed_at(mismatched.json()) == without_computed_at(stranger.json())
    assert mismatched.json()["reasons"] == STRANGER_REASONS


@pytest.mark.parametrize(
    "body, field",
    [
        ({"name": "张三", "id_number": "110105199001010000"}, "id_number"),  # wrong check character
        ({"name": "张三", "id_number": "11010519900101"}, "id_number"),  # too short
        ({"name": "张三", "id_number": "110105199013010011"}, "id_number"),  # no 13th month
        ({"name": "", "id_number": factories.id_number()}, "name"),
        ({"id_number": factories.id_number()}, "name"),
        ({"name": ["张三"], "id_number": factories.id_number()}, "name"),
        ({"name": "张三", "id_number": 110105199001010011}, "id_number"),
    ],
)
def test_query_with_bad_input_is_refused_and_echoes_no_number(api, db, body, field):
    # when the input is invalid
    response = api.post(QUERY, body, format="json")
    # then 400 on that field, the number is not repeated, nobody is created
    assert response.status_code == 400
    assert field in response.json()
    assert str(body.get("id_number", "@@")) not in response.content.decode()
    assert response["Cache-Control"] == "no-store"
    assert Person.objects.count() == 0


def test_malformed_json_is_a_400(api, db):
    response = api.post(QUERY, data='{"name": "张三", "id_number": ', content_type="application/json")
    assert response.status_code == 400
    assert response["Cache-Control"] == "no-store"


def test_query_needs_no_credentials_and_ignores_a_bad_token(api, db):
    # given a caller sending a token that does not exist
    api.credentials(HTTP_AUTHORIZATION="Token not-a-token")
    # when they query
    response = api.post(QUERY, factories.person_payload(), format="json")
    # then the public answer comes back anyway
    assert response.status_code == 200


# --- declaration ----------------------------------------------------------------------------------
def test_declaration_changes_the_status_in_the_same_request(api, db):
    # given a person with a Beijing platform stay (弹窗: not declared)
    payload = with_beijing_stay()
    person = Person.objects.get(id_digest=id_number_digest(payload["id_number"]))
    # when they declare Beijing
    response = api.post(DECLARE, {**payload, "city_codes": ["110000"]}, format="json")
    # then the answer is already 未见异常 by G3, and it is stored with its history
    assert response.status_code == 201
    assert response.json()["status"] == "no_abnormality"
    assert response.json()["label"] == "未见异常"
    assert response.json()["reasons"] == ["G3", "itinerary_verified"]
    assert response["Cache-Control"] == "no-store"
    assert list(ItineraryDeclaration.objects.filter(person=person).values_list("region_codes", flat=True)) == [["110000"]]
    assert person.health_status.status == "no_abnormality"
    assert StatusEvent.objects.filter(person=person).first().new_status == "no_abnormality"
    # and a later query says the same
    assert api.post(QUERY, payload, format="json").json()["reasons"] == ["G3", "itinerary_verified"]


def test_declaration_not_covering_the_stay_fails_verification(api, db):
    # given a person with a Beijing stay
    payload = with_beijing_stay()
    # when they declare Tianjin only
    response = api.post(DECLARE, {**payload, "city_codes": ["120000"]}, format="json")
    # then the itinerary does not match
    assert response.status_code == 201
    assert response.json()["status"] == "popup"
    assert response.json()["reasons"] == ["P", "itinerary_mismatch"]


NO_DATA = ["P", "itinerary_unverifiable", "itinerary_not_declared"]


def test_declaration_of_an_unknown_number_is_kept_and_answers_as_no_data(api, db):
    # given a number nobody has
    payload = factories.person_payload("赵六")
    # when someone declares with it, twice
    first = api.post(DECLARE, {**payload, "city_codes": ["110000", "130100"]}, format="json")
    second = api.post(DECLARE, {**payload, "city_codes": ["110000"]}, format="json")
    # then both answers are exactly a person with no data's, nobody was created, and both declarations
    # are kept by the number's digest and the name (never the number)
    assert first.status_code == second.status_code == 201
    assert first.json()["reasons"] == second.json()["reasons"] == NO_DATA
    assert first.json()["status"] == "popup" and first.json()["valid_until"] is None
    assert not Person.objects.filter(id_digest=id_number_digest(payload["id_number"])).exists()
    assert ItineraryDeclaration.objects.count() == 0
    kept = list(KeptDeclaration.objects.values_list("id_digest", "name", "region_codes"))
    digest = id_number_digest(payload["id_number"])
    assert kept == [(digest, "赵六", ["110000", "130100"]), (digest, "赵六", ["110000"])]


def test_declaration_with_another_name_is_kept_apart_and_reveals_nothing(api, db):
    # given a person with a Beijing stay
    payload = with_beijing_stay("张三")
    person = Person.objects.get(id_digest=id_number_digest(payload["id_number"]))
    status_before = (person.health_status.status, person.health_status.reasons)
    # when someone declares with their number and another name, and a stranger declares the same cities
    mismatched = api.post(DECLARE, {"name": "李四", "id_number": payload["id_number"], "city_codes": ["110000"]}, format="json")
    stranger = api.post(DECLARE, {**factories.person_payload("李四"), "city_codes": ["110000"]}, format="json")
    # then both answers are identical to a person with no data's, and the person's records are untouched
    assert mismatched.status_code == stranger.status_code == 201
    assert without_computed_at(mismatched.json()) == without_computed_at(stranger.json())
    assert mismatched.json()["reasons"] == NO_DATA
    assert ItineraryDeclaration.objects.filter(person=person).count() == 0
    person.health_status.refresh_from_db()
    assert (person.health_status.status, person.health_status.reasons) == status_before
    assert Person.objects.filter(name="张三").count() == 1 and not Person.objects.filter(name="李四").exists()
    assert KeptDeclaration.objects.filter(id_digest=person.id_digest, name="李四").count() == 1


@pytest.mark.parametrize(
    "city_codes, field_errors",
    [
        (["999999"], {"0": ["未知的区划代码。"]}),
        (["110000", "12000"], {"1": ["区划代码应为6位数字。"]}),
        ([], None),
        ("110000", None),
        ([f"{110000 + i}" for i in range(51)], None),
    ],
)
def test_declaration_with_bad_city_codes_is_refused_and_writes_nothing(api, db, city_codes, field_errors):
    payload = factories.person_payload()
    response = api.post(DECLARE, {**payload, "city_codes": city_codes}, format="json")
    assert response.status_code == 400
    assert "city_codes" in response.json()
    if field_errors is not None:
        assert response.json()["city_codes"] == field_errors
    assert Person.objects.count() == 0
    assert ItineraryDeclaration.objects.count() == 0


def test_declaration_with_a_bad_number_writes_nothing(api, db):
    response = api.post(DECLARE, {"name": "张三", "id_number": "110105199001010000", "city_codes": ["110000"]}, format="json")
    assert response.status_code == 400
    assert list(response.json()) == ["id_number"]
    assert ItineraryDeclaration.objects.count() == 0


# --- throttling -----------------------------------------------------------------------------------
def test_public_endpoints_are_throttled_per_address(api, db):
    with override_settings(REST_FRAMEWORK=rates("3/minute")):
        # given three requests from one address, each with another number
        answers = [api.post(QUERY, factories.person_payload(), format="json", REMOTE_ADDR="10.0.0.1").status_code for _ in range(3)]
        # when a fourth comes from the same address, and one from another address
        fourth = api.post(DECLARE, {**factories.person_payload(), "city_codes": ["110000"]}, format="json", REMOTE_ADDR="10.0.0.1")
        other = api.post(QUERY, factories.person_payload(), format="json", REMOTE_ADDR="10.0.0.2")
    # then only the fourth from the first address is refused, and it wrote nothing
    assert answers == [200, 200, 200]
    assert fourth.status_code == 429
    assert fourth["Cache-Control"] == "no-store"
    assert ItineraryDeclaration.objects.count() == 0
    assert other.status_code == 200


def test_public_endpoints_are_throttled_per_id_number_across_addresses(api, db):
    payload = factories.person_payload()
    with override_settings(REST_FRAMEWORK=rates("3/minute")):
        # given three queries of one number from three addresses
        answers = [api.post(QUERY, payload, format="json", REMOTE_ADDR=f"10.0.1.{i}").status_code for i in range(3)]
        # when the same number comes from a fourth address (written another way), and another number too
        fourth = api.post(QUERY, {**payload, "id_number": payload["id_number"].lower()}, format="json", REMOTE_ADDR="10.0.1.9")
        other = api.post(QUERY, factories.person_payload(), format="json", REMOTE_ADDR="10.0.1.10")
    # then the number is refused wherever it comes from; another number is not
    assert answers == [200, 200, 200]
    assert fourth.status_code == 429
    assert other.status_code == 200


def test_the_id_number_throttle_keys_on_the_digest_never_the_number(api, db):
    from django.core.cache import cache

    payload = factories.person_payload()
    with override_settings(REST_FRAMEWORK=rates("5/minute")):
        api.post(QUERY, payload, format="json")
    digest = id_number_digest(payload["id_number"])
    assert cache.get(f"throttle_public_id_number_{digest}") is not None
    assert cache.get(f"throttle_public_id_number_{payload['id_number']}") is None


def test_stays_written_for_the_query_are_unchanged_by_it(api, db):
    # a query is a read: it writes no stays, declarations or persons
    payload = with_beijing_stay()
    api.post(QUERY, payload, format="json")
    assert ItineraryStay.objects.count() == 1
    assert ItineraryDeclaration.objects.count() == 0
    assert Person.objects.count() == 1


# --- the query's cost: one validation, one query, never a stale answer ------------------------
def test_a_fresh_status_is_answered_with_one_query_and_one_validation(api, db, monkeypatch, django_assert_num_queries):
    import health.api.throttling as throttling

    # given a person whose status is stored and fresh
    payload = with_beijing_stay()
    assert api.post(QUERY, payload, format="json").status_code == 200
    calls = []
    clean = throttling.id_number_input_clean
    monkeypatch.setattr(throttling, "id_number_input_clean", lambda raw: calls.append(raw) or clean(raw))
    # when they ask again
    with django_assert_num_queries(1):
        response = api.post(QUERY, payload, format="json")
    # then the stored status comes back from one query, the number validated once (throttle, serializer, lookup)
    assert response.status_code == 200
    assert response.json()["reasons"] == ["P", "itinerary_not_declared"]
    assert calls == [payload["id_number"]]


@pytest.mark.parametrize("stale", [{"dirty": True}, {"dirty": False, "valid_until": moment(ago(seconds=1))}])
def test_a_dirty_or_expired_status_is_recomputed_before_it_is_answered(api, db, stale):
    from health.models import HealthStatus

    # given a person with no data whose stored row says something else and is dirty or past its end
    payload = factories.person_payload("李四")
    person = person_resolve(**payload)
    api.post(QUERY, payload, format="json")
    HealthStatus.objects.filter(person=person).update(status="centralized_observation", reasons=["stale"], **stale)
    # when they ask
    response = api.post(QUERY, payload, format="json")
    # then the answer is recomputed, not the stored one, and the row is clean again
    assert response.json()["status"] == "popup"
    assert response.json()["reasons"] == STRANGER_REASONS
    row = HealthStatus.objects.get(person=person)
    assert (row.status, row.dirty) == ("popup", False)


def test_a_number_with_spaces_and_lower_case_finds_the_same_person(api, db):
    # given a person with a stay in Beijing
    payload = with_beijing_stay("张三")
    # when they type their number with surrounding spaces and a lower-case x
    typed = {"name": " 张三 ", "id_number": f" {payload['id_number'].lower()} "}
    response = api.post(QUERY, typed, format="json")
    # then it is their own status
    assert response.status_code == 200
    assert response.json()["reasons"] == ["P", "itinerary_not_declared"]
