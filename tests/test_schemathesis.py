"""Schemathesis against the live app (served over HTTP on loopback): every operation of the OpenAPI
document, valid and invalid inputs, 0 server errors and every answer conforming to the document.

Bounded for CI by UEC_FUZZ_EXAMPLES (default 25 per operation and mode, about 400 requests);
`scripts/fuzz-api` runs the same with thousands."""
from __future__ import annotations

import os

import pytest
import schemathesis
import requests
from hypothesis import HealthCheck, given, settings

from tests.conftest import make_app, serve

EXAMPLES = int(os.environ.get("UEC_FUZZ_EXAMPLES", "25"))


@pytest.fixture(scope="module")
def live(tmp_path_factory):
    app = make_app(tmp_path_factory.mktemp("schemathesis"), ratelimit_enabled=False)
    with serve(app) as url:
        yield url


@pytest.fixture(scope="module")
def api_schema(live):
    return schemathesis.openapi.from_url(f"{live}/api/v1/openapi.json")


OPERATIONS = [("POST", "/api/v1/triage"), ("POST", "/api/v1/route"), ("GET", "/api/v1/complaints"),
              ("GET", "/api/v1/dispositions"), ("GET", "/api/v1/services"), ("GET", "/api/v1/coverage"),
              ("GET", "/api/v1/health"), ("GET", "/api/v1/openapi.json")]


@pytest.mark.parametrize("mode", [schemathesis.GenerationMode.POSITIVE, schemathesis.GenerationMode.NEGATIVE],
                         ids=["valid", "invalid"])
@pytest.mark.parametrize("method,path", OPERATIONS, ids=[p.rsplit("/", 1)[1] for _, p in OPERATIONS])
def test_api_conforms_and_never_errors(api_schema, live, method, path, mode):
    operation = api_schema[path][method]
    if mode is schemathesis.GenerationMode.NEGATIVE and method == "GET" and not operation.query:
        pytest.skip("no inputs to make invalid")
    examples = EXAMPLES if path not in ("/api/v1/coverage",) else max(3, EXAMPLES // 5)  # 0.1-1.5 s a call
    session = requests.Session()

    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(max_examples=examples, deadline=None, derandomize=True, database=None,
              suppress_health_check=list(HealthCheck))
    def run(case):
        # every built-in check but "schema-valid data is accepted": a request can be well-formed and still
        # name a complaint the words do not match, or a postcode that does not exist (a 400 naming it)
        case.call_and_validate(base_url=live, session=session, timeout=60,
                               excluded_checks=[schemathesis.checks.positive_data_acceptance])

    run()


def test_document_is_openapi_3_1_and_covers_every_route(live):
    doc = requests.get(f"{live}/api/v1/openapi.json", timeout=10).json()
    assert doc["openapi"] == "3.1.0"
    for path in ("/api/v1/triage", "/api/v1/route", "/api/v1/complaints", "/api/v1/dispositions",
                 "/api/v1/services", "/api/v1/coverage", "/api/v1/health"):
        assert path in doc["paths"], path
    assert "429" in doc["paths"]["/api/v1/route"]["post"]["responses"]
    assert "413" in doc["paths"]["/api/v1/triage"]["post"]["responses"]
