"""Names in one normal form (NFC, whitespace folded): stored so, compared so, in every entry point."""

import importlib

import pytest
from django.apps import apps

from health.identity import id_number_digest, name_normalise
from health.models import Person
from tests import factories

from .helpers import STRANGER_REASONS, ago

QUERY = "/api/v1/status/query/"
DECLARE = "/api/v1/status/declarations/"
PRECOMPOSED = "Zo\u00eb Smith"
DECOMPOSED = "Zoe\u0308 Smith"


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        (DECOMPOSED, PRECOMPOSED),
        (PRECOMPOSED, PRECOMPOSED),
        ("  张  三\t", "张 三"),
        ("\u3000王\u3000芳\u3000", "王 芳"),  # ideographic spaces
        ("阿依古丽·买买提", "阿依古丽·买买提"),
        ("John SMITH", "John SMITH"),  # case is the name's own
    ],
)
def test_the_normal_form(typed, stored):
    assert name_normalise(typed) == stored


def designate(client, name, number):
    body = {"person": {"name": name, "id_number": number}, "kind": "close_contact", "designated_at": ago(hours=1)}
    return client.post("/api/v1/designations/", body, format="json")


@pytest.mark.parametrize("accept", ["application/json", "application/json, text/plain"])
def test_a_name_written_decomposed_is_found_precomposed_by_the_public_query(api, client_for, health_user, accept):
    # given a designation written with the name decomposed
    number = factories.id_number()
    assert designate(client_for(health_user), DECOMPOSED, number).status_code == 201
    # then the person is stored in NFC
    assert Person.objects.get().name == PRECOMPOSED
    # when the person asks with the name precomposed (the fast path; with another Accept, the DRF view)
    response = api.post(QUERY, {"name": PRECOMPOSED, "id_number": number}, format="json", HTTP_ACCEPT=accept)
    # then they get their own status, not a stranger's
    assert response.status_code == 200
    assert response.json()["status"] == "centralized_observation"


def test_a_later_write_with_the_other_form_is_the_same_person_not_a_conflict(client_for, health_user, platform_user):
    number = factories.id_number()
    assert designate(client_for(health_user), PRECOMPOSED, number).status_code == 201
    assert designate(client_for(health_user), DECOMPOSED, number).status_code == 201
    stays = {"stays": [{"person": {"name": DECOMPOSED, "id_number": number}, "city_code": "110000", "arrived_at": ago(days=2)}]}
    assert client_for(platform_user).post("/api/v1/itinerary/stays/", stays, format="json").status_code == 201
    assert list(Person.objects.values_list("name", "id_digest")) == [(PRECOMPOSED, id_number_digest(number))]


def test_a_declaration_with_the_other_form_is_the_person_s_own(api, client_for, health_user):
    number = factories.id_number()
    assert designate(client_for(health_user), PRECOMPOSED, number).status_code == 201
    response = api.post(DECLARE, {"name": DECOMPOSED, "id_number": number, "city_codes": ["110000"]}, format="json")
    assert response.status_code == 201
    assert response.json()["reasons"] != STRANGER_REASONS
    assert Person.objects.get().declarations.count() == 1


def test_the_migration_stores_every_name_in_the_normal_form(db):
    # given names stored before: folded but not composed, and one already normal
    first = Person.objects.create(name=DECOMPOSED, id_digest="a" * 64, id_masked="x")
    second = Person.objects.create(name="张 三", id_digest="b" * 64, id_masked="y")
    migration = importlib.import_module("health.migrations.0013_person_names_normal_form")
    # when it runs
    migration.names_normalise(apps, None)
    # then
    first.refresh_from_db()
    second.refresh_from_db()
    assert (first.name, second.name) == (PRECOMPOSED, "张 三")
