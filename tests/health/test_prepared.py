"""The hot path's compiled query: the ORM's answer, counted like any query, prepared once on PostgreSQL."""
import pytest
from django.db import connection
from django.test import override_settings

from health.identity import id_number_digest
from health.models import HealthStatus
from health.prepared import Prepared
from health.services.persons import person_resolve
from tests import factories

FIELDS = ["person_id", "status", "reasons", "valid_until", "computed_at", "dirty"]
BY_DIGEST = Prepared(
    lambda digest: HealthStatus.objects.filter(person__id_digest=digest).order_by().values_list(*FIELDS, "person__name")[:1]
)


def server_prepared() -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT statement FROM pg_prepared_statements")
        return [statement for (statement,) in cursor.fetchall()]


@pytest.mark.django_db
def test_the_rows_are_the_querysets_rows_for_every_value(django_assert_num_queries):
    people = [person_resolve(**factories.person_payload(name)) for name in ("张三", "李四")]
    for person in people:
        queryset = BY_DIGEST.build(person.id_digest)
        with django_assert_num_queries(1):
            rows = BY_DIGEST.rows(person.id_digest)
        assert rows == [tuple(row) for row in queryset]
        assert rows[0][-1] == person.name
    assert BY_DIGEST.rows(id_number_digest(factories.id_number())) == []


def test_a_queryset_must_take_its_value_once():
    twice = Prepared(lambda value: HealthStatus.objects.filter(status=value, dirty_cause=value))
    with pytest.raises(ValueError):
        twice.rows("popup")


@pytest.mark.django_db
def test_on_postgresql_the_statement_is_prepared_once_per_connection():
    if connection.vendor != "postgresql":
        pytest.skip("prepared statements are PostgreSQL's")
    person = person_resolve(**factories.person_payload())
    for _ in range(3):
        assert BY_DIGEST.rows(person.id_digest)[0][0] == person.pk
    prepared = [statement for statement in server_prepared() if "id_digest" in statement]
    assert len(prepared) == 1
    assert "$1" in prepared[0]


@pytest.mark.django_db
def test_prepared_statements_can_be_turned_off_for_a_pooler():
    from health.prepared import _cursor

    if connection.vendor != "postgresql":
        pytest.skip("prepared statements are PostgreSQL's")
    person = person_resolve(**factories.person_payload())
    with override_settings(PREPARED_STATEMENTS=False):
        # Django's own cursor, which binds on the client and never prepares
        with _cursor(connection) as cursor:
            assert type(cursor.cursor) is type(connection.cursor().cursor)
        assert BY_DIGEST.rows(person.id_digest)[0][0] == person.pk


# serialized_rollback, as every transactional test here (tests/conftest.py refuses a plain one).
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_the_read_goes_before_the_health_check_and_survives_a_dropped_connection(monkeypatch):
    if connection.vendor != "postgresql":
        pytest.skip("connection health checks are PostgreSQL's here")
    import psycopg
    from django.db import connections, transaction

    database = connections["default"]
    person = person_resolve(**factories.person_payload("张三"))
    expected = BY_DIGEST.rows(person.id_digest)
    monkeypatch.setattr(database, "health_check_enabled", True)
    checks = []
    usable = database.is_usable
    monkeypatch.setattr(database, "is_usable", lambda: checks.append(1) or usable())
    # given a kept connection at the start of a request (what request_started does)
    database.close_if_unusable_or_obsolete()
    # when the public read runs, then it is answered with no SELECT 1 first, and counts as the check
    assert BY_DIGEST.rows(person.id_digest) == expected
    assert checks == [] and database.health_check_done
    # given the server drops that connection (a restart, an idle timeout) before the next request
    pid = database.connection.info.backend_pid
    settings = database.settings_dict
    with psycopg.connect(
        host=settings["HOST"] or "127.0.0.1", port=settings["PORT"] or 5432, user=settings["USER"],
        password=settings["PASSWORD"] or None, dbname=settings["NAME"], autocommit=True,
    ) as other:  # fmt: skip
        assert other.execute("SELECT pg_terminate_backend(%s)", [pid]).fetchone()[0]
    database.close_if_unusable_or_obsolete()
    # when the public read runs again, then it is answered all the same, on a new connection
    assert BY_DIGEST.rows(person.id_digest) == expected
    assert database.connection.info.backend_pid != pid and checks == []
    # inside a transaction nothing is deferred: Django's check runs first, as before
    database.close_if_unusable_or_obsolete()
    with transaction.atomic():
        assert BY_DIGEST.rows(person.id_digest) == expected
    assert checks == [1]
