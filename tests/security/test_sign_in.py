"""Staff sign-in: lockouts (django-axes) on the admin and the token endpoint, two factors (django-otp),
short sessions, and the production settings that `check --deploy` holds them to."""
import os
import secrets
import subprocess
import sys
import time
from pathlib import Path

import pytest
from axes.models import AccessAttempt
from django.conf import settings
from django.contrib.sessions.models import Session
from django.utils import timezone
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice
from knox.models import AuthToken

from config.security import SESSION_STARTED_KEY
from tests import factories

ROOT = Path(__file__).resolve().parent.parent.parent
PASSWORD = "pw-Secret-123"  # tests/factories.staff
LOGIN = "/admin/login/?next=/admin/"


def admin_login(client, username, password, **extra):
    return client.post(LOGIN, {"username": username, "password": password, **extra}, REMOTE_ADDR="10.5.0.1")


def token_request(api, username, password):
    return api.post("/api/v1/auth/token/", {"username": username, "password": password}, format="json", REMOTE_ADDR="10.5.0.2")


# --- lockouts --------------------------------------------------------------------------------
def test_the_admin_login_locks_an_account_out_after_five_failures_even_with_the_right_password(client, db):
    # given an administrator
    user = factories.staff("boss", admin=True)
    # when five wrong passwords are tried from one address, then the right one
    failures = [admin_login(client, "boss", "wrong").status_code for _ in range(5)]
    locked = admin_login(client, "boss", PASSWORD)
    # then the fifth failure locks the account out, and the right password is refused too
    assert failures == [200] * 4 + [429]
    assert locked.status_code == 429
    assert "_auth_user_id" not in client.session
    assert AccessAttempt.objects.get(username="boss").failures_since_start == 6  # the refused right one counts too
    # and the same account from another address is not locked out (no one locks a colleague out)
    other = client.post(LOGIN, {"username": "boss", "password": PASSWORD}, REMOTE_ADDR="10.5.9.9")
    assert other.status_code == 302
    assert client.session["_auth_user_id"] == str(user.pk)


def test_the_token_endpoint_is_locked_out_too(api, db):
    # given a staff account
    factories.staff("desk", organisation=factories.organisation("hotel", "H-LOCK"))
    # when five wrong passwords are tried, then the right one
    failures = [token_request(api, "desk", "wrong").status_code for _ in range(5)]
    locked = token_request(api, "desk", PASSWORD)
    # then no token is handed out while locked out
    assert failures == [400] * 5
    assert locked.status_code in (400, 429)
    assert "token" not in locked.json()
    assert AccessAttempt.objects.filter(username="desk").exists()


def test_a_successful_admin_login_resets_the_failure_count(client, db):
    factories.staff("nurse", organisation=factories.department("health"))
    assert [admin_login(client, "nurse", "wrong").status_code for _ in range(4)] == [200] * 4
    assert admin_login(client, "nurse", PASSWORD).status_code == 302
    client.logout()
    # four more failures do not lock the account (the count started again)
    assert [admin_login(client, "nurse", "wrong").status_code for _ in range(4)] == [200] * 4
    assert admin_login(client, "nurse", PASSWORD).status_code == 302


def test_token_failures_are_not_forgiven_by_a_token_success(api, db):
    # a token request is not a login (no session): only the cool-off or an administrator resets the count
    factories.staff("platform-feed", organisation=factories.department("platform"))
    assert [token_request(api, "platform-feed", "wrong").status_code for _ in range(4)] == [400] * 4
    assert token_request(api, "platform-feed", PASSWORD).status_code == 200
    assert token_request(api, "platform-feed", "wrong").status_code == 400
    assert "token" not in token_request(api, "platform-feed", PASSWORD).json()


# --- two factors -----------------------------------------------------------------------------
def device_for(user) -> TOTPDevice:
    return TOTPDevice.objects.create(user=user, name="手机", confirmed=True)


def current_token(device: TOTPDevice) -> str:
    return f"{totp(device.bin_key, step=device.step, t0=device.t0, digits=device.digits, drift=device.drift):0{device.digits}d}"


def test_with_two_factors_required_a_password_alone_does_not_open_the_admin(client, db, settings):
    # given 2FA required and an administrator with a TOTP device
    settings.ADMIN_OTP_REQUIRED = True
    user = factories.staff("boss", admin=True)
    device_for(user)
    # when they log in with the password alone
    response = admin_login(client, "boss", PASSWORD)
    # then the form asks again and the admin stays closed
    assert response.status_code == 200
    assert client.get("/admin/").status_code == 302


def test_with_two_factors_required_a_session_without_a_verified_device_is_not_staff(client, db, settings):
    # given 2FA required and a staff member whose session has no verified device (e.g. a password-only login)
    settings.ADMIN_OTP_REQUIRED = True
    client.force_login(factories.staff("boss", admin=True))
    # when they open the admin, then they are sent to the login page
    response = client.get("/admin/")
    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login/")


def test_with_two_factors_required_the_password_and_a_current_token_open_the_admin(client, db, settings):
    # given 2FA required and an administrator with a TOTP device
    settings.ADMIN_OTP_REQUIRED = True
    user = factories.staff("boss", admin=True)
    device = device_for(user)
    # when they log in with the password and the device's current token
    response = admin_login(client, "boss", PASSWORD, otp_device=device.persistent_id, otp_token=current_token(device))
    # then the admin opens, and a wrong token would not have
    assert response.status_code == 302, response.content.decode()[-2000:]
    assert client.get("/admin/").status_code == 200
    client.logout()
    assert admin_login(client, "boss", PASSWORD, otp_device=device.persistent_id, otp_token="000000").status_code == 200
    assert client.get("/admin/").status_code == 302


def test_without_two_factors_the_demo_admin_opens_with_a_password(client, db, settings):
    settings.ADMIN_OTP_REQUIRED = False
    factories.staff("boss", admin=True)
    assert admin_login(client, "boss", PASSWORD).status_code == 302
    assert client.get("/admin/").status_code == 200


# --- sessions --------------------------------------------------------------------------------
def test_an_idle_session_ends_after_thirty_minutes_and_each_request_extends_it(client, db):
    # given a logged-in administrator
    client.force_login(factories.staff("boss", admin=True))
    assert settings.SESSION_COOKIE_AGE == 30 * 60 and settings.SESSION_SAVE_EVERY_REQUEST
    # when they use the admin, the session's expiry moves to 30 minutes after that request
    assert client.get("/admin/").status_code == 200
    session = Session.objects.get(session_key=client.session.session_key)
    remaining = (session.expire_date - timezone.now()).total_seconds()
    assert 29 * 60 < remaining <= 30 * 60
    # when 30 minutes pass without a request
    Session.objects.filter(pk=session.pk).update(expire_date=timezone.now() - timezone.timedelta(seconds=1))
    # then the session is over
    assert client.get("/admin/").status_code == 302


def test_a_busy_session_still_ends_twelve_hours_after_sign_in(client, db):
    # given a session that started 12 hours and a minute ago and was used all along
    client.force_login(factories.staff("boss", admin=True))
    assert client.get("/admin/").status_code == 200
    session = client.session
    assert settings.SESSION_ABSOLUTE_SECONDS == 12 * 3600
    session[SESSION_STARTED_KEY] = int(time.time()) - 12 * 3600 - 60
    session.save()
    # when it is used again, then it is logged out
    assert client.get("/admin/").status_code == 302
    assert "_auth_user_id" not in client.session


def test_session_cookies_are_http_only(client, db):
    factories.staff("boss", admin=True)
    admin_login(client, "boss", PASSWORD)
    cookie = client.cookies[settings.SESSION_COOKIE_NAME]
    assert cookie["httponly"] is True
    assert cookie["samesite"] == "Lax"


# --- production settings ---------------------------------------------------------------------
def production_env(**extra) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "ADMIN_", "AXES_"))}
    env.update(
        DJANGO_SETTINGS_MODULE="config.settings.production",
        DJANGO_SECRET_KEY=secrets.token_urlsafe(50),
        PERSON_ID_HASH_KEY=secrets.token_urlsafe(40),
        DJANGO_ALLOWED_HOSTS="health.example",
        DATABASE_URL="sqlite:////tmp/never-opened.sqlite3",
        REDIS_URL="redis://127.0.0.1:6379/0",
    )
    env.update(extra)
    return env


def test_the_production_settings_pass_check_deploy_with_warnings_as_failures():
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT, env=production_env(), capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_production_forces_two_factors_secure_cookies_and_short_sessions_whatever_the_environment():
    script = (
        "import django; django.setup(); from django.conf import settings as s; "
        "print(s.ADMIN_OTP_REQUIRED, s.AXES_ENABLED, s.SESSION_COOKIE_SECURE, s.SESSION_COOKIE_HTTPONLY, "
        "s.CSRF_COOKIE_SECURE, s.SESSION_COOKIE_AGE, s.SESSION_SAVE_EVERY_REQUEST, s.SESSION_ABSOLUTE_SECONDS, "
        "s.DEBUG, s.REST_FRAMEWORK['NUM_PROXIES'], s.CACHES['default']['BACKEND'].rsplit('.', 1)[-1])"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, env=production_env(ADMIN_OTP_REQUIRED="0", DJANGO_DEBUG="1"),
        capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["True", "True", "True", "True", "True", "1800", "True", "43200", "False", "0", "RedisCache"]


def test_check_deploy_fails_when_two_factors_are_off():
    # the demo's switch, if it ever reached a production-like deployment, fails the deploy check
    script = (
        "import django; django.setup(); from django.conf import settings; settings.ADMIN_OTP_REQUIRED = False; "
        "from config.checks import health_deploy_checks; print([e.id for e in health_deploy_checks()])"
    )
    result = subprocess.run([sys.executable, "-c", script], cwd=ROOT, env=production_env(), capture_output=True, text=True, timeout=120)
    assert result.stdout.strip() == "['health.W001']", result.stderr


@pytest.mark.django_db
def test_a_token_is_never_handed_out_for_a_locked_account_even_after_the_throttle_window(api):
    clerk = factories.staff("clerk", organisation=factories.organisation("community", "C-LOCK"))
    issued = set(AuthToken.objects.filter(user=clerk).values_list("digest", flat=True))
    for _ in range(5):
        token_request(api, "clerk", "wrong")
    from django.core.cache import cache

    cache.clear()  # the per-address throttle window is over; the lockout is not
    assert "token" not in token_request(api, "clerk", PASSWORD).json()
    assert set(AuthToken.objects.filter(user=clerk).values_list("digest", flat=True)) == issued
