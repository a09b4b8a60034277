"""Row-level access as a table: every role x every API endpoint and every admin page, on organisation A's objects.

For each role "X A" the object is its own organisation's, for "X B" another organisation's of the
same kind. One parametrised test per endpoint or admin page checks the whole row of answers, each
request in a savepoint that is rolled back so that every role meets the same data.
"""
from datetime import date, timedelta

import pytest
from django.contrib import admin
from django.db import transaction
from django.test import Client
from django.utils import timezone

from tests import factories
from tests.security import world as w

ROLES = ["admin", "community A", "community B", "hotel A", "hotel B", "health", "police", "border",
         "community_affairs", "aviation", "railway", "platform", "anonymous"]

# endpoint -> the answer for each role, in the order of ROLES
API = {
    #                          adm  cA   cB   hA   hB   hea  pol  bor  c_a  avi  rai  pla  anon
    "communities create":     "201  403  403  403  403  403  403  403  403  403  403  403  401",
    "hotels create":          "201  403  403  403  403  403  403  403  403  403  403  403  401",
    "risk-areas create":      "201  403  403  403  403  201  403  403  403  403  403  403  401",
    "risk-area update":       "200  403  403  403  403  200  403  403  403  403  403  403  401",
    "risk-area withdraw":     "200  403  403  403  403  200  403  403  403  403  403  403  401",
    "quarantines list":       "200  200  404  403  403  403  403  403  403  403  403  403  401",
    "quarantine register":    "201  201  404  403  403  403  403  403  403  403  403  403  401",
    "quarantine detail":      "200  200  404  403  403  403  403  403  403  403  403  403  401",
    "quarantine planned end": "200  200  404  403  403  403  403  403  403  403  403  403  401",
    "quarantine lift":        "200  200  404  403  403  403  403  403  403  403  403  403  401",
    "checkins list":          "200  403  403  200  404  403  403  403  403  403  403  403  401",
    "checkin register":       "201  403  403  201  404  403  403  403  403  403  403  403  401",
    "nat test add":           "201  403  403  201  404  403  403  403  403  403  403  403  401",
    "checkout":               "200  403  403  200  404  403  403  403  403  403  403  403  401",
    "entrant register":       "201  403  403  403  403  403  403  201  403  403  403  403  401",
    "entrant detail":         "200  200  404  403  403  403  403  200  403  403  403  403  401",
    "entrant update":         "200  403  403  403  403  403  403  200  403  403  403  403  401",
    "entrant release":        "200  200  404  403  403  403  403  403  403  403  403  403  401",
    # the feed is checked for its kind first; a JSON body is then refused as the wrong media type (415)
    "entrants import":        "415  403  403  403  403  403  403  415  403  403  403  403  401",
    "designation create":     "201  403  403  403  403  201  403  403  403  403  403  403  401",
    "designation clear":      "200  403  403  403  403  200  403  403  403  403  403  403  401",
    "designation withdraw":   "200  403  403  403  403  200  403  403  403  403  403  403  401",
    "stays feed":             "201  403  403  403  403  403  403  403  403  403  403  201  401",
    # a staff read of a person: only whoever holds a record of them (their community, their hotel), health, admin
    "person status":          "200  200  404  200  404  200  404  404  404  404  404  404  401",
    # an audited correction of a person's name: administrators and the health authority only
    "person correct name":    "200  403  403  403  403  200  403  403  403  403  403  403  401",
    "person merge":           "200  403  403  403  403  200  403  403  403  403  403  403  401",
    "status query":           "200  200  200  200  200  200  200  200  200  200  200  200  200",
    "correction request":     "202  202  202  202  202  202  202  202  202  202  202  202  202",
    "declaration":            "201  201  201  201  201  201  201  201  201  201  201  201  201",
    "schema":                 "200  200  200  200  200  200  200  200  200  200  200  200  200",
    # the signed pass (docs/pass.md): public; the QR image only for an authentic pass (here not one: 400)
    "pass keys":              "200  200  200  200  200  200  200  200  200  200  200  200  200",
    "pass check":             "200  200  200  200  200  200  200  200  200  200  200  200  200",
    "pass qr":                "400  400  400  400  400  400  400  400  400  400  400  400  400",
}

# admin model -> "changelist/change page of A's first object" for each role; "-" when there is no object.
# The role "admin" is an administrator membership (is_staff, not a superuser): Django's own and
# third-party tables (accounts, tokens, beat, lockouts, OTP devices) are for superusers only.
SUPERUSER_ONLY = " ".join(["403/403"] * 12 + ["302/302"])
SUPERUSER_ONLY_EMPTY = " ".join(["403/-"] * 12 + ["302/-"])
ADMIN = {
    #                              adm     cA      cB      hA      hB      hea     pol     bor     c_a     avi     rai     pla     anon
    "auth.Group":                  SUPERUSER_ONLY_EMPTY,
    "auth.User":                   SUPERUSER_ONLY,
    # API credentials: listed, revoked (and keys made and rotated) by administrators only
    "knox.AuthToken":              "200/200 403/403 403/403 403/403 403/403 403/403 403/403 403/403 403/403 403/403 403/403 403/403 302/302",
    "health.MachineKey":           "200/- 403/- 403/- 403/- 403/- 403/- 403/- 403/- 403/- 403/- 403/- 403/- 302/-",
    "django_celery_beat.PeriodicTask": SUPERUSER_ONLY_EMPTY,
    "django_celery_beat.ClockedSchedule": SUPERUSER_ONLY_EMPTY,
    "django_celery_beat.CrontabSchedule": SUPERUSER_ONLY_EMPTY,
    "django_celery_beat.SolarSchedule": SUPERUSER_ONLY_EMPTY,
    "django_celery_beat.IntervalSchedule": SUPERUSER_ONLY_EMPTY,
    "axes.AccessAttempt":          SUPERUSER_ONLY_EMPTY,
    "axes.AccessLog":              SUPERUSER_ONLY_EMPTY,
    "axes.AccessFailureLog":       SUPERUSER_ONLY_EMPTY,
    "otp_totp.TOTPDevice":         SUPERUSER_ONLY_EMPTY,
    "otp_static.StaticDevice":     SUPERUSER_ONLY_EMPTY,
    # a person's page: whoever holds a record of them (302: "not found" back to the index)
    "health.Person":               "200/200 200/200 200/302 200/200 200/302 200/200 200/302 200/302 200/302 200/302 200/302 200/302 302/302",
    "health.Region":               "200/200 200/200 200/200 200/200 200/200 200/200 200/200 200/200 200/200 200/200 200/200 200/200 302/302",
    "health.RiskArea":             "200/200 403/403 403/403 403/403 403/403 200/200 403/403 403/403 403/403 403/403 403/403 403/403 302/302",
    "health.Designation":          "200/200 403/403 403/403 403/403 403/403 200/200 403/403 403/403 403/403 403/403 403/403 403/403 302/302",
    "health.ItineraryStay":        "200/- 403/- 403/- 403/- 403/- 200/- 403/- 403/- 403/- 403/- 403/- 200/- 302/-",
    "health.ItineraryDeclaration": "200/- 403/- 403/- 403/- 403/- 200/- 403/- 403/- 403/- 403/- 403/- 403/- 302/-",
    "health.Policy":               "200/200 403/403 403/403 403/403 403/403 403/403 403/403 403/403 403/403 403/403 403/403 403/403 302/302",
    "health.StatusEvent":          "200/200 403/403 403/403 403/403 403/403 200/200 403/403 403/403 403/403 403/403 403/403 403/403 302/302",
    "health.StatusAccess":         "200/200 403/403 403/403 403/403 403/403 403/403 403/403 403/403 403/403 403/403 403/403 403/403 302/302",
    "health.Organisation":         "200/200 403/403 403/403 403/403 403/403 403/403 403/403 403/403 403/403 403/403 403/403 403/403 302/302",
    "health.StaffMembership":      "200/200 403/403 403/403 403/403 403/403 403/403 403/403 403/403 403/403 403/403 403/403 403/403 302/302",
    "health.PersonNameCorrection": "200/- 403/- 403/- 403/- 403/- 200/- 403/- 403/- 403/- 403/- 403/- 403/- 302/-",
    "health.PersonMerge":          "200/- 403/- 403/- 403/- 403/- 200/- 403/- 403/- 403/- 403/- 403/- 403/- 302/-",
    # the receivers of correction requests: communities, health, border control, the platform
    "health.StatusCorrectionRequest": "200/- 200/- 200/- 403/- 403/- 200/- 403/- 200/- 403/- 403/- 403/- 200/- 302/-",
    "communities.QuarantineRecord": "200/200 200/200 200/302 403/403 403/403 403/403 403/403 403/403 403/403 403/403 403/403 403/403 302/302",
    "communities.Community":       "200/200 403/403 403/403 403/403 403/403 403/403 403/403 403/403 403/403 403/403 403/403 403/403 302/302",
    "hotels.Hotel":                "200/200 403/403 403/403 403/403 403/403 403/403 403/403 403/403 403/403 403/403 403/403 403/403 302/302",
    "hotels.CheckIn":              "200/200 403/403 403/403 200/200 200/302 403/403 403/403 403/403 403/403 403/403 403/403 403/403 302/302",
    "hotels.NucleicAcidTest":      "200/200 403/403 403/403 200/200 200/302 200/200 403/403 403/403 403/403 403/403 403/403 403/403 302/302",
    "entrants.InboundCase":        "200/200 200/200 200/302 403/403 403/403 403/403 403/403 200/200 403/403 403/403 403/403 403/403 302/302",
}


def row(spec: str) -> dict:
    return dict(zip(ROLES, spec.split(), strict=True))


def endpoints(world) -> dict:
    now = timezone.now()
    ids = world.ids
    pa = world.persons["A"]
    new = factories.person_payload("新人", serial=900)
    return {
        "communities create": ("post", "/api/v1/communities/", {"code": "C-N", "name": "新社区", "region_code": "110105"}),
        "hotels create": ("post", "/api/v1/hotels/", {"code": "H-N", "name": "新酒店", "region_code": "110105"}),
        "risk-areas create": ("post", "/api/v1/risk-areas/", {"region_code": "130103", "level": "high", "effective_from": w.iso(now)}),
        "risk-area update": ("patch", f"/api/v1/risk-areas/{ids['risk_area']}/", {"effective_to": w.iso(now + timedelta(days=1))}),
        "risk-area withdraw": ("post", f"/api/v1/risk-areas/{ids['risk_area']}/withdraw/", {"reason": "误发布"}),
        "quarantines list": ("get", "/api/v1/communities/C-A/quarantines/", None),
        "quarantine register": ("post", "/api/v1/communities/C-A/quarantines/", {"person": new, "kind": "home", "started_at": w.iso(now - timedelta(hours=1))}),
        "quarantine detail": ("get", f"/api/v1/quarantines/{ids['quarantine:A']}/", None),
        "quarantine planned end": ("patch", f"/api/v1/quarantines/{ids['quarantine:A']}/", {"planned_end_at": w.iso(now + timedelta(days=9)), "comment": "延长"}),
        "quarantine lift": ("post", f"/api/v1/quarantines/{ids['quarantine:A']}/lift/", {}),
        "checkins list": ("get", "/api/v1/hotels/H-A/checkins/", None),
        "checkin register": ("post", "/api/v1/hotels/H-A/checkins/", {"person": new, "checked_in_at": w.iso(now - timedelta(hours=1)), "origin_region_code": "110105", "health_management_accepted": False, "nat_tests": []}),
        "nat test add": ("post", f"/api/v1/checkins/{ids['checkin:A']}/nat-tests/", {"sampled_at": w.iso(now - timedelta(minutes=10)), "result": "negative", "source": "hotel"}),
        "checkout": ("post", f"/api/v1/checkins/{ids['checkin:A']}/checkout/", {}),
        "entrant register": ("post", "/api/v1/entrants/", {"person": new, "entered_country_on": (date.today() - timedelta(days=3)).isoformat(), "port": "首都机场", "origin_country": "SG"}),
        "entrant detail": ("get", f"/api/v1/entrants/{ids['entrant:A']}/", None),
        "entrant update": ("patch", f"/api/v1/entrants/{ids['entrant:A']}/", {"entered_city_on": date.today().isoformat()}),
        "entrants import": ("post", "/api/v1/entrants/import/", {"format": "csv"}),
        "entrant release": ("post", f"/api/v1/entrants/{ids['entrant:A']}/release/", {}),
        "designation create": ("post", "/api/v1/designations/", {"person": new, "kind": "suspected", "designated_at": w.iso(now - timedelta(hours=1))}),
        "designation clear": ("post", f"/api/v1/designations/{ids['designation']}/clear/", {}),
        "designation withdraw": ("post", f"/api/v1/designations/{ids['designation']}/withdraw/", {"reason": "误认定"}),
        "stays feed": ("post", "/api/v1/itinerary/stays/", {"stays": [{"person": new, "city_code": "110000", "arrived_at": w.iso(now - timedelta(days=2)), "left_at": w.iso(now - timedelta(days=1))}]}),
        "person status": ("post", "/api/v1/persons/status/", {"id_number": pa["id_number"], "purpose": "核查"}),
        "person correct name": ("post", "/api/v1/persons/correct-name/", {"id_number": pa["id_number"], "name": "更正后", "reason": "笔误"}),
        "person merge": ("post", "/api/v1/persons/merge/", {"keep": {"id_number": pa["id_number"]}, "merge": {"id_number": world.persons["B"]["id_number"]}, "reason": "同一人"}),
        "status query": ("post", "/api/v1/status/query/", pa),
        "correction request": ("post", "/api/v1/status/corrections/", {**pa, "message": "我已解除隔离"}),
        "declaration": ("post", "/api/v1/status/declarations/", {**pa, "city_codes": ["110000"]}),
        "schema": ("get", "/api/v1/schema/", None),
        "pass keys": ("get", "/api/v1/passes/keys/", None),
        "pass check": ("post", "/api/v1/passes/check/", {"text": "HK1:not-a-pass"}),
        "pass qr": ("get", "/api/v1/passes/qr/?t=HK1%3Anot-a-pass", None),
    }



@pytest.mark.django_db
@pytest.mark.parametrize("name", list(API))
def test_api_answers_each_role_as_the_table_says(name):
    # given the city, and the endpoint's request on organisation A's objects
    world = w.build()
    method, path, body = endpoints(world)[name]
    answers = {}
    for role in ROLES:
        client = w.client_as(world.users[role])
        # when each role sends it (rolled back after: every role meets the same data)
        with transaction.atomic():
            call = getattr(client, method)
            response = call(path, body, format="json") if body is not None else call(path)
            transaction.set_rollback(True)
        answers[role] = str(response.status_code)
    # then each answers as the table says
    assert answers == row(API[name])


# Routes outside the table, each with the reason: sign-in (tests/security/test_sign_in.py) and the docs page.
NOT_IN_TABLE = {"auth-token", "api-docs"}


@pytest.mark.django_db
def test_the_tables_cover_every_api_route_and_every_admin_model():
    from django.urls import URLPattern, URLResolver, get_resolver, resolve

    def names(patterns, prefix=""):
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                yield from names(pattern.url_patterns, prefix + str(pattern.pattern))
            elif isinstance(pattern, URLPattern) and (prefix + str(pattern.pattern)).startswith("api/v1/"):
                yield pattern.name

    world = w.build()
    covered = {resolve(path.split("?")[0]).url_name for _, path, _ in endpoints(world).values()}
    assert set(names(get_resolver().url_patterns)) - NOT_IN_TABLE == covered
    assert {model._meta.label for model in admin.site._registry} == set(ADMIN)


@pytest.mark.django_db
@pytest.mark.parametrize("label", list(ADMIN))
def test_admin_pages_answer_each_role_as_the_table_says(label):
    # given the city, and the admin's list and the change page of the model's first object (A's)
    world = w.build()
    model = next(m for m in admin.site._registry if m._meta.label == label)
    meta = model._meta
    first = model._default_manager.order_by("pk").first()
    answers = {}
    for role in ROLES:
        client = Client()
        if world.users[role] is not None:
            client.force_login(world.users[role])
        # when each role opens them
        listed = client.get(f"/admin/{meta.app_label}/{meta.model_name}/").status_code
        changed = client.get(f"/admin/{meta.app_label}/{meta.model_name}/{first.pk}/change/").status_code if first else "-"
        answers[role] = f"{listed}/{changed}"
    # then each answers as the table says
    assert answers == row(ADMIN[label])
