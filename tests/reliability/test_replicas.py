"""Reads on a real streaming replica (scripts/replica.sh; .ci/run starts one): served there once
replayed, skipped while paused or behind, and a replica that stops costs no failed request.

Needs `DATABASE_REPLICA_URLS` naming a streaming replica of the test database's cluster; skipped
without one, failed instead under REQUIRE_SERVICES=1.
"""

import subprocess
import time
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path

import pytest
from django.conf import settings
from django.db import OperationalError, connection, connections, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.test import APIClient

from health import replicas
from health.services import designations
from health.services.persons import person_resolve
from health.services.statuses import statuses_recompute
from tests import factories
from tests.conftest import services_required

ROOT = Path(__file__).resolve().parents[2]
REPLICA = "replica_1"

pytestmark = [pytest.mark.replica, pytest.mark.django_db(transaction=True, serialized_rollback=True, databases="__all__")]


@pytest.fixture(autouse=True)
def replica_configured():
    if not settings.DATABASE_REPLICAS:
        message = "needs a streaming replica: set DATABASE_REPLICA_URLS (scripts/replica.sh start)"
        if services_required():
            pytest.fail(f"REQUIRE_SERVICES=1 but {message}", pytrace=False)
        pytest.skip(message)
    replicas.forget_health()
    yield
    replicas.forget_health()


def replica_cursor():
    return connections[REPLICA].cursor()


def replayed(check, *, seconds: float = 60.0) -> None:
    """Wait until `check(cursor on the replica)` is true: the primary's commit has been replayed."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            with replica_cursor() as cursor:
                if check(cursor):
                    return
        except OperationalError:  # still starting (not yet consistent)
            connections[REPLICA].close()
        time.sleep(0.05)
    raise AssertionError("the replica did not replay the primary's commit in time")


def status_on_replica(person_id: int) -> str | None:
    found = []

    def check(cursor):
        cursor.execute("SELECT status FROM health_healthstatus WHERE person_id = %s AND NOT dirty", [person_id])
        found[:] = cursor.fetchall()
        return bool(found)

    replayed(check)
    return found[0][0]


def person_with_status(name: str = "张三"):
    payload = factories.person_payload(name)
    with transaction.atomic():
        person = person_resolve(**payload)
    statuses_recompute([person.pk])
    return person, payload


def query(payload: dict) -> dict:
    response = APIClient().post("/api/v1/status/query/", {"name": payload["name"], "id_number": payload["id_number"]}, format="json")
    assert response.status_code == 200, response.content
    return response.json()


@contextmanager
def captured():
    """The status reads each database served during the block."""
    with CaptureQueriesContext(connection) as on_primary, CaptureQueriesContext(connections[REPLICA]) as on_replica:
        reads = {"primary": [], "replica": []}
        yield reads
    reads["primary"] = [q["sql"] for q in on_primary.captured_queries if _status_read(q["sql"])]
    reads["replica"] = [q["sql"] for q in on_replica.captured_queries if _status_read(q["sql"])]


def _status_read(sql: str | None) -> bool:
    # The public read is a prepared statement, whose text psycopg does not give back to the log (None).
    return sql is None or "health_healthstatus" in sql


def designate(person, payload) -> None:
    designations.designation_create(
        actor=None, person=person, kind="close_contact", designated_at=timezone.now() - timedelta(minutes=1)
    )
    statuses_recompute([person.pk])


def test_a_status_written_on_the_primary_is_served_by_the_replica_once_replayed():
    person, payload = person_with_status()
    assert status_on_replica(person.pk) == "popup"
    with captured() as reads:
        answer = query(payload)
    assert answer["status"] == "popup"
    assert reads["replica"] and not reads["primary"]

    designate(person, payload)
    replayed(lambda cursor: _status_is(cursor, person.pk, "centralized_observation"))
    with captured() as reads:
        assert query(payload)["status"] == "centralized_observation"
    assert reads["replica"] and not reads["primary"]


def _status_is(cursor, person_id: int, status: str) -> bool:
    cursor.execute("SELECT status FROM health_healthstatus WHERE person_id = %s AND NOT dirty", [person_id])
    row = cursor.fetchone()
    return row is not None and row[0] == status


def test_a_replica_whose_replay_is_paused_is_skipped():
    person, payload = person_with_status()
    status_on_replica(person.pk)
    with replica_cursor() as cursor:
        cursor.execute("SELECT pg_wal_replay_pause()")
    try:
        designate(person, payload)  # on the primary only: the replica would still say popup
        replicas.forget_health()
        with captured() as reads:
            assert query(payload)["status"] == "centralized_observation"
        assert reads["primary"] and not reads["replica"]
    finally:
        with replica_cursor() as cursor:
            cursor.execute("SELECT pg_wal_replay_resume()")
    replayed(lambda cursor: _status_is(cursor, person.pk, "centralized_observation"))
    time.sleep(settings.REPLICA_CHECK_SECONDS)  # the next check finds it current again
    with captured() as reads:
        assert query(payload)["status"] == "centralized_observation"
    assert reads["replica"] and not reads["primary"]


def test_a_replica_that_stops_costs_no_failed_request_and_is_used_again_when_back():
    person, payload = person_with_status()
    status_on_replica(person.pk)
    with replica_cursor() as cursor:
        cursor.execute("SHOW data_directory")
        (data_directory,) = cursor.fetchone()
    with captured() as reads:
        query(payload)
    assert reads["replica"]  # in use, and known healthy to this process

    _replica_script("stop", data_directory)
    try:
        for _ in range(20):
            assert query(payload)["status"] == "popup"
    finally:
        _replica_script("start", data_directory)
    connections[REPLICA].close()
    status_on_replica(person.pk)
    replayed(_streaming)  # reconnected to the primary: current again
    time.sleep(settings.REPLICA_CHECK_SECONDS)
    with captured() as reads:
        assert query(payload)["status"] == "popup"
    assert reads["replica"] and not reads["primary"]


def _streaming(cursor) -> bool:
    cursor.execute("SELECT EXISTS (SELECT 1 FROM pg_stat_wal_receiver WHERE status = 'streaming')")
    return cursor.fetchone()[0]


def _replica_script(action: str, data_directory: str) -> None:
    port = str(settings.DATABASES[REPLICA]["PORT"])
    subprocess.run(
        [str(ROOT / "scripts" / "replica.sh"), action],
        env={"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "REPLICA_DATA": data_directory, "REPLICA_PORT": port},
        check=True,
        timeout=120,
    )


def test_the_query_after_a_residents_own_declaration_reads_the_primary():
    person, payload = person_with_status()
    status_on_replica(person.pk)
    response = APIClient().post(
        "/api/v1/status/declarations/",
        {"name": payload["name"], "id_number": payload["id_number"], "city_codes": ["110105"]},
        format="json",
    )
    assert response.status_code == 201
    with captured() as reads:
        query(payload)
    assert reads["primary"] and not reads["replica"]


def test_a_staff_list_is_served_by_the_replica_and_a_read_inside_a_transaction_by_the_primary():
    from communities import services as community_services

    community = factories.organisation("community")
    worker = factories.staff(organisation=community)
    payload = factories.person_payload("李四")
    community_services.quarantine_register(
        actor=worker,
        community=community,
        person_name=payload["name"],
        id_number=payload["id_number"],
        kind="home",
        started_at=timezone.now() - timedelta(minutes=1),
    )
    replayed(lambda cursor: _quarantines_on_replica(cursor) == 1)
    client = APIClient()
    client.force_authenticate(worker)
    with CaptureQueriesContext(connections[REPLICA]) as on_replica:
        response = client.get(f"/api/v1/communities/{community.code}/quarantines/")
    assert response.status_code == 200
    assert response.json()["count"] == 1
    assert any("communities_" in q["sql"] for q in on_replica.captured_queries)

    # After their own write the worker's list comes from the primary: it shows what they just did.
    other = factories.person_payload("王五")
    response = client.post(
        f"/api/v1/communities/{community.code}/quarantines/",
        {"person": other, "kind": "home", "started_at": (timezone.now() - timedelta(minutes=1)).isoformat()},
        format="json",
    )
    assert response.status_code == 201, response.content
    with CaptureQueriesContext(connections[REPLICA]) as on_replica:
        response = client.get(f"/api/v1/communities/{community.code}/quarantines/")
    assert response.json()["count"] == 2
    assert not any("communities_" in q["sql"] for q in on_replica.captured_queries)

    with transaction.atomic():
        assert replicas.read_alias() == replicas.PRIMARY


def _quarantines_on_replica(cursor) -> int:
    cursor.execute("SELECT count(*) FROM communities_quarantinerecord")
    return cursor.fetchone()[0]
