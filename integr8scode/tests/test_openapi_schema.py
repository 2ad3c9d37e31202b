"""The OpenAPI schema is true: requests generated from it (schemathesis: valid ones, ones that
break it, boundary values, methods an operation does not have), sent to a real server over real
HTTP, anonymously and with a token, get no server error and no answer the schema does not
describe (status, content type, body, headers), and the ones that break it are refused."""

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    allow_header_conformance,
    content_type_conformance,
    negative_data_rejection,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
    unsupported_method,
)

from accounts.tests.live import live_tokens, live_user
from integr8scode.api import api

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    response_headers_conformance,
    negative_data_rejection,
    unsupported_method,
    allow_header_conformance,
]
# Bounded, to run in well under a minute on a small machine: a few random examples per
# operation, the deterministic coverage cases (a few dozen per operation), no stateful
# sequences, no example database on disk.
CONFIG = {
    "phases": {"stateful": {"enabled": False}},
    "generation": {"max-examples": 8, "database": "none"},
}
# Built here rather than fetched from the live server at collection time (schemathesis'
# from_fixture does not work with pytest 9); the first test checks the server serves this one.
schema = schemathesis.openapi.from_dict(api.get_openapi_schema(), config=schemathesis.Config.from_dict(CONFIG))
bounded = settings(deadline=10_000, suppress_health_check=list(HealthCheck))


@pytest.fixture(scope="module")
def token(daphne_server) -> str:
    live_user(daphne_server, "schema-prober")
    with httpx.Client(base_url=daphne_server.url, timeout=30) as client:
        return live_tokens(client, "schema-prober")["access_token"]


def test_the_server_serves_the_schema_these_tests_are_generated_from(http):
    assert http.get("/api/openapi.json").json() == schema.raw_schema


@schema.parametrize()
@bounded
def test_anonymous_callers_get_only_answers_the_schema_describes(case, daphne_server):
    response = case.call_and_validate(base_url=daphne_server.url, checks=CHECKS, timeout=30)  # raises if not
    assert response.status_code < 500


@schema.parametrize()
@bounded
def test_callers_with_a_token_get_only_answers_the_schema_describes(case, daphne_server, token):
    response = case.call_and_validate(
        base_url=daphne_server.url, headers={"Authorization": f"Bearer {token}"}, checks=CHECKS, timeout=30
    )
    assert response.status_code < 500


def test_the_api_docs_fit_a_phone_and_lead_back_to_the_site(client):
    page = client.get("/api/docs")
    html = page.content.decode()
    assert page.status_code == 200
    assert '<meta name="viewport" content="width=device-width, initial-scale=1">' in html
    assert '<a href="/">' in html and "swagger-ui-bundle" in html
