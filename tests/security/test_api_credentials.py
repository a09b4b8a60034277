"""API credentials: staff tokens that end, are revoked with the password, need the second factor;
machine keys that reach only their system's endpoints, rotate and record their last use."""
from datetime import timedelta

import pytest
from axes.models import AccessAttempt
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice
from knox.models import AuthToken

from health.models import MachineKey
from health.services import tokens
from tests import factories
from tests.conftest import CommittingClient

PASSWORD = "pw-Secret-123"  # tests/factories.staff
TOKEN_URL = "/api/v1/auth/token/"
STAYS_URL = "/api/v1/itinerary/stays/"
PERSON_URL = "/api/v1/persons/status/"

pytestmark = pytest.mark.django_db


def token_request(api, username, password=PASSWORD, **extra):
    return api.post(TOKEN_URL, {"username": username, "password": password, **extra}, format="json", REMOTE_ADDR="10.6.0.1")


def with_token(token: str) -> CommittingClient:
    client = CommittingClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    return client


def with_key(key: str) -> CommittingClient:
    client = CommittingClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {key}")
    return client


def current_code(device: TOTPDevice) -> str:
    return f"{totp(device.bin_key, step=device.step, t0=device.t0, digits=device.digits, drift=device.drift):0{device.digits}d}"


def ago(**delta) -> str:
    return (timezone.now() - timedelta(**delta)).isoformat()


def stays_body():
    return {"stays": [{"person": factories.person_payload(), "city_code": "110000", "arrived_at": ago(days=3), "left_at": ago(days=1)}]}


def checkin_body():
    return {
        "person": factories.person_payload("房客"),
        "checked_in_at": ago(hours=2),
        "origin_region_code": "110105",
        "health_management_accepted": True,
        "nat_tests": [],
    }


@pytest.fixture
def clerk():
    return factories.staff("clerk", organisation=factories.organisation("community", "C-T"))


# --- staff tokens ----------------------------------------------------------------------------------
def test_a_token_ends_twelve_hours_after_issue_and_use_does_not_extend_it(api, clerk):
    # when a token is issued
    before = timezone.now()
    response = token_request(api, "clerk")
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"token", "expiry"}
    record = AuthToken.objects.get(token_key=body["token"][:15])
    assert timedelta(hours=12) - timedelta(seconds=5) <= record.expiry - before <= timedelta(hours=12) + timedelta(seconds=5)
    # then it works, and using it does not move its end (not sliding)
    assert with_token(body["token"]).get("/api/v1/communities/C-T/quarantines/").status_code == 200
    assert AuthToken.objects.get(pk=record.pk).expiry == record.expiry
    # and once the end has passed it answers 401 and is gone
    AuthToken.objects.filter(pk=record.pk).update(expiry=timezone.now() - timedelta(seconds=1))
    assert with_token(body["token"]).get("/api/v1/communities/C-T/quarantines/").status_code == 401
    assert not AuthToken.objects.filter(pk=record.pk).exists()


def test_a_request_reads_its_token_once_and_the_account_s_expired_tokens_go_at_the_next_issue(api, clerk):
    # given an account with an expired token beside its current one
    expired, _plain = AuthToken.objects.create(user=clerk)
    AuthToken.objects.filter(pk=expired.pk).update(expiry=timezone.now() - timedelta(hours=1))
    current = token_request(api, "clerk").json()["token"]
    # then issuing the new token removed the expired one (not each request: knox read every token of the
    # account on every request to find them; the check reads the token, its account and organisation once)
    assert not AuthToken.objects.filter(pk=expired.pk).exists()
    with CaptureQueriesContext(connection) as captured:
        assert with_token(current).get("/api/v1/communities/C-T/quarantines/").status_code == 200
    reads = [query["sql"] for query in captured.captured_queries if 'FROM "knox_authtoken"' in query["sql"]]
    assert len(reads) == 1 and '"health_staffmembership"' in reads[0], reads


def test_each_request_gets_a_new_token_and_only_its_digest_is_stored(api, clerk):
    first = token_request(api, "clerk").json()["token"]
    second = token_request(api, "clerk").json()["token"]
    assert first != second
    assert not AuthToken.objects.filter(digest__in=[first, second]).exists()
    assert all(first not in digest and second not in digest for digest in AuthToken.objects.values_list("digest", flat=True))


def test_a_password_change_revokes_every_token_and_the_same_credentials_give_a_new_one(api, clerk):
    old = token_request(api, "clerk").json()["token"]
    # when the password is changed
    clerk.set_password("another-Secret-456")
    clerk.save()
    # then the old token answers 401, and the new password gives a new token that works
    assert with_token(old).get("/api/v1/communities/C-T/quarantines/").status_code == 401
    assert token_request(api, "clerk").status_code == 400
    new = token_request(api, "clerk", "another-Secret-456").json()["token"]
    assert new != old
    assert with_token(new).get("/api/v1/communities/C-T/quarantines/").status_code == 200


def test_a_deactivated_account_loses_its_tokens(api, clerk):
    token = token_request(api, "clerk").json()["token"]
    clerk.is_active = False
    clerk.save()
    assert not AuthToken.objects.filter(user=clerk).exists()
    assert with_token(token).get("/api/v1/communities/C-T/quarantines/").status_code == 401


def test_a_sign_in_that_only_updates_last_login_keeps_the_tokens(api, client, clerk):
    token = token_request(api, "clerk").json()["token"]
    client.post("/admin/login/?next=/admin/", {"username": "clerk", "password": PASSWORD}, REMOTE_ADDR="10.6.0.2")
    clerk.refresh_from_db()
    assert clerk.last_login is not None
    assert with_token(token).get("/api/v1/communities/C-T/quarantines/").status_code == 200


@pytest.mark.parametrize(
    ("header", "answer"),
    [
        ("Token abc", 401),
        # A NUL anywhere in a request is refused as bad input before anyone is authenticated.
        ("Token " + "0" * 63 + "\x00", 400),
        ("Token " + "g" * 64, 401),
        ("Token a b", 401),
    ],
)
def test_a_malformed_token_is_a_401_never_a_500(api, header, answer):
    assert api.get("/api/v1/communities/C-T/quarantines/", HTTP_AUTHORIZATION=header).status_code == answer


def test_an_account_with_a_device_needs_its_current_code(api, clerk):
    device = TOTPDevice.objects.create(user=clerk, name="手机", confirmed=True)
    # without the code, or with a wrong one: 400 on otp_token, no token
    issued = AuthToken.objects.filter(user=clerk).count()
    missing = token_request(api, "clerk")
    assert missing.status_code == 400 and "otp_token" in missing.json()
    wrong = token_request(api, "clerk", otp_token="000000" if current_code(device) != "000000" else "111111")
    assert wrong.status_code == 400 and "otp_token" in wrong.json()
    assert AuthToken.objects.filter(user=clerk).count() == issued
    # with the current code: a token
    device.refresh_from_db()
    device.throttling_failure_timestamp = None
    device.throttling_failure_count = 0
    device.save()
    good = token_request(api, "clerk", otp_token=current_code(device))
    assert good.status_code == 200, good.content
    assert with_token(good.json()["token"]).get("/api/v1/communities/C-T/quarantines/").status_code == 200


def test_wrong_codes_count_towards_the_lockout(api, clerk, settings):
    device = TOTPDevice.objects.create(user=clerk, name="手机", confirmed=True)
    wrong = "000000" if current_code(device) != "000000" else "111111"
    for _ in range(settings.AXES_FAILURE_LIMIT):
        assert token_request(api, "clerk", otp_token=wrong).status_code == 400
    assert AccessAttempt.objects.filter(username="clerk").exists()
    # then the right password and code are refused too (locked out)
    TOTPDevice.objects.filter(pk=device.pk).update(throttling_failure_count=0, throttling_failure_timestamp=None)
    device.refresh_from_db()
    assert "token" not in token_request(api, "clerk", otp_token=current_code(device)).json()


def test_with_second_factor_required_an_account_without_a_device_gets_no_token(api, clerk, settings):
    settings.API_TOKEN_OTP_REQUIRED = True
    response = token_request(api, "clerk")
    assert response.status_code == 400 and "otp_token" in response.json()


def test_an_administrator_lists_and_revokes_tokens_in_the_admin(client, clerk):
    administrator = factories.staff("boss", admin=True)
    token = tokens.api_token_issue(user=clerk)[1]
    record = AuthToken.objects.get(token_key=token[:15])
    client.force_login(administrator)
    listing = client.get("/admin/knox/authtoken/")
    assert listing.status_code == 200 and "clerk" in listing.content.decode()
    response = client.post(
        "/admin/knox/authtoken/", {"action": "revoke_selected", "_selected_action": [record.pk]}, follow=True
    )
    assert response.status_code == 200
    assert not AuthToken.objects.filter(pk=record.pk).exists()
    assert with_token(token).get("/api/v1/communities/C-T/quarantines/").status_code == 401


def test_members_cannot_see_the_token_list(client, clerk):
    client.force_login(clerk)
    assert client.get("/admin/knox/authtoken/").status_code == 403
    assert client.get("/admin/health/machinekey/").status_code == 403


# --- machine keys ----------------------------------------------------------------------------------
@pytest.fixture
def platform_system():
    return factories.staff("platform-feed", organisation=factories.department("platform"))


@pytest.fixture
def hotel_system():
    return factories.staff("pms-h1", organisation=factories.organisation("hotel", "H-K1"))


def test_the_platforms_key_reaches_the_stays_feed_only(platform_system):
    machine_key, key = tokens.machine_key_create(user=platform_system, name="平台推送")
    client = with_key(key)
    assert client.post(STAYS_URL, stays_body(), format="json").status_code == 201
    # any other endpoint, even one the account itself could call, answers 403
    assert client.post(PERSON_URL, {"id_number": factories.id_number()}, format="json").status_code == 403
    assert client.get("/api/v1/communities/C-T/quarantines/").status_code == 403
    assert client.post("/api/v1/designations/", {}, format="json").status_code == 403
    # and the use is recorded
    machine_key.refresh_from_db()
    assert machine_key.last_used_at is not None


def test_a_hotels_key_reaches_its_own_check_ins_only(hotel_system):
    other = factories.organisation("hotel", "H-K2")
    _machine_key, key = tokens.machine_key_create(user=hotel_system, name="前台系统")
    client = with_key(key)
    created = client.post("/api/v1/hotels/H-K1/checkins/", checkin_body(), format="json")
    assert created.status_code == 201, created.content
    checkin = created.json()["id"]
    assert client.get("/api/v1/hotels/H-K1/checkins/").status_code == 200
    assert client.post(f"/api/v1/checkins/{checkin}/checkout/", {}, format="json").status_code == 200
    # another hotel's check-ins: as for the account, 404; the feed and the staff read: 403
    assert client.post(f"/api/v1/hotels/{other.code}/checkins/", checkin_body(), format="json").status_code == 404
    assert client.post(STAYS_URL, stays_body(), format="json").status_code == 403
    assert client.post(PERSON_URL, {"id_number": factories.id_number()}, format="json").status_code == 403


def test_keys_are_only_for_systems_of_the_platform_or_a_hotel(clerk):
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError):
        tokens.machine_key_create(user=clerk, name="社区")
    assert not MachineKey.objects.exists()


def test_a_revoked_or_expired_key_or_a_deactivated_system_answers_401(platform_system):
    machine_key, key = tokens.machine_key_create(user=platform_system, name="平台推送")
    tokens.machine_key_revoke(machine_key=machine_key)
    assert with_key(key).post(STAYS_URL, stays_body(), format="json").status_code == 401
    expired, expired_key = tokens.machine_key_create(user=platform_system, name="旧", expiry_date=timezone.now() - timedelta(seconds=1))
    assert with_key(expired_key).post(STAYS_URL, stays_body(), format="json").status_code == 401
    _live, live_key = tokens.machine_key_create(user=platform_system, name="新")
    platform_system.is_active = False
    platform_system.save()
    assert with_key(live_key).post(STAYS_URL, stays_body(), format="json").status_code == 401


def test_a_rotated_key_works_through_the_grace_period_then_ends(platform_system, settings):
    old, old_key = tokens.machine_key_create(user=platform_system, name="平台推送")
    new, new_key = tokens.machine_key_rotate(machine_key=old)
    old.refresh_from_db()
    assert new.rotated_from_id == old.pk and new.name == old.name
    assert old.expiry_date is not None
    assert timedelta(hours=settings.MACHINE_KEY_ROTATION_GRACE_HOURS - 1) < old.expiry_date - timezone.now()
    assert with_key(new_key).post(STAYS_URL, stays_body(), format="json").status_code == 201
    assert with_key(old_key).post(STAYS_URL, stays_body(), format="json").status_code == 201
    MachineKey.objects.filter(pk=old.pk).update(expiry_date=timezone.now() - timedelta(seconds=1))
    assert with_key(old_key).post(STAYS_URL, stays_body(), format="json").status_code == 401
    assert with_key(new_key).post(STAYS_URL, stays_body(), format="json").status_code == 201


@pytest.mark.parametrize(
    ("key", "answer"),
    [
        ("", 401),
        ("nodot", 401),
        ("abcdefgh." + "x" * 31, 401),
        ("abc\x00defg." + "x" * 32, 400),  # a NUL: refused as bad input before authentication
        ("abcdefgh." + "x" * 32, 401),
    ],
)
def test_a_malformed_or_unknown_key_is_a_401_never_a_500(api, key, answer):
    response = api.post(STAYS_URL, stays_body(), format="json", HTTP_AUTHORIZATION=f"Api-Key {key}")
    assert response.status_code == answer


def test_an_administrator_makes_rotates_and_revokes_keys_in_the_admin(client, platform_system):
    administrator = factories.staff("boss", admin=True)
    client.force_login(administrator)
    # when a key is made in the admin, it is shown once in a message
    response = client.post(
        "/admin/health/machinekey/add/", {"user": platform_system.pk, "name": "平台推送", "expiry_date": ""}, follow=True
    )
    assert response.status_code == 200
    shown = [str(message) for message in response.context["messages"]]
    key = next(message.rsplit("：", 1)[1] for message in shown if "只显示这一次" in message)
    machine_key = MachineKey.objects.get(user=platform_system)
    assert key.startswith(machine_key.prefix + ".")
    assert key not in machine_key.hashed_key and key not in machine_key.pk
    assert with_key(key).post(STAYS_URL, stays_body(), format="json").status_code == 201
    # then the list shows its last use
    listing = client.get("/admin/health/machinekey/").content.decode()
    assert "最近使用时间" in listing and machine_key.prefix in listing
    # rotate: a new key is shown, both work during the grace period
    response = client.post(
        "/admin/health/machinekey/", {"action": "rotate_selected", "_selected_action": [machine_key.pk]}, follow=True
    )
    rotated = next(str(m).rsplit("：", 1)[1] for m in response.context["messages"] if "只显示这一次" in str(m))
    assert rotated != key
    assert with_key(rotated).post(STAYS_URL, stays_body(), format="json").status_code == 201
    # revoke: the key ends at once
    client.post("/admin/health/machinekey/", {"action": "revoke_selected", "_selected_action": [machine_key.pk]})
    assert with_key(key).post(STAYS_URL, stays_body(), format="json").status_code == 401
    assert with_key(rotated).post(STAYS_URL, stays_body(), format="json").status_code == 201


def test_the_admin_refuses_a_key_for_an_account_that_is_not_a_system(client, clerk):
    administrator = factories.staff("boss", admin=True)
    client.force_login(administrator)
    response = client.post("/admin/health/machinekey/add/", {"user": clerk.pk, "name": "社区", "expiry_date": ""})
    assert response.status_code == 200  # the form again
    assert not MachineKey.objects.exists()
