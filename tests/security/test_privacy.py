"""No plain ID number anywhere: a representative set of flows, then a scan of every text and JSON column of
every table, of everything logged, of every URL requested or redirected to, and of every answer.
Staff reads are on record (who, when, why); the record is readable by administrators, editable by nobody."""
import copy
import logging
from datetime import timedelta

import pytest
from django.apps import apps
from django.conf import settings
from django.db import models
from django.test import Client, override_settings
from django.utils import timezone
from rest_framework.test import APIClient

from health.models import StatusAccess
from tests import factories
from tests.security import world as w

SEEN_URLS: list[str] = []
SEEN_BODIES: list[bytes] = []


class Recording:
    """Records the URL of every request, every redirect's target and every answer's body."""

    def request(self, **request):
        query = request.get("QUERY_STRING", "")
        SEEN_URLS.append(request.get("PATH_INFO", "") + ("?" + query if query else ""))
        response = super().request(**request)
        if response.has_header("Location"):
            SEEN_URLS.append(response["Location"])
        SEEN_BODIES.append(response.content if not response.streaming else b"")
        return response


class RecordingAPIClient(Recording, APIClient):
    pass


class RecordingClient(Recording, Client):
    pass


def api_as(user) -> APIClient:
    client = RecordingAPIClient()
    if user is not None:
        client.credentials(HTTP_AUTHORIZATION=f"Token {user.auth_token.key}")
    return client


def spellings(number: str) -> list[str]:
    """The number as typed (X or x) and its 17 leading digits, which give it away as well."""
    return [number, number.lower(), number[:17]]


def text_columns():
    for model in apps.get_models():
        for field in model._meta.concrete_fields:
            if isinstance(field, models.CharField | models.TextField | models.JSONField | models.BinaryField):
                yield model, field


def test_no_plain_id_number_in_the_database_the_logs_the_urls_or_the_answers(db, caplog, monkeypatch):
    caplog.set_level(logging.DEBUG)
    SEEN_URLS.clear()
    SEEN_BODIES.clear()
    monkeypatch.setattr(w, "client_as", api_as)  # the city is built through recording clients too

    # given the city built through the API (quarantines, check-ins with tests, entrants, a designation,
    # a staff read), and more flows: the public's own, the feeds, conflicts, garbage, throttling, the admin
    world = w.build(serial_base=700)
    numbers = list(world.id_numbers)
    person_a = world.persons["A"]
    public = api_as(None)
    public.post("/api/v1/status/query/", person_a, format="json")
    public.post("/api/v1/status/declarations/", {**person_a, "city_codes": ["110000"]}, format="json")
    public.post("/api/v1/status/corrections/", {**person_a, "message": "我已解除隔离"}, format="json")
    stranger = factories.person_payload("陌生人", serial=790)
    numbers.append(stranger["id_number"])
    public.post("/api/v1/status/query/", stranger, format="json")
    typo = person_a["id_number"][:10] + str((int(person_a["id_number"][10]) + 1) % 10) + person_a["id_number"][11:]
    assert public.post("/api/v1/status/query/", {**person_a, "id_number": typo}, format="json").status_code == 400
    numbers.append(typo)
    framework = copy.deepcopy(settings.REST_FRAMEWORK)
    framework["DEFAULT_THROTTLE_RATES"] = dict.fromkeys(framework["DEFAULT_THROTTLE_RATES"], "1/minute")
    with override_settings(REST_FRAMEWORK=framework):
        throttled = [public.post("/api/v1/status/query/", person_a, format="json", REMOTE_ADDR="10.77.0.1").status_code for _ in range(2)]
    assert throttled[-1] == 429

    platform = api_as(world.users["platform"])
    traveller = factories.person_payload("旅客", serial=791)
    numbers.append(traveller["id_number"])
    now = timezone.now()
    stay = {"person": traveller, "city_code": "110000", "arrived_at": (now - timedelta(days=2)).isoformat(), "left_at": None}
    assert platform.post("/api/v1/itinerary/stays/", {"stays": [stay]}, format="json").status_code == 201
    conflict = platform.post("/api/v1/itinerary/stays/", {"stays": [{**stay, "person": {**traveller, "name": "冒名"}}]}, format="json")
    assert conflict.status_code == 409

    community = api_as(world.users["community A"])
    assert community.post("/api/v1/persons/status/", {"id_number": person_a["id_number"], "purpose": "上门核查"}, format="json").status_code == 200
    assert community.post("/api/v1/persons/status/", {"id_number": world.persons["B"]["id_number"]}, format="json").status_code == 404

    admin_client = RecordingClient()
    admin_client.force_login(world.users["admin"])
    for number in (person_a["id_number"], typo):
        admin_client.post("/admin/health/person/", {"_hashed_search": "1", "q": number}, follow=True)
    # a number typed into the URL by hand (that URL is the tester's, not recorded): the admin rewrites it
    by_hand = Client()
    by_hand.force_login(world.users["admin"])
    rewritten = by_hand.get("/admin/health/person/", {"q": person_a["id_number"]})
    assert rewritten.status_code == 302
    SEEN_URLS.append(rewritten["Location"])
    person_pk = StatusAccess.objects.filter(purpose="上门核查").get().person_id
    assert admin_client.get(f"/admin/health/person/{person_pk}/change/").status_code == 200

    # when everything the flows left behind is scanned
    found = []
    for model, field in text_columns():
        for value in model._default_manager.values_list(field.attname, flat=True):
            text = str(value)
            found += [f"{model._meta.label}.{field.name}" for number in numbers for spelling in spellings(number) if spelling in text]
    logged = "\n".join(f"{record.getMessage()} {record.args!r} {getattr(record, 'request', '')!r}" for record in caplog.records)
    found += [f"log: {spelling}" for number in numbers for spelling in spellings(number) if spelling in logged]
    found += [f"url: {url}" for url in SEEN_URLS for number in numbers for spelling in spellings(number) if spelling in url]
    found += [
        f"answer {index}" for index, body in enumerate(SEEN_BODIES) for number in numbers for spelling in spellings(number)
        if spelling.encode() in body
    ]

    # then no plain number is anywhere, though the flows did run (and left rows, logs and URLs to scan)
    assert found == []
    assert len(SEEN_URLS) > 30 and len(caplog.records) > 10
    assert StatusAccess.objects.count() >= 3


# --- the access log ----------------------------------------------------------------------------
@pytest.mark.django_db
def test_every_staff_read_is_recorded_with_who_when_and_why():
    # given the city and a community worker
    world = w.build(serial_base=800)
    worker = world.users["community A"]
    before = StatusAccess.objects.count()
    # when they read a person's status through the API with a purpose, and through the admin
    started = timezone.now()
    assert w.client_as(worker).post("/api/v1/persons/status/", {"id_number": world.persons["A"]["id_number"], "purpose": "上门核查"}, format="json").status_code == 200
    admin_page = Client()
    admin_page.force_login(worker)
    access = StatusAccess.objects.latest("pk")
    assert admin_page.get(f"/admin/health/person/{access.person_id}/change/").status_code == 200
    # then both reads are on record, with who, when, through what and why
    rows = list(StatusAccess.objects.order_by("pk")[before:].values_list("user__username", "channel", "purpose"))
    assert rows == [("w-community-A", "api", "上门核查"), ("w-community-A", "admin", "")]
    assert all(row.accessed_at >= started for row in StatusAccess.objects.order_by("pk")[before:])
    # and a read that is refused (not their person) leaves no row claiming it was served
    assert w.client_as(worker).post("/api/v1/persons/status/", {"id_number": world.persons["B"]["id_number"]}, format="json").status_code == 404
    assert StatusAccess.objects.count() == before + 2


@pytest.mark.django_db
def test_the_access_log_is_readable_by_administrators_and_editable_by_nobody():
    # given a recorded read
    world = w.build(serial_base=850)
    access = StatusAccess.objects.latest("pk")
    admin_client = Client()
    admin_client.force_login(world.users["admin"])
    superuser = factories.staff("root", admin=True)
    superuser.is_superuser = True
    superuser.save()
    root = Client()
    root.force_login(superuser)
    url = f"/admin/health/statusaccess/{access.pk}"
    # then administrators can read it
    assert admin_client.get("/admin/health/statusaccess/").status_code == 200
    assert admin_client.get(f"{url}/change/").status_code == 200
    # and nobody, not even a superuser, can add, change or delete a row
    for client in (admin_client, root):
        assert client.get("/admin/health/statusaccess/add/").status_code == 403
        assert client.post("/admin/health/statusaccess/add/", {"purpose": "伪造"}).status_code == 403
        assert client.post(f"{url}/change/", {"purpose": "篡改"}).status_code == 403
        assert client.post(f"{url}/delete/", {"post": "yes"}).status_code == 403
        assert client.post("/admin/health/statusaccess/", {"action": "delete_selected", "_selected_action": [access.pk], "post": "yes"}).status_code in (200, 302)
    # the staff of other kinds cannot even read it
    health_client = Client()
    health_client.force_login(world.users["health"])
    assert health_client.get("/admin/health/statusaccess/").status_code == 403
    access.refresh_from_db()
    assert (access.purpose, StatusAccess.objects.filter(pk=access.pk).exists()) == ("核查", True)


@pytest.mark.django_db
def test_the_access_log_keeps_who_read_as_they_were_at_the_read():
    # given a read by a community worker, and one by an administrator
    world = w.build(serial_base=870)
    worker, administrator = world.users["community A"], world.users["admin"]
    number = world.persons["A"]["id_number"]
    assert w.client_as(worker).post("/api/v1/persons/status/", {"id_number": number}, format="json").status_code == 200
    assert w.client_as(administrator).post("/api/v1/persons/status/", {"id_number": number}, format="json").status_code == 200
    by_worker, by_admin = StatusAccess.objects.order_by("-pk")[1], StatusAccess.objects.order_by("-pk")[0]
    # when the worker's account is renamed and moved to another community
    worker.username = "someone-else"
    worker.save()
    membership = worker.membership
    membership.organisation = factories.organisation("community", "C-MOVED", name="别的社区")
    membership.save()
    # then the log still says who read, and for which organisation, at the time
    by_worker.refresh_from_db()
    assert (by_worker.username, by_worker.organisation_name, by_worker.organisation_kind) == (
        "w-community-A", "communityA (C-A)", "community"
    )
    assert (by_admin.username, by_admin.organisation_name, by_admin.organisation_kind) == ("w-admin", "管理员", "admin")
    # and the administrators' list shows the snapshot, not today's name
    page = Client()
    page.force_login(administrator)
    listing = page.get("/admin/health/statusaccess/").content.decode()
    assert "w-community-A" in listing and "someone-else" not in listing


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_the_migration_fills_the_snapshot_of_rows_written_before_it():
    from django.db import connection
    from django.db.migrations import RunPython
    from django.db.migrations.executor import MigrationExecutor

    executor = MigrationExecutor(connection)
    # The migration that fills the snapshot, whatever its number, and the one before it.
    snapshot = next(
        key for key, migration in executor.loader.disk_migrations.items()
        if key[0] == "health" and any(
            isinstance(operation, RunPython) and operation.code.__name__ == "snapshots_fill" for operation in migration.operations
        )
    )
    before = next(parent for parent in executor.loader.graph.node_map[snapshot].parents if parent.key[0] == "health").key
    leaves = executor.loader.graph.leaf_nodes()
    # given the schema before the snapshot, and a read on record
    executor.migrate([before])
    old = executor.loader.project_state([before]).apps
    user = old.get_model("auth", "User").objects.create(username="nurse")
    organisation = old.get_model("health", "Organisation").objects.get(kind="health", code="health")
    old.get_model("health", "StaffMembership").objects.create(user=user, role="member", organisation=organisation)
    person = old.get_model("health", "Person").objects.create(name="张三", id_digest="d" * 64, id_masked="1*")
    old.get_model("health", "StatusAccess").objects.create(user=user, person=person, channel="api")
    # when the migration runs
    executor = MigrationExecutor(connection)
    executor.migrate(leaves)
    # then the row has the names as they were then
    access = StatusAccess.objects.get(person_id=person.pk)
    assert (access.username, access.organisation_kind) == ("nurse", "health")
    assert access.organisation_name == f"{organisation.name} (health)"
