"""Schemathesis against the project's own OpenAPI schema, in-process through the WSGI app, as an administrator:
no 500s, every answer's content type and body conform to the schema, and every status code is either
documented on the operation or one of the errors the API contract defines for all (shared/spec/api.md)."""
import pytest
import schemathesis
from django.core.wsgi import get_wsgi_application
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import content_type_conformance, response_schema_conformance

from tests import factories

schema = schemathesis.openapi.from_wsgi("/api/v1/schema/", get_wsgi_application())

# api.md, "Errors": 400 invalid input, 401 no credentials, 403 the kind may not act, 404 not theirs or
# absent, 409 a name contradicting a known ID number, 429 throttled; 415 is DRF's answer to a body that
# is not JSON. Several operations do not list them all (reported to their owners).
CONTRACT_ERRORS = {400, 401, 403, 404, 409, 415, 429}
UNDOCUMENTED: dict[str, set[int]] = {}


@schemathesis.check
def status_code_in_contract(ctx, response, case):
    documented = {int(code) for code in case.operation.responses.status_codes if code.isdigit()}
    if case.method.upper() != case.operation.method.upper():
        # Schemathesis also tries other methods on the route: 405, or DRF's OPTIONS description (200).
        if response.status_code not in (200, 405) or (response.status_code == 200 and case.method.upper() != "OPTIONS"):
            raise AssertionError(f"{case.method} answered {response.status_code}")
        return None
    if response.status_code in documented:
        return None
    if response.status_code not in CONTRACT_ERRORS:
        raise AssertionError(f"{response.status_code} is neither documented ({sorted(documented)}) nor a contract error")
    UNDOCUMENTED.setdefault(case.operation.label, set()).add(response.status_code)
    return None


CHECKS = [not_a_server_error, status_code_in_contract, content_type_conformance, response_schema_conformance]


@pytest.fixture
def in_test_transaction():
    """Requests go straight to the WSGI app: keep Django from closing the test's connection at each request,
    as its own test client does (the connection is inside the test's transaction)."""
    from django.core import signals
    from django.db import close_old_connections

    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


@pytest.fixture
def admin_token(db, in_test_transaction):
    for kind in ("community", "hotel"):
        factories.organisation(kind, "X-1")
    return factories.staff("schemathesis-admin", admin=True).auth_token.key


@schema.parametrize()
@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
def test_the_api_conforms_to_its_schema_and_never_fails(case, admin_token):
    case.call_and_validate(headers={"Authorization": f"Token {admin_token}"}, checks=CHECKS)


def test_an_empty_csv_feed_is_a_400(db, client_for):
    border = factories.staff("schemathesis-border", organisation=factories.department("border"))
    response = client_for(border).generic("POST", "/api/v1/entrants/import/", b"", content_type="text/csv")
    assert response.status_code == 400
