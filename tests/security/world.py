"""One small city for the security tests: two of each organisation, a staff member of every role, one
record of every kind per organisation, all created through the API as users create them."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta

from django.utils import timezone
from rest_framework.test import APIClient

from health.models import Organisation
from tests import factories

DEPARTMENTS = [kind.value for kind in Organisation.DEPARTMENTS]


def iso(moment) -> str:
    return moment.isoformat()


@dataclass
class World:
    users: dict = field(default_factory=dict)  # role -> user
    ids: dict = field(default_factory=dict)  # "quarantine:A" -> pk, ...
    persons: dict = field(default_factory=dict)  # "A" / "B" -> {"name", "id_number"} of a person with records there
    id_numbers: list = field(default_factory=list)  # every plain ID number used


def client_as(user) -> APIClient:
    client = APIClient()
    if user is not None:
        client.credentials(HTTP_AUTHORIZATION=f"Token {user.auth_token.key}")
    return client


def created(response) -> int:
    assert response.status_code == 201, (response.status_code, response.content[:500])
    return response.json()["id"]


def build(serial_base: int = 500) -> World:
    world = World()
    now = timezone.now()
    admin = factories.staff("w-admin", admin=True)
    world.users["admin"] = admin
    api = client_as(admin)
    for side in "AB":
        for kind, path in (("community", "/api/v1/communities/"), ("hotel", "/api/v1/hotels/")):
            response = api.post(path, {"code": f"{kind[0].upper()}-{side}", "name": f"{kind}{side}", "region_code": "110105"}, format="json")
            assert response.status_code == 201, response.content
        community = Organisation.objects.get(kind="community", code=f"C-{side}")
        hotel = Organisation.objects.get(kind="hotel", code=f"H-{side}")
        world.users[f"community {side}"] = factories.staff(f"w-community-{side}", organisation=community)
        world.users[f"hotel {side}"] = factories.staff(f"w-hotel-{side}", organisation=hotel)
    for kind in DEPARTMENTS:
        world.users[kind] = factories.staff(f"w-{kind}", organisation=factories.department(kind))
    world.users["anonymous"] = None

    for offset, side in enumerate("AB"):
        person = factories.person_payload(f"居民{side}", serial=serial_base + offset)
        world.persons[side] = person
        world.id_numbers.append(person["id_number"])
        world.ids[f"quarantine:{side}"] = created(api.post(f"/api/v1/communities/C-{side}/quarantines/", {
            "person": person, "kind": "home", "started_at": iso(now - timedelta(days=2)),
            "planned_end_at": iso(now + timedelta(days=5)),
        }, format="json"))
        world.ids[f"checkin:{side}"] = created(api.post(f"/api/v1/hotels/H-{side}/checkins/", {
            "person": person, "checked_in_at": iso(now - timedelta(hours=6)), "origin_region_code": "110105",
            "health_management_accepted": True,
            "nat_tests": [{"sampled_at": iso(now - timedelta(days=1)), "result": "negative", "source": "certificate"}],
        }, format="json"))
        entrant = factories.person_payload(f"入境{side}", serial=serial_base + 10 + offset)
        world.id_numbers.append(entrant["id_number"])
        world.ids[f"entrant:{side}"] = created(api.post("/api/v1/entrants/", {
            "person": entrant, "entered_country_on": (date.today() - timedelta(days=20)).isoformat(), "port": "首都机场",
            "origin_country": "SG", "community_code": f"C-{side}",
        }, format="json"))
    contact = factories.person_payload("密接", serial=serial_base + 20)
    world.id_numbers.append(contact["id_number"])
    world.ids["designation"] = created(api.post("/api/v1/designations/", {
        "person": contact, "kind": "close_contact", "designated_at": iso(now - timedelta(hours=3)),
    }, format="json"))
    world.ids["risk_area"] = created(api.post("/api/v1/risk-areas/", {
        "region_code": "130102", "level": "medium", "effective_from": iso(now - timedelta(days=1)),
    }, format="json"))
    read = api.post("/api/v1/persons/status/", {"id_number": world.persons["A"]["id_number"], "purpose": "核查"}, format="json")
    assert read.status_code == 200, read.content
    return world
