"""The OpenAPI schema of the core app's endpoints: generated without warnings, with request and response bodies."""
from django.urls import include, path
from drf_spectacular.drainage import GENERATOR_STATS
from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.validation import validate_schema


def test_core_endpoints_generate_a_valid_schema_without_warnings(db):
    GENERATOR_STATS.reset()
    generator = SchemaGenerator(patterns=[path("api/v1/", include("health.api.urls"))])
    schema = generator.get_schema(request=None, public=True)
    validate_schema(schema)
    assert not GENERATOR_STATS, (dict(GENERATOR_STATS._warn_cache), dict(GENERATOR_STATS._error_cache))
    paths = schema["paths"]
    assert set(paths) == {
        "/api/v1/auth/token/",
        "/api/v1/risk-areas/",
        "/api/v1/risk-areas/{id}/",
        "/api/v1/risk-areas/{id}/withdraw/",
        "/api/v1/designations/",
        "/api/v1/designations/{id}/clear/",
        "/api/v1/designations/{id}/withdraw/",
        "/api/v1/itinerary/stays/",
        "/api/v1/status/query/",
        "/api/v1/status/declarations/",
        "/api/v1/status/corrections/",
        "/api/v1/persons/status/",
        "/api/v1/persons/correct-name/",
        "/api/v1/persons/merge/",
    }
    assert set(paths["/api/v1/itinerary/stays/"]["post"]["responses"]) == {"201", "400", "401", "403", "409"}
    assert paths["/api/v1/status/query/"]["post"].get("security", []) in ([], [{}])  # no credentials
    assert paths["/api/v1/status/corrections/"]["post"].get("security", []) in ([], [{}])
    assert set(paths["/api/v1/status/corrections/"]["post"]["responses"]) == {"202", "400", "429"}
    assert {"tokenAuth": []} in paths["/api/v1/persons/status/"]["post"]["security"]
    assert "requestBody" in paths["/api/v1/persons/status/"]["post"]
    assert {"200", "400", "401", "403", "404"} <= set(paths["/api/v1/persons/correct-name/"]["post"]["responses"])
    for withdraw in ("/api/v1/risk-areas/{id}/withdraw/", "/api/v1/designations/{id}/withdraw/"):
        operation = paths[withdraw]["post"]
        assert {"200", "400", "401", "403", "404"} <= set(operation["responses"])
        body = operation["requestBody"]["content"]["application/json"]["schema"]
        assert body == {"$ref": "#/components/schemas/WithdrawInputRequest"}
    assert schema["components"]["schemas"]["WithdrawInputRequest"]["required"] == ["reason"]


def test_an_unknown_api_path_answers_json_404(api, db):
    response = api.post("/api/v1/checkins/not-a-number/checkout/", {}, format="json")
    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"
    assert response.json() == {"detail": "未找到。"}


def test_every_operation_declares_the_contracts_error_answers(api, db):
    schema = api.get("/api/v1/schema/?format=json").json()
    lift = schema["paths"]["/api/v1/quarantines/{id}/lift/"]["post"]["responses"]
    assert {"200", "400", "401", "403", "404", "409"} <= set(lift)
    query = schema["paths"]["/api/v1/status/query/"]["post"]["responses"]
    assert {"200", "400", "429"} <= set(query) and "401" not in query
