"""web.fastpath answers route and triage calls exactly as the Flask views do, and hands Flask every request it is not sure of."""
from __future__ import annotations

import gzip
import json

import brotli
import pytest

from tests.conftest import make_app

AT = "2026-12-02T14:30:00+00:00"  # a Wednesday afternoon: the answers do not depend on the clock
ROUTE = {"disposition": "UTC_1H", "location": {"postcode": "PR1 8XJ"}, "age": 40, "sex": "female", "at": AT}
FALL = {"disposition": "FALLS_LIFT", "location": {"postcode": "FY1 1AA"}, "age": 80, "sex": "female", "at": AT}
TRIAGE_Q = {"complaint": "fall", "age": 80, "sex": "female", "at": AT, "location": {"postcode": "LA1 1AA"}}


@pytest.fixture(scope="module")
def apps(tmp_path_factory):
    fast = make_app(tmp_path_factory.mktemp("fast"))
    slow = make_app(tmp_path_factory.mktemp("slow"), api_fast_path=False)
    for app in (fast, slow):
        accounts = app.extensions["uec"].accounts
        accounts.create_user("nwas-dispatch", "correct horse battery", "viewer", requester_role="nwas")
    tokens = [app.extensions["uec"].accounts.create_token("nwas-dispatch") for app in (fast, slow)]
    from web.fastpath import DispatchFastPath
    assert _has(fast.wsgi_app, DispatchFastPath) and not _has(slow.wsgi_app, DispatchFastPath)
    return fast, slow, tokens


def _has(wsgi_app, cls) -> bool:
    while wsgi_app is not None:
        if isinstance(wsgi_app, cls):
            return True
        wsgi_app = getattr(wsgi_app, "app", None)
    return False


def _decoded(resp) -> bytes:
    data = resp.get_data()
    enc = resp.headers.get("Content-Encoding")
    return brotli.decompress(data) if enc == "br" else gzip.decompress(data) if enc == "gzip" else data


def _same(fast_resp, slow_resp):
    assert fast_resp.status_code == slow_resp.status_code, (fast_resp.get_data()[:300], slow_resp.get_data()[:300])
    skip = {"content-length", "date"}
    fh = {(k.lower(), v) for k, v in fast_resp.headers.items() if k.lower() not in skip}
    sh = {(k.lower(), v) for k, v in slow_resp.headers.items() if k.lower() not in skip}
    assert fh == sh
    fb, sb = _decoded(fast_resp), _decoded(slow_resp)
    if fast_resp.mimetype == "application/json":
        fb, sb = json.loads(fb), json.loads(sb)
        for doc in (fb, sb):  # two databases: the directory's version counter may differ
            if isinstance(doc, dict):
                doc.pop("directory_version", None)
    assert fb == sb
    return fb


CASES = [
    ("route", ROUTE, {}),
    ("route", FALL, {}),
    ("route", {**ROUTE, "disposition": "ED_1H"}, {"Accept-Encoding": "gzip, deflate"}),
    ("route", {**ROUTE, "disposition": "PC_2H"}, {"Accept-Encoding": "gzip, deflate, br"}),
    ("route", ROUTE, {"Accept-Encoding": "br;q=1.0, gzip;q=0.5, *;q=0.1"}),   # handed to Flask-Compress
    ("route", ROUTE, {"Accept-Encoding": "identity"}),
    ("route", {**ROUTE, "include_geometry": True}, {}),
    ("route", {**ROUTE, "disposition": "NOPE"}, {}),
    ("route", {**ROUTE, "location": {"postcode": "ZZ9 9ZZ"}}, {}),
    ("route", {**ROUTE, "age": -3, "sex": "x", "limit": 0}, {}),
    ("route", {**FALL, "requester_role": "nwas"}, {}),                          # 403 without a token
    ("route", {**FALL, "requester_role": "walk_in"}, {}),
    ("triage", TRIAGE_Q, {}),
    ("triage", {**TRIAGE_Q, "answers": {"fall_cannot_get_up": "no"}}, {}),
    ("triage", {**TRIAGE_Q, "complaint": "pain"}, {}),                          # ties: 400 with candidates
    ("triage", {**TRIAGE_Q, "complaints": ["chest_pain", "breathing"], "complaint": None}, {}),
    ("triage", {"complaint": "fall"}, {}),
    ("triage", {**TRIAGE_Q, "vitals": {"heart_rate": "fast"}}, {}),
]


@pytest.mark.parametrize("kind, body, headers", CASES)
def test_fast_path_answers_as_flask_does(apps, kind, body, headers):
    fast, slow, _ = apps
    body = {k: v for k, v in body.items() if v is not None}
    got = _same(fast.test_client().post(f"/api/v1/{kind}", json=body, headers=headers),
                slow.test_client().post(f"/api/v1/{kind}", json=body, headers=headers))
    assert got  # an answer, not an empty body


def test_fast_path_with_a_professional_token(apps):
    fast, slow, (fast_token, slow_token) = apps
    body = {**FALL, "requester_role": "nwas"}
    a = fast.test_client().post("/api/v1/route", json=body, headers={"Authorization": f"Bearer {fast_token}"})
    b = slow.test_client().post("/api/v1/route", json=body, headers={"Authorization": f"Bearer {slow_token}"})
    assert a.status_code == 200 and a.get_json()["requester_role"] == "nwas"
    _same(a, b)
    # a made-up token is no token: nhs111 view, phone lines redacted, as Flask answers it
    bogus = {"Authorization": "Bearer not-a-token"}
    _same(fast.test_client().post("/api/v1/route", json=FALL, headers=bogus),
          slow.test_client().post("/api/v1/route", json=FALL, headers=bogus))


@pytest.mark.parametrize("data, content_type", [
    (b"[1, 2]", "application/json"),
    (b"{not json", "application/json"),
    (b'{"disposition": NaN}', "application/json"),
    (b'{"disposition": "UTC_1H"}', "text/plain"),
    (b"", "application/json"),
    (b"[" * 5000 + b"]" * 5000, "application/json"),
    (json.dumps(ROUTE).encode(), "application/vnd.nwas+json"),
])
def test_fast_path_hands_bad_bodies_to_flask(apps, data, content_type):
    fast, slow, _ = apps
    _same(fast.test_client().post("/api/v1/route", data=data, content_type=content_type),
          slow.test_client().post("/api/v1/route", data=data, content_type=content_type))


def test_fast_path_body_limit_and_other_methods(apps, tmp_path):
    small = make_app(tmp_path, max_body_bytes=64)
    resp = small.test_client().post("/api/v1/route", json=ROUTE)
    assert resp.status_code == 413 and "body" in resp.get_json()["errors"]
    fast, slow, _ = apps
    _same(fast.test_client().get("/api/v1/route"), slow.test_client().get("/api/v1/route"))
    _same(fast.test_client().post("/api/v1/route/", json=ROUTE), slow.test_client().post("/api/v1/route/", json=ROUTE))


def test_fast_path_counts_each_call_once_against_the_rate_limit(tmp_path):
    app = make_app(tmp_path, ratelimit_default="4 per minute")
    client = app.test_client()
    statuses = [client.post("/api/v1/route", json=ROUTE).status_code for _ in range(4)]
    statuses.append(client.post("/api/v1/route", json={**ROUTE, "disposition": "NOPE"}).status_code)
    assert statuses == [200, 200, 200, 200, 429]  # a refused call is not counted twice on its way to Flask
    refused = client.post("/api/v1/route", json=ROUTE)
    assert refused.status_code == 429 and int(refused.headers["Retry-After"]) >= 1
    assert "rate" in refused.get_json()["errors"]
    assert refused.headers["X-Content-Type-Options"] == "nosniff"  # the security headers are outside it


def test_valid_calls_do_not_reach_the_flask_views(tmp_path):
    app = make_app(tmp_path)
    reached = []
    for endpoint in ("api.route", "api.triage"):
        original = app.view_functions[endpoint]
        app.view_functions[endpoint] = (lambda original=original: reached.append(1) or original())
    client = app.test_client()
    assert client.post("/api/v1/route", json=ROUTE).status_code == 200
    assert client.post("/api/v1/triage", json=TRIAGE_Q).status_code == 200
    assert client.post("/api/v1/route", json=ROUTE, headers={"Accept-Encoding": "gzip"}).status_code == 200
    assert not reached
    assert client.post("/api/v1/route", json={**ROUTE, "disposition": "NOPE"}).status_code == 400
    assert reached == [1]  # a bad call is Flask's to answer
