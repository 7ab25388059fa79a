"""Schemathesis against the live app (served over HTTP on loopback): every operation of the OpenAPI
document, valid and invalid inputs, 0 server errors and every answer conforming to the document.
The admin API and intelligence operations are fuzzed with a valid administrator's bearer token (made
here), their service ids drawn partly from the real directory so that writes reach the checks behind
the 404; `ignored_auth` confirms each one refuses a request without it.

Bounded for CI by UEC_FUZZ_EXAMPLES (default 25 per operation and mode, about 400 requests);
`scripts/fuzz-api` runs the same with thousands."""
from __future__ import annotations

import os

import pytest
import schemathesis
import requests
from hypothesis import HealthCheck, given, settings, strategies as st

from tests.conftest import make_app, serve

EXAMPLES = int(os.environ.get("UEC_FUZZ_EXAMPLES", "25"))


@schemathesis.serializer("text/csv")
def _csv(ctx, value):
    return value.encode() if isinstance(value, str) else str(value).encode()


schemathesis.serializer.alias("application/geo+json", "application/json")


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    app = make_app(tmp_path_factory.mktemp("schemathesis"), ratelimit_enabled=False)
    with serve(app) as url:
        yield app, url


@pytest.fixture(scope="module")
def live(served):
    return served[1]


@pytest.fixture(scope="module")
def admin_token(served):
    """An administrator's API token, made as `uec create-admin` and `uec create-token` would."""
    accounts = served[0].extensions["uec"].accounts
    accounts.create_user("fuzz-admin", "fuzzing password 1", "administrator")
    return accounts.create_token("fuzz-admin", "schemathesis", by="test")


@pytest.fixture(scope="module")
def service_ids(served):
    return sorted(s.id for s in served[0].extensions["uec"].snapshot().services)[:40]


@pytest.fixture(scope="module")
def api_schema(live):
    return schemathesis.openapi.from_url(f"{live}/api/v1/openapi.json")


OPERATIONS = [("POST", "/api/v1/triage"), ("POST", "/api/v1/route"), ("GET", "/api/v1/complaints"),
              ("GET", "/api/v1/dispositions"), ("GET", "/api/v1/services"), ("GET", "/api/v1/coverage"),
              ("GET", "/api/v1/health"), ("GET", "/api/v1/openapi.json")]
ADMIN_OPERATIONS = [("GET", "/api/v1/services/{service_id}"), ("PUT", "/api/v1/services/{service_id}"),
                    ("POST", "/api/v1/services"), ("PUT", "/api/v1/services/{service_id}/capacity"),
                    ("GET", "/api/v1/export/{fmt}"), ("POST", "/api/v1/import/{fmt}"),
                    ("GET", "/api/v1/intelligence/summary"), ("POST", "/api/v1/whatif"),
                    ("POST", "/api/v1/outcomes/{ref}/chosen")]
SLOW = {"/api/v1/coverage": 5, "/api/v1/whatif": 5}  # 0.1-1.5 s a call (what-if: seconds): a fifth the examples


@pytest.mark.parametrize("mode", [schemathesis.GenerationMode.POSITIVE, schemathesis.GenerationMode.NEGATIVE],
                         ids=["valid", "invalid"])
@pytest.mark.parametrize("method,path", OPERATIONS, ids=[p.rsplit("/", 1)[1] for _, p in OPERATIONS])
def test_api_conforms_and_never_errors(api_schema, live, method, path, mode):
    _fuzz(api_schema, live, method, path, mode, strategy=None, headers=None)


@pytest.mark.parametrize("mode", [schemathesis.GenerationMode.POSITIVE, schemathesis.GenerationMode.NEGATIVE],
                         ids=["valid", "invalid"])
@pytest.mark.parametrize("method,path", ADMIN_OPERATIONS,
                         ids=[f"{m.lower()}-{p[8:].replace('/', '-')}" for m, p in ADMIN_OPERATIONS])
def test_admin_and_intelligence_api_conform_and_never_error(api_schema, live, admin_token, service_ids, method,
                                                            path, mode):
    """The same with a valid token, so the checks behind authentication are what gets fuzzed."""
    operation = api_schema[path][method]
    strategy = operation.as_strategy(generation_mode=mode)
    if "{service_id}" in path and mode is schemathesis.GenerationMode.POSITIVE:
        def real_id(pair):  # half the cases name a real service, so the write checks run, not only the 404
            case, sid = pair
            if sid is not None:
                case.path_parameters = {**(case.path_parameters or {}), "service_id": sid}
            return case
        strategy = st.tuples(strategy, st.sampled_from(service_ids) | st.none()).map(real_id)
    if path == "/api/v1/whatif" and mode is schemathesis.GenerationMode.POSITIVE:
        def real_changes(pair):  # and some what-ifs change a real service, so the scenario is really run
            case, sid, action = pair
            if sid is not None and isinstance(case.body, dict):
                case.body = {**case.body, "changes": [{"service": sid, action: True}], "weeks": 1}
            return case
        strategy = st.tuples(strategy, st.sampled_from(service_ids) | st.none(),
                             st.sampled_from(["close", "open"])).map(real_changes)
    if mode is schemathesis.GenerationMode.NEGATIVE:
        # the token is sent on every case, so a case made invalid only by leaving out the Authorization
        # header is sent valid: those are ignored_auth's to check (it sends them without the token)
        from schemathesis.core.parameters import ParameterLocation
        strategy = strategy.filter(lambda case: not (case.meta and case.meta.is_negative_at(ParameterLocation.HEADER)))
    _fuzz(api_schema, live, method, path, mode, strategy=strategy,
          headers={"Authorization": f"Bearer {admin_token}"})


def _fuzz(api_schema, live, method, path, mode, *, strategy, headers):
    operation = api_schema[path][method]
    if mode is schemathesis.GenerationMode.NEGATIVE and method == "GET" and not operation.query:
        pytest.skip("no inputs to make invalid")
    examples = EXAMPLES if path not in SLOW else max(3, EXAMPLES // SLOW[path])
    session = requests.Session()
    strategy = strategy if strategy is not None else operation.as_strategy(generation_mode=mode)

    @given(case=strategy)
    @settings(max_examples=examples, deadline=None, derandomize=True, database=None,
              suppress_health_check=list(HealthCheck))
    def run(case):
        # every built-in check but "schema-valid data is accepted": a request can be well-formed and still
        # name a complaint the words do not match, or a postcode that does not exist (a 400 naming it)
        case.call_and_validate(base_url=live, session=session, timeout=60, headers=headers,
                               excluded_checks=[schemathesis.checks.positive_data_acceptance])

    run()


def test_document_is_openapi_3_1_and_covers_every_route(live):
    doc = requests.get(f"{live}/api/v1/openapi.json", timeout=10).json()
    assert doc["openapi"] == "3.1.0"
    for path in ("/api/v1/triage", "/api/v1/route", "/api/v1/complaints", "/api/v1/dispositions",
                 "/api/v1/services", "/api/v1/coverage", "/api/v1/health", *(p for _, p in ADMIN_OPERATIONS)):
        assert path in doc["paths"], path
    assert "429" in doc["paths"]["/api/v1/route"]["post"]["responses"]
    assert "413" in doc["paths"]["/api/v1/triage"]["post"]["responses"]
