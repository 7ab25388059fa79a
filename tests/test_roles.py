"""Every role's permissions, on the pages and the JSON API, on SQLite and PostgreSQL."""
import pytest

from web import auth
from web.auth import User
from admin_fixtures import accounts, app, browser, hidden, signed_in, store  # noqa: F401


class Svc:
    def __init__(self, id, lat, lon):
        self.id, self.lat, self.lon = id, lat, lon


BVH = Svc("bvh-ed", 53.8216, -3.0145)      # Blackpool Victoria (Blackpool)
RPH = Svc("rph-ed", 53.79135, -2.7074)      # Royal Preston (Preston, E07000123, in the place Lancashire)
FGH = Svc("fgh-ed", 54.1337, -3.2042)       # Furness General (Barrow, South Cumbria)


def test_permission_matrix_without_a_database():
    viewer = User("v", "viewer")
    capper = User("c", "capacity_updater", service_ids=("rph-ed",))
    bpool = User("b", "commissioner", areas=("Blackpool",))
    preston = User("p", "commissioner", areas=("e07000123",))        # codes match case-insensitively
    lancs = User("l", "commissioner", areas=("Lancashire",))          # a place covers its districts
    admin = User("a", "administrator")
    assert [auth.can_edit_service(u, BVH) for u in (viewer, capper, bpool, preston, lancs, admin)] == \
        [False, False, True, False, False, True]
    assert [auth.can_edit_service(u, RPH) for u in (viewer, capper, bpool, preston, lancs, admin)] == \
        [False, False, False, True, True, True]
    assert auth.can_set_capacity(capper, RPH) and not auth.can_set_capacity(capper, BVH)
    assert not auth.can_edit_service(capper, RPH)           # capacity only: not details nor opening times
    assert auth.can_set_capacity(bpool, BVH) and not auth.can_set_capacity(viewer, BVH)
    assert not auth.can_edit_service(None, RPH) and not auth.can_view(None) and auth.can_view(viewer)
    assert auth.can_manage_users(admin) and not any(auth.can_manage_users(u) for u in (viewer, capper, bpool))
    assert auth.can_rank(bpool, "blackpool") and not auth.can_rank(bpool, "Preston") and auth.can_rank(admin, "X")
    assert not auth.can_rank(viewer, "Blackpool") and not auth.can_rank(capper, "Blackpool")
    assert auth.can_create_at(bpool, BVH.lat, BVH.lon) and not auth.can_create_at(bpool, FGH.lat, FGH.lon)
    assert auth.can_import(bpool) and auth.can_import(admin) and not auth.can_import(capper)


def test_signed_out_is_sent_to_sign_in(browser):
    r = browser.get("/admin/services/rph-ed")
    assert r.status_code == 302 and "/admin/login?next=/admin/services/rph-ed" in r.headers["Location"]


def test_wrong_password_is_refused_and_audited_sign_in_works(browser, store):
    r = browser.login("admin", "wrong password!")
    assert r.status_code == 401 and b"not right" in r.data
    assert browser.get("/admin/").status_code == 302
    r = browser.login("admin")
    assert r.status_code == 302
    assert browser.get("/admin/").status_code == 200
    assert store.audit_log()[0]["action"] == "sign_in"
    browser.post("/admin/logout")
    assert browser.get("/admin/").status_code == 302


def test_session_cookie_is_http_only_and_secure_when_configured(app, store, tmp_path):
    from uec.config import Settings
    from uec.core import UrgentCare
    from web import create_app
    settings = Settings.from_env(database_url=store.url, var_dir=tmp_path, secret_key="k", secure_cookies=True)
    secure_app = create_app(settings, care=UrgentCare(settings, store=store))
    c = secure_app.test_client()
    c.get("/admin/login", base_url="https://localhost")
    with c.session_transaction(base_url="https://localhost") as s:
        s["_csrf"] = "t"
    r = c.post("/admin/login", data={"username": "viewer", "password": "correct horse battery", "csrf_token": "t"},
               base_url="https://localhost")
    cookie = r.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "Secure" in cookie and "SameSite=Lax" in cookie


def test_deactivated_user_is_signed_out_at_once(app, store, accounts):
    b = signed_in(app, "viewer")
    assert b.get("/admin/").status_code == 200
    accounts.update_user("viewer", role="viewer", active=False, by="admin")
    assert b.get("/admin/").status_code == 302


def test_viewer_reads_but_changes_nothing(app):
    b = signed_in(app, "viewer")
    assert b.get("/admin/services/rph-ed").status_code == 200
    assert b.get("/admin/audit").status_code == 200
    assert b.get("/admin/services/rph-ed/edit").status_code == 403
    assert b.post("/admin/services/rph-ed/capacity", {"status": "red"}).status_code == 403
    assert b.post("/admin/services/rph-ed/verify").status_code == 403
    assert b.get("/admin/users").status_code == 403
    assert b.get("/admin/import").status_code == 403
    assert b.get("/admin/services/new").status_code == 403
    assert b.post("/admin/rankings", {"area": "Blackpool", "key": "utc", "rank1": "minor_injuries_unit"}).status_code == 403


def test_capacity_updater_sets_own_capacity_only_and_cannot_change_opening_times(app, store):
    b = signed_in(app, "capper")
    r = b.post("/admin/services/rph-ed/capacity", {"status": "amber", "reset_minutes": "120"})
    assert r.status_code == 302
    s = store.get("rph-ed")
    assert (s.capacity.status, s.capacity.set_by, s.capacity.reset_minutes) == ("amber", "capper", 120)
    assert b.post("/admin/services/bvh-ed/capacity", {"status": "red"}).status_code == 403
    page = b.get("/admin/capacity").get_data(as_text=True)
    assert "Royal Preston Hospital Emergency Department" in page and "Blackpool Victoria" not in page
    # the opening-times editor and every other edit are refused, and nothing changes
    before = store.get("rph-ed")
    assert b.get("/admin/services/rph-ed/edit").status_code == 403
    r = b.post("/admin/services/rph-ed/edit", {"version": str(before.version), "opening_present": "1",
                                               "opening_mon": "09:00-10:00"})
    assert r.status_code == 403
    assert b.post("/admin/services/rph-ed/close", {"version": str(before.version), "closed_reason": "x",
                                                   "closed_until": "2030-01-01"}).status_code == 403
    assert store.get("rph-ed").opening == before.opening and store.get("rph-ed").version == before.version


def test_commissioner_edits_only_services_in_their_areas(app, store):
    b = signed_in(app, "blackpool")
    assert b.get("/admin/services/bvh-ed/edit").status_code == 200
    assert b.get("/admin/services/rph-ed/edit").status_code == 403
    assert b.post("/admin/services/rph-ed/verify").status_code == 403
    assert b.post("/admin/services/bvh-ed/verify").status_code == 302
    assert store.audit_log(service_id="bvh-ed")[0]["action"] == "verify"
    assert b.get("/admin/users").status_code == 403
    p = signed_in(app, "preston")   # areas given as a district code
    assert p.get("/admin/services/rph-ed/edit").status_code == 200
    assert p.get("/admin/services/bvh-ed/edit").status_code == 403


def test_administrator_manages_users(app, store, accounts):
    b = signed_in(app, "admin")
    r = b.post("/admin/users", {"action": "create", "username": "newbie", "password": "long enough pw",
                                "role": "commissioner", "areas": "South Cumbria, Blackpool"})
    assert r.status_code == 302
    u = accounts.user("newbie")
    assert u["role"] == "commissioner" and u["areas"] == ["South Cumbria", "Blackpool"]
    assert accounts.authenticate("newbie", "long enough pw") and u["password_hash"] != "long enough pw"
    r = b.post("/admin/users", {"action": "create", "username": "x", "password": "short", "role": "viewer"})
    assert r.status_code == 400 and b"at least 10 characters" in r.data
    r = b.post("/admin/users", {"action": "update", "username": "newbie", "role": "viewer", "areas": "", "active": ""})
    assert r.status_code == 302 and accounts.user("newbie")["active"] is False
    assert [e["action"] for e in store.audit_log(limit=2)] == ["update_user", "create_user"]


def test_api_roles(app, store, accounts):
    c = app.test_client()
    tokens = {u: accounts.create_token(u) for u in ("viewer", "capper", "blackpool", "admin")}
    h = lambda u: {"Authorization": f"Bearer {tokens[u]}"}   # noqa: E731
    cap = lambda u, sid: c.put(f"/api/v1/services/{sid}/capacity", json={"status": "red"}, headers=h(u))  # noqa: E731
    assert cap("capper", "rph-ed").status_code == 200
    assert cap("capper", "bvh-ed").status_code == 403
    assert cap("viewer", "rph-ed").status_code == 403
    assert cap("blackpool", "bvh-ed").status_code == 200
    r = c.get("/api/v1/services/rph-ed", headers=h("viewer"))
    body = r.get_json()
    put = lambda u: c.put("/api/v1/services/rph-ed", json=body | {"notes": u}, headers=h(u) | {"If-Match": r.headers["ETag"]})  # noqa: E731
    assert put("capper").status_code == 403          # capacity only: not the opening times or details
    assert put("viewer").status_code == 403
    assert put("blackpool").status_code == 403       # not in Blackpool
    assert put("admin").status_code == 200
    assert c.put("/api/v1/services/rph-ed/capacity", json={"status": "red"}).status_code == 401
    assert c.put("/api/v1/services/rph-ed/capacity", json={"status": "red"},
                 headers={"Authorization": "Bearer uec_forged"}).status_code == 401


def test_ranking_areas_are_stored_as_routing_names_them():
    assert auth.canonical_area("preston") == "E07000123"        # a district name becomes its code
    assert auth.canonical_area("e07000123") == "E07000123"
    assert auth.canonical_area("blackpool") == "Blackpool"      # Blackpool and Blackburn with Darwen are places
    assert auth.canonical_area("south cumbria") == "South Cumbria"
    c = User("c", "commissioner", areas=("Preston",))
    assert auth.rankable_areas(c) == ["E07000123"] and auth.can_rank(c, "E07000123") and auth.can_rank(c, "preston")
    assert not auth.can_rank(c, "Chorley")
