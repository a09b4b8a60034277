"""The create_staff command: creates, then updates, never prints secrets, refuses unknown organisations."""
from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command

from health.models import StaffMembership
from tests import factories

PASSWORD = "Xk7-long-enough-pw"


def run(*args) -> str:
    out = StringIO()
    call_command("create_staff", *args, stdout=out, stderr=out)
    return out.getvalue()


def test_create_staff_for_a_hotel_then_again_updates_password_and_membership(db, api):
    hotel = factories.organisation("hotel", "H-77")
    community = factories.organisation("community", "C-77")
    # when the account is created for the hotel
    first = run("clerk", "--password", PASSWORD, "--hotel", "H-77")
    user = get_user_model().objects.get(username="clerk")
    token = api.post("/api/v1/auth/token/", {"username": "clerk", "password": PASSWORD}, format="json").json()["token"]
    # then it is staff, acts for the hotel, gets a token, and nothing secret is printed
    assert user.is_staff and not user.is_superuser
    assert user.membership.organisation == hotel
    assert user.membership.role == StaffMembership.Role.MEMBER
    assert PASSWORD not in first and token not in first
    # when it is run again with another password and the community
    second = run("clerk", "--password", PASSWORD + "2", "--community", "C-77")
    user.refresh_from_db()
    # then the same account now has the new password and community, and its old token is revoked
    assert get_user_model().objects.filter(username="clerk").count() == 1
    assert StaffMembership.objects.filter(user=user).count() == 1
    assert user.membership.organisation == community
    assert user.check_password(PASSWORD + "2")
    assert "已更新" in second and PASSWORD not in second
    stale = api.get("/api/v1/communities/C-77/quarantines/", HTTP_AUTHORIZATION=f"Token {token}")
    assert stale.status_code == 401
    # and the token endpoint answers with the new password only, with a new token that works
    fresh = api.post("/api/v1/auth/token/", {"username": "clerk", "password": PASSWORD + "2"}, format="json").json()["token"]
    assert fresh != token
    assert api.get("/api/v1/communities/C-77/quarantines/", HTTP_AUTHORIZATION=f"Token {fresh}").status_code == 200
    assert api.post("/api/v1/auth/token/", {"username": "clerk", "password": PASSWORD}, format="json").status_code == 400


def test_create_staff_admin_and_department(db):
    run("boss", "--password", PASSWORD, "--admin")
    run("doctor", "--password", PASSWORD, "--department", "health")
    boss = get_user_model().objects.get(username="boss")
    doctor = get_user_model().objects.get(username="doctor")
    assert (boss.membership.role, boss.membership.organisation, boss.is_superuser) == ("admin", None, True)
    assert (doctor.membership.role, doctor.membership.organisation.kind) == ("member", "health")
    # an administrator turned into a member loses the superuser flag
    run("boss", "--password", PASSWORD, "--department", "platform")
    boss.refresh_from_db()
    assert (boss.membership.role, boss.membership.organisation.kind, boss.is_superuser) == ("member", "platform", False)


@pytest.mark.parametrize(
    "args, message",
    [
        (["--hotel", "NOPE"], "NOPE"),
        (["--community", "NOPE"], "NOPE"),
    ],
)
def test_create_staff_for_an_unknown_organisation_is_refused_and_creates_nothing(db, args, message):
    with pytest.raises(CommandError, match=message):
        run("ghost", "--password", PASSWORD, *args)
    assert not get_user_model().objects.filter(username="ghost").exists()


def test_create_staff_refuses_a_community_code_that_is_a_hotel(db):
    factories.organisation("hotel", "X-1")
    with pytest.raises(CommandError):
        run("ghost", "--password", PASSWORD, "--community", "X-1")
    assert not get_user_model().objects.filter(username="ghost").exists()


def test_create_staff_refuses_an_unknown_department_kind_and_a_weak_password(db):
    with pytest.raises(CommandError):
        run("ghost", "--password", PASSWORD, "--department", "hotel")
    with pytest.raises(CommandError):
        run("ghost", "--password", "123", "--admin")
    with pytest.raises(CommandError):
        run("ghost", "--password", PASSWORD)
    assert not get_user_model().objects.filter(username="ghost").exists()


def test_token_endpoint_refuses_wrong_credentials_and_is_throttled(db, api):
    import copy

    from django.conf import settings
    from django.test import override_settings

    run("clerk", "--password", PASSWORD, "--admin")
    framework = copy.deepcopy(settings.REST_FRAMEWORK)
    framework["DEFAULT_THROTTLE_RATES"]["public_address"] = "2/minute"
    with override_settings(REST_FRAMEWORK=framework):
        codes = [api.post("/api/v1/auth/token/", {"username": "clerk", "password": "wrong"}, format="json").status_code for _ in range(3)]
    assert codes == [400, 400, 429]
