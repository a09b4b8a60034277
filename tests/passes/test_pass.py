"""The signed pass (issue 17, docs/pass.md): issuing, every claim, refusals, keys, rotation, expiry, the check."""
from __future__ import annotations

import zlib
from datetime import UTC, datetime, timedelta

import base45
import cbor2
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone

from health.models import HealthStatus
from health.passes import issue, keys
from health.passes.models import PassKey
from health.passes.verify import Refusal, verify_pass
from tests import factories
from tests.health.test_api_public import DECLARE, QUERY, with_beijing_stay

BEIJING_MIDNIGHT = datetime(2026, 12, 4, 0, 0, tzinfo=UTC) - timedelta(hours=8)  # 2026-12-04 00:00 Beijing


def issued(api, payload=None) -> tuple[dict, dict]:
    payload = payload or with_beijing_stay("张三")
    answer = api.post(QUERY, payload, format="json").json()
    return payload, answer


def cose(text: str) -> list:
    return cbor2.loads(zlib.decompress(base45.b45decode(text[4:])))


def foreign_signer(kid: bytes | None = None) -> keys.Signer:
    pem = keys.new_private_pem()
    signer = keys.signer_from_pem(pem)
    if kid is None:
        return signer
    from cwt import COSEKey

    return keys.Signer(kid=kid, key=COSEKey.from_pem(pem, kid=kid, alg="ES256"), public_key=signer.public_key)


def claims_like(answer_text: str) -> dict:
    return cbor2.loads(cose(answer_text).value[2] if isinstance(cose(answer_text), cbor2.CBORTag) else cose(answer_text)[2])


# --- the round trip and every claim -----------------------------------------------------------
def test_a_query_answer_carries_a_pass_that_verifies_with_every_claim(api, db):
    payload, answer = issued(api)
    text = answer["pass"]["text"]
    assert text.startswith("HK1:")
    verified = verify_pass(text)
    assert verified.ok and verified.refusal is None
    claims = verified.claims
    signer = keys.current_signer()
    assert claims[1] == "health-kit"  # iss
    assert abs(claims[6] - timezone.now().timestamp()) < 5  # iat
    assert claims[5] == claims[6]  # nbf
    assert set(claims) == {1, 4, 5, 6, issue.PAYLOAD_CLAIM}
    assert claims[4] == int(datetime.fromisoformat(answer["pass"]["expires_at"]).timestamp())  # exp
    assert verified.kid == signer.kid_text
    message = cose(text)
    assert message.tag == 18  # COSE_Sign1
    assert cbor2.loads(message.value[0]) == {1: -7}  # alg ES256 (protected)
    assert message.value[1] == {4: signer.kid}  # kid: 8 bytes (unprotected)
    assert len(message.value[3]) == 64  # r || s
    assert set(verified.payload) == {"v", "s", "l", "n", "d", "h"}
    assert verified.payload["s"] == answer["status"] == "popup"
    assert verified.payload["l"] == "弹窗"
    assert verified.payload["n"] == "张*"
    assert verified.payload["d"] == payload["id_number"][:6] + "********" + payload["id_number"][-4:]
    assert verified.payload["v"] == HealthStatus.objects.get().policy_version
    assert issue.holder_person_id(verified.payload["h"]) == HealthStatus.objects.get().person_id
    # the number itself is nowhere in the pass
    assert payload["id_number"].encode() not in zlib.decompress(base45.b45decode(text[4:]))
    assert answer["pass"]["qr_svg"].startswith("/api/v1/passes/qr/?t=HK1%3A")


def test_the_declaration_answer_carries_a_pass_of_its_new_status(api, db):
    payload = with_beijing_stay("张三")
    answer = api.post(DECLARE, {**payload, "city_codes": ["110000"]}, format="json").json()
    verified = verify_pass(answer["pass"]["text"])
    assert verified.ok and verified.payload["s"] == answer["status"]


def test_a_stranger_gets_a_pass_of_the_no_data_answer_made_the_same_way(api, db):
    stranger = factories.person_payload("王五")
    answer = api.post(QUERY, stranger, format="json").json()
    verified = verify_pass(answer["pass"]["text"])
    assert verified.ok
    assert verified.payload["s"] == answer["status"] and verified.payload["n"] == "王*"
    assert len(verified.payload["h"]) == 16 and issue.holder_person_id(verified.payload["h"]) is None
    known = verify_pass(issued(api)[1]["pass"]["text"])
    assert set(known.payload) == set(verified.payload) and set(known.claims) == set(verified.claims)


def test_the_same_answer_gets_the_same_pass_and_a_changed_one_a_new_pass(api, db):
    payload, first = issued(api)
    _, again = issued(api, payload)
    assert again["pass"] == first["pass"]
    changed = api.post(DECLARE, {**payload, "city_codes": ["110000"]}, format="json").json()
    assert changed["status"] != first["status"]
    assert changed["pass"]["text"] != first["pass"]["text"]


# --- refusals -----------------------------------------------------------------------------------
def test_a_tampered_byte_is_refused(api, db):
    _, answer = issued(api)
    data = bytearray(zlib.decompress(base45.b45decode(answer["pass"]["text"][4:])))
    data[-70] ^= 0x01  # a byte of the payload
    tampered = "HK1:" + base45.b45encode(zlib.compress(bytes(data))).decode()
    assert verify_pass(tampered).refusal == Refusal.FORGED
    signature = bytearray(data)
    signature[-70] ^= 0x01
    signature[-1] ^= 0x01  # a byte of the signature
    assert verify_pass("HK1:" + base45.b45encode(zlib.compress(bytes(signature))).decode()).refusal == Refusal.FORGED
    for junk in ["", "HK1:", "HK1:!!", "HC1:" + answer["pass"]["text"][4:], answer["pass"]["text"][:-3]]:
        assert verify_pass(junk).refusal in (Refusal.MALFORMED, Refusal.FORGED)


def test_an_expired_pass_is_refused(api, db):
    _, answer = issued(api)
    expires = datetime.fromisoformat(answer["pass"]["expires_at"])
    assert verify_pass(answer["pass"]["text"], now=expires - timedelta(seconds=1)).ok
    late = verify_pass(answer["pass"]["text"], now=expires)
    assert late.refusal == Refusal.EXPIRED and late.authentic and not late.ok


def _pass_signed_by(signer: keys.Signer) -> str:
    now = int(timezone.now().timestamp())
    payload = {"v": 1, "s": "no_abnormality", "l": "未见异常", "n": "张*", "d": "110105********002X", "h": bytes(16)}
    return issue.encode({1: "health-kit", 6: now, 4: now + 600, issue.PAYLOAD_CLAIM: payload}, signer)


def test_a_pass_of_an_unknown_key_is_refused(db):
    assert verify_pass(_pass_signed_by(foreign_signer())).refusal == Refusal.UNKNOWN_KEY


def test_a_pass_signed_by_a_key_that_is_not_ours_under_our_key_id_is_refused(db):
    ours = keys.current_registered()
    forged = _pass_signed_by(foreign_signer(kid=keys.b64url_decode(ours.kid)))
    assert verify_pass(forged).refusal == Refusal.FORGED
    assert verify_pass(_pass_signed_by(keys.current_signer())).ok


def test_a_revoked_key_is_off_the_list_at_once_and_its_passes_refused(api, db):
    _, answer = issued(api)
    old = keys.current_signer().kid_text
    call_command("pass_keys", "revoke", old)
    assert verify_pass(answer["pass"]["text"]).refusal == Refusal.REVOKED_KEY
    listed = api.get("/api/v1/passes/keys/").json()
    assert old not in [key["kid"] for key in listed["keys"]]
    # embedded mode: revoking the key in use rotated to a new one, which signs the next answer
    _, again = issued(api)
    assert verify_pass(again["pass"]["text"]).ok and verify_pass(again["pass"]["text"]).kid != old
    with pytest.raises(CommandError):
        call_command("pass_keys", "revoke", "nope")


def test_rotation_keeps_old_passes_valid_until_they_expire(api, db, settings):
    _, before = issued(api)
    old = keys.current_signer().kid_text
    call_command("pass_keys", "rotate")
    payload2, after = issued(api, factories.person_payload("李四"))
    assert verify_pass(after["pass"]["text"]).kid != old
    assert verify_pass(before["pass"]["text"]).ok
    listed = {key["kid"]: key for key in api.get("/api/v1/passes/keys/").json()["keys"]}
    assert set(listed) == {old, keys.current_signer().kid_text}
    retired = PassKey.objects.get(kid=old)
    assert retired.retired_at is not None
    valid_to = datetime.fromisoformat(listed[old]["valid_to"])
    assert valid_to == retired.retired_at + timedelta(seconds=settings.PASS_TTL + settings.PASS_ROTATION_GRACE)
    assert valid_to > datetime.fromisoformat(before["pass"]["expires_at"])
    # once every pass it signed has expired, the old key is no longer published
    assert old not in [key.kid for key in keys.published(now=valid_to + timedelta(seconds=1))]


def test_a_rotation_right_after_the_first_key_is_made_retires_it(db):
    first = keys.current_registered()
    call_command("pass_keys", "rotate")
    assert PassKey.objects.get(kid=first.kid).retired_at is not None
    assert PassKey.objects.get(kid=keys.current_signer().kid_text).retired_at is None


def test_production_rotation_prints_a_key_and_publishes_it_ahead(db, settings, capsys):
    settings.PASS_SIGNING_KEY = keys.new_private_pem().decode()
    keys.reset()
    current = keys.current_registered()
    row, pem = keys.rotate()
    assert pem is not None and row.kid != current.kid
    assert {key.kid for key in keys.published()} == {current.kid, row.kid}
    settings.PASS_SIGNING_KEY = pem.decode()
    keys.reset()
    keys.current_registered()
    assert PassKey.objects.get(kid=current.kid).retired_at is not None


# --- expiry: the earliest of valid_until, the next Beijing midnight and PASS_TTL -------------------------
@pytest.mark.parametrize(
    ("now", "expected"),
    [
        (BEIJING_MIDNIGHT - timedelta(minutes=1), BEIJING_MIDNIGHT),  # 23:59 -> 00:00
        (BEIJING_MIDNIGHT + timedelta(minutes=1), BEIJING_MIDNIGHT + timedelta(hours=4, minutes=1)),  # 00:01 -> 04:01
    ],
)
def test_expiry_around_beijing_midnight(now, expected):
    assert issue.expiry(None, now=now) == expected
    assert issue.expiry(now + timedelta(minutes=30), now=now) == min(expected, now + timedelta(minutes=30))


def test_a_pass_issued_at_2359_expires_at_midnight_and_is_not_reused_after(db):
    status = HealthStatus(status="popup", reasons=["P"], valid_until=None, policy_version=1)
    number = factories.person_payload()["id_number"]
    late = issue.pass_for(status, name="张三", id_number=number, id_digest="d", now=BEIJING_MIDNIGHT - timedelta(minutes=1))
    assert late.expires_at == BEIJING_MIDNIGHT
    after = issue.pass_for(status, name="张三", id_number=number, id_digest="d", now=BEIJING_MIDNIGHT + timedelta(minutes=1))
    assert after.text != late.text and after.expires_at == BEIJING_MIDNIGHT + timedelta(hours=4, minutes=1)


# --- the endpoints --------------------------------------------------------------------------------
def test_the_keys_endpoint_publishes_jwks_cacheable_for_a_day(api, db):
    response = api.get("/api/v1/passes/keys/")
    assert response.status_code == 200
    assert response["Cache-Control"] == "public, max-age=86400"
    (key,) = response.json()["keys"]
    assert key["jwk"]["kty"] == "EC" and key["jwk"]["crv"] == "P-256" and key["jwk"]["alg"] == "ES256"
    assert key["kid"] == key["jwk"]["kid"] == keys.current_signer().kid_text and key["valid_to"] is None
    public = keys.current_signer().public_key.public_numbers()
    assert keys.b64url_decode(key["jwk"]["x"]) == public.x.to_bytes(32, "big")


def test_the_qr_endpoint_draws_a_pass_and_refuses_anything_else(api, db):
    _, answer = issued(api)
    response = api.get(answer["pass"]["qr_svg"])
    assert response.status_code == 200 and response["Content-Type"] == "image/svg+xml"
    assert response.content.startswith(b"<svg")
    assert api.get("/api/v1/passes/qr/?t=hello").status_code == 400
    assert api.get("/api/v1/passes/qr/").status_code == 400


def test_the_online_check_answers_authenticity_and_the_current_status(api, db):
    payload, answer = issued(api)
    checked = api.post("/api/v1/passes/check/", {"text": answer["pass"]["text"]}, format="json")
    assert checked.status_code == 200
    body = checked.json()
    assert body["authentic"] and body["valid"] and body["refusal"] is None
    assert body["pass"]["status"] == "popup" and body["pass"]["name"] == "张*"
    assert body["current"]["status"] == "popup"
    # the holder declares: the old pass still says popup, the check tells the change
    api.post(DECLARE, {**payload, "city_codes": ["110000"]}, format="json")
    body = api.post("/api/v1/passes/check/", {"text": answer["pass"]["text"]}, format="json").json()
    assert body["pass"]["status"] == "popup" and body["current"]["status"] != "popup"
    # a stranger's pass: the no-data answer
    stranger = api.post(QUERY, factories.person_payload("王五"), format="json").json()
    body = api.post("/api/v1/passes/check/", {"text": stranger["pass"]["text"]}, format="json").json()
    assert body["valid"] and body["current"]["status"] == stranger["status"]


def test_the_online_check_refuses_clearly_and_bad_input_is_a_400(api, db):
    forged = api.post("/api/v1/passes/check/", {"text": _pass_signed_by(foreign_signer())}, format="json").json()
    assert forged == {"authentic": False, "valid": False, "refusal": "unknown_key", "pass": None, "current": None}
    for body in [{}, {"text": 5}, {"text": "x" * 5000}, {"text": "\x00"}]:
        assert api.post("/api/v1/passes/check/", body, format="json").status_code == 400
    assert api.post("/api/v1/passes/check/", b"{", content_type="application/json").status_code == 400


def test_verify_pass_command(api, db, capsys):
    _, answer = issued(api)
    call_command("verify_pass", answer["pass"]["text"])
    assert "valid: 弹窗 (popup)" in capsys.readouterr().out
    with pytest.raises(CommandError, match="forged|malformed"):
        call_command("verify_pass", answer["pass"]["text"][:-2] + "00")


def test_a_pass_is_made_from_a_p256_key_only(tmp_path):
    other = ec.generate_private_key(ec.SECP384R1()).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    with pytest.raises(ValueError, match="P-256"):
        keys.signer_from_pem(other)


def test_the_verify_page_and_its_service_worker_are_public_and_load_nothing_from_elsewhere(client, db):
    page = client.get("/verify/")
    assert page.status_code == 200 and "通行凭证核验" in page.content.decode()
    html = page.content.decode()
    assert 'data-keys="/api/v1/passes/keys/"' in html and "/static/passes/verify.js" in html
    assert "//" not in html.split("<script", 1)[1].split(">", 1)[0].replace('src="/', "")  # no CDN
    worker = client.get("/verify/sw.js")
    assert worker.status_code == 200 and worker["Content-Type"].startswith("text/javascript")
    assert worker["Service-Worker-Allowed"] == "/verify/"
    assert "/api/v1/passes/keys/" in worker.content.decode()
