"""Whatever JSON a client sends, the API answers 200 or a 4xx naming fields: never a 500."""
from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from tests.conftest import make_app

json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-10**6, 10**6) | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=12),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=8), children, max_size=3),
    max_leaves=8)

FIELDS = {
    "age": st.integers(-5, 140) | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=4) | st.none(),
    "sex": st.sampled_from(["female", "male", "unknown", "F", "", None]),
    "complaint": st.sampled_from(["fall", "chest pain", "cant breath", "pain", "", "zzz"]) | st.text(max_size=10),
    "answers": st.dictionaries(st.sampled_from(["gen_not_breathing", "fall_on_floor", "x"]), json_values, max_size=3)
    | json_values,
    "vitals": st.dictionaries(st.sampled_from(["heart_rate", "spo2", "consciousness", "temperature", "bogus"]),
                              json_values, max_size=3) | json_values,
    "location": st.sampled_from([{"postcode": "PR1 8XJ"}, {"postcode": "XX1"}, {"lat": 53.7, "lon": -2.7},
                                 {"lat": "a"}, {"place": "Ulverston"}, {"place": "Nowhereville"}, "PR1", None])
    | json_values,
    "at": st.sampled_from(["2026-11-23T21:30:00+00:00", "yesterday", "2026-13-40", None]) | json_values,
    "disposition": st.sampled_from(["UTC_4H", "AMB_CAT2", "NOPE", None]) | json_values,
    "requester_role": st.sampled_from(["public", "nhs111", "nwas", "gp", "king", None]) | json_values,
    "limit": st.integers(-3, 100) | json_values,
}


@pytest.fixture(scope="module")
def client(tmp_path_factory):
    app = make_app(tmp_path_factory.mktemp("fuzz"))
    app.testing = False  # let the app's own error handlers answer, as in production
    return app.test_client()


bodies = st.fixed_dictionaries({}, optional=FIELDS) | json_values


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                 HealthCheck.function_scoped_fixture])
@given(path=st.sampled_from(["triage", "route"]), body=bodies)
def test_never_a_500(client, path, body):
    resp = client.post(f"/api/v1/{path}", json=body)
    assert resp.status_code in (200, 400, 403), (resp.status_code, body, resp.get_data(as_text=True)[:300])
    data = resp.get_json()
    if resp.status_code == 403:  # an anonymous caller claimed a professional requester role
        assert set(data["errors"]) == {"requester_role"}
    if resp.status_code in (400, 403):
        assert data["errors"] and all(isinstance(v, str) and v for v in data["errors"].values())


def test_not_json_is_a_400_naming_the_body(client):
    resp = client.post("/api/v1/triage", data="age=67", content_type="application/x-www-form-urlencoded")
    assert resp.status_code == 400 and "body" in resp.get_json()["errors"]
