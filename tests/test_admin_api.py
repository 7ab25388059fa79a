"""JSON admin API: ETag/If-Match versions (412/428), create, capacity, field errors, never a 500."""
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from admin_fixtures import accounts, app, store  # noqa: F401


@pytest.fixture
def api(app, store, accounts):
    c = app.test_client()
    token = accounts.create_token("admin")
    c.auth = {"Authorization": f"Bearer {token}"}
    return c


def test_get_returns_the_service_with_its_version_as_etag(api, store):
    r = api.get("/api/v1/services/rph-ed", headers=api.auth)
    assert r.status_code == 200 and r.headers["ETag"] == f'"{store.get("rph-ed").version}"'
    body = r.get_json()
    assert body["id"] == "rph-ed" and body["opening"] == {"always": True} and body["capacity"]["status"] == "unknown"
    assert api.get("/api/v1/services/nope", headers=api.auth).status_code == 404


def test_put_with_if_match_updates_stale_gets_412_missing_gets_428(api, store):
    r = api.get("/api/v1/services/rph-utc", headers=api.auth)
    etag, body = r.headers["ETag"], r.get_json()
    new = body | {"phone_public": "01772 000001"}
    assert api.put("/api/v1/services/rph-utc", json=new).status_code == 401            # no token
    r = api.put("/api/v1/services/rph-utc", json=new, headers=api.auth)
    assert r.status_code == 428 and r.get_json()["current_version"] == body["version"]
    r = api.put("/api/v1/services/rph-utc", json=new, headers=api.auth | {"If-Match": etag})
    assert r.status_code == 200 and r.headers["ETag"] == f'"{body["version"] + 1}"'
    assert store.get("rph-utc").phone_public == "01772 000001"
    # a second writer holding the old ETag is refused and shown the current version
    r = api.put("/api/v1/services/rph-utc", json=body | {"phone_public": "01772 999999"},
                headers=api.auth | {"If-Match": etag})
    assert r.status_code == 412
    j = r.get_json()
    assert j["current_version"] == body["version"] + 1 and j["current"]["phone_public"] == "01772 000001"
    assert store.get("rph-utc").phone_public == "01772 000001"
    assert api.put("/api/v1/services/rph-utc", json=new, headers=api.auth | {"If-Match": "abc"}).status_code == 400
    assert store.audit_log(service_id="rph-utc")[0]["user"] == "admin"


def test_put_reports_field_errors_and_refuses_a_missing_timetable(api, store):
    r = api.get("/api/v1/services/rph-utc", headers=api.auth)
    body = r.get_json()
    bad = body | {"opening": None, "type": "hospital", "age_max": "old", "colour": "blue", "id": "rph-utc"}
    r = api.put("/api/v1/services/rph-utc", json=bad, headers=api.auth | {"If-Match": r.headers["ETag"]})
    errors = r.get_json()["errors"]
    assert r.status_code == 400
    assert {"opening", "type", "colour"} <= set(errors) and "24/7" in errors["opening"]
    r = api.put("/api/v1/services/rph-utc", json=body | {"id": "other"}, headers=api.auth | {"If-Match": '"1"'})
    assert r.status_code == 400 and "id" in r.get_json()["errors"]


def test_post_creates_and_put_capacity(api, store):
    new = {"id": "test-miu", "name": "Test MIU", "type": "minor_injuries_unit", "provider": "Test", "address": "1 St",
           "postcode": "LA9 7RG", "opening": {"weekly": {"daily": ["08:00-20:00"]}}}
    r = api.post("/api/v1/services", json=new, headers=api.auth)
    assert r.status_code == 201 and r.headers["ETag"] == '"1"' and r.headers["Location"].endswith("/test-miu")
    assert store.get("test-miu").lat == pytest.approx(54.3, abs=0.1)          # located from the postcode
    assert api.post("/api/v1/services", json=new, headers=api.auth).status_code == 400   # id taken
    assert api.post("/api/v1/services", data="not json", headers=api.auth).status_code == 400
    r = api.put("/api/v1/services/test-miu/capacity", json={"status": "red", "reset_minutes": 60}, headers=api.auth)
    assert r.status_code == 200 and r.get_json()["capacity"]["status"] == "red"
    r = api.put("/api/v1/services/test-miu/capacity", json={"status": "black"}, headers=api.auth)
    assert r.status_code == 400 and "status" in r.get_json()["errors"]
    r = api.put("/api/v1/services/test-miu/capacity", json={"status": "red", "reset_minutes": 5}, headers=api.auth)
    assert r.status_code == 400 and "reset_minutes" in r.get_json()["errors"]


_json = st.recursive(st.none() | st.booleans() | st.integers(-10**6, 10**6) | st.floats(allow_nan=False) | st.text(max_size=12),
                     lambda kids: st.lists(kids, max_size=3) | st.dictionaries(st.text(max_size=8), kids, max_size=3),
                     max_leaves=8)
_keys = st.sampled_from(["id", "name", "type", "postcode", "lat", "lon", "opening", "catchment", "mobile", "accepts",
                         "referral_routes", "age_min", "age_max", "sex", "status", "closed_from", "verified_on",
                         "last_arrival_minutes"])


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(changes=st.dictionaries(_keys, _json, max_size=4))
def test_never_500_on_odd_input(api, changes):
    body = api.get("/api/v1/services/rph-utc", headers=api.auth).get_json()
    r = api.put("/api/v1/services/rph-utc", json=body | changes, headers=api.auth | {"If-Match": f'"{body["version"]}"'})
    assert r.status_code in (200, 400, 403), r.get_json()
    r = api.post("/api/v1/services", json=changes, headers=api.auth)
    assert r.status_code in (201, 400, 403), r.get_json()
    r = api.put("/api/v1/services/rph-utc/capacity", json=changes, headers=api.auth)
    assert r.status_code in (200, 400), r.get_json()


def test_the_single_record_needs_a_token(api):
    # it holds the professional phone line and who set the capacity; GET /api/v1/services is the public view
    assert api.put("/api/v1/services/rph-ed/capacity", json={"status": "amber"}, headers=api.auth).status_code == 200
    r = api.get("/api/v1/services/rph-ed")
    assert r.status_code == 401 and r.headers["WWW-Authenticate"] and "phone_professional" not in r.get_data(as_text=True)
    assert api.get("/api/v1/services/rph-ed", headers={"Authorization": "Bearer uec_made_up"}).status_code == 401
    assert api.get("/api/v1/services/rph-ed", headers=api.auth).get_json()["capacity"]["set_by"] == "admin"
