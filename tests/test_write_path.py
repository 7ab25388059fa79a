"""The one write path and fault isolation: bounded input, quarantined records, hostile files, a database outage."""
from __future__ import annotations

import csv
import io
import json
import threading

import pytest
from sqlalchemy import select, update

from admin_fixtures import accounts, app, signed_in, store  # noqa: F401
from directory import exports
from directory import tables as t
from directory.model import ServiceError, service_from_dict
from uec.directory_service import Forbidden

PRESTON = {"postcode": "PR1 8XJ"}
AT = "2026-11-25T14:00:00+00:00"  # a Wednesday afternoon


def _corrupt(store, service_id: str, **fields) -> None:
    """Write a record as an old version of the app (or a hand edit) might have left it: no checks at all."""
    with store.engine.begin() as conn:
        data = dict(conn.execute(select(t.services.c.data).where(t.services.c.id == service_id)).scalar_one())
        for k, v in fields.items():
            data[k] = v
        conn.execute(update(t.services).where(t.services.c.id == service_id).values(data=data))
        conn.execute(update(t.meta).where(t.meta.c.key == "directory_version").values(value=t.meta.c.value + 1))


def _refresh(app) -> None:
    """Make this process's routing snapshot catch up with the database now (the poller would within a second)."""
    care = app.extensions["uec"]
    getattr(care, "refresh_snapshot", care.snapshot)()


def _nan(store):
    """NaN as the database will keep it: a float on SQLite; PostgreSQL's JSON refuses NaN, so the text 'NaN'."""
    return float("nan") if store.engine.dialect.name == "sqlite" else "NaN"


def _route(client, disposition: str, location=None) -> dict:
    r = client.post("/api/v1/route", json={"disposition": disposition, "location": location or PRESTON, "at": AT})
    assert r.status_code == 200, r.get_data(as_text=True)[:400]
    return r.get_json()


def _token(accounts, who="admin"):
    return {"Authorization": f"Bearer {accounts.create_token(who)}"}


def _strict_json(text: str):
    def bad(name):
        raise ValueError(f"not JSON: {name}")
    return json.loads(text, parse_constant=bad)


# -- quarantine: a record the snapshot cannot use never stops routing -----------------------------
def test_verified_on_9999_on_one_ed_leaves_ed_ambulance_and_utc_routing_working(app, store):
    _corrupt(store, "rph-ed", verified_on="9999-12-31")
    _refresh(app)
    c = app.test_client()
    for code in ("ED_1H", "AMB_CAT2", "UTC_4H"):
        data = _route(c, code)
        assert data["services"] and "rph-ed" not in [s["id"] for s in data["services"]]
    ed = _route(c, "ED_4H")
    assert {s["id"] for s in ed["services"]} & {"cdh-ed", "rbh-ed", "bvh-ed"}
    health = c.get("/api/v1/health").get_json()
    assert health["status"] == "degraded"
    [q] = health["quarantined"]
    assert q["id"] == "rph-ed" and "verified_on" in q["reasons"]
    b = signed_in(app, "admin")
    index = b.get("/admin/").get_data(as_text=True)
    assert "left out of routing" in index and "rph-ed" in index
    assert b.get("/admin/verification").status_code == 200
    edit = b.get("/admin/services/rph-ed/edit")
    assert edit.status_code == 200 and "Quarantined" in edit.get_data(as_text=True)


def test_verified_on_far_in_the_future_is_refused_on_write(app, store, accounts):
    c = app.test_client()
    h = _token(accounts)
    s = c.get("/api/v1/services/cdh-ed", headers=h).get_json()
    body = {k: v for k, v in s.items() if k not in ("capacity", "version")}
    r = c.put("/api/v1/services/cdh-ed", json=body | {"verified_on": "9999-12-31"}, headers=h | {"If-Match": f'"{s["version"]}"'})
    assert r.status_code == 400 and "verified_on" in r.get_json()["errors"]
    r = c.put("/api/v1/services/cdh-ed", json=body | {"verified_on": "0001-01-01", "lat": 10 ** 400, "age_min": 1e400},
              headers=h | {"If-Match": f'"{s["version"]}"'})
    errors = set(r.get_json()["errors"])  # huge numbers are refused at the body edge, before field checks
    assert r.status_code == 400 and ({"verified_on", "lat", "age_min"} <= errors or "body" in errors)


def test_mobile_base_at_nan_is_quarantined_and_later_closures_still_count(app, store, accounts):
    svc = store.get("progress-falls-lifting")
    bases = [dict(name=b.name, postcode=b.postcode, lat=b.lat, lon=b.lon) for b in svc.mobile_bases]
    bases[0]["lat"] = _nan(store)
    _corrupt(store, "progress-falls-lifting", mobile={"bases": bases})
    _refresh(app)
    c = app.test_client()
    before = _route(c, "FALLS_LIFT")
    assert "progress-falls-lifting" not in [s["id"] for s in before["services"]]
    assert "progress-falls-lifting" in [q["id"] for q in c.get("/api/v1/health").get_json()["quarantined"]]
    # a closure saved afterwards is seen by routing: the snapshot is not frozen by the bad record
    first = _route(c, "ED_1H")["services"][0]["id"]
    h = _token(accounts)
    cur = c.get(f"/api/v1/services/{first}", headers=h).get_json()
    body = {k: v for k, v in cur.items() if k not in ("capacity", "version")} | {
        "status": "temporarily_closed", "closed_reason": "flood", "closed_from": "2026-11-01", "closed_until": "2026-12-31"}
    r = c.put(f"/api/v1/services/{first}", json=body, headers=h | {"If-Match": f'"{cur["version"]}"'})
    assert r.status_code == 200, r.get_json()
    _refresh(app)
    assert first not in [s["id"] for s in _route(c, "ED_1H")["services"]]


def test_numeric_notes_leave_the_fhir_export_working_for_everyone(app, store, accounts):
    _corrupt(store, "cdh-utc", notes=12345)
    b = signed_in(app, "admin")
    r = b.get("/admin/export/fhir")
    assert r.status_code == 200
    bundle = _strict_json(r.get_data(as_text=True))
    ids = json.dumps(bundle)
    assert '"rph-ed' in ids and "cdh-utc" not in ids
    assert b.get("/admin/export/csv").status_code == 200 and b.get("/admin/export/geojson").status_code == 200
    c = app.test_client()
    cur = c.get("/api/v1/services/rph-utc", headers=_token(accounts)).get_json()
    body = {k: v for k, v in cur.items() if k not in ("capacity", "version")} | {"notes": 123}
    r = c.put("/api/v1/services/rph-utc", json=body, headers=_token(accounts) | {"If-Match": f'"{cur["version"]}"'})
    assert r.status_code == 400 and r.get_json()["errors"]["notes"] == "must be text"


def test_age_min_nan_keeps_the_services_list_valid_json(app, store):
    _corrupt(store, "rph-utc", age_min=_nan(store))
    _refresh(app)
    c = app.test_client()
    r = c.get("/api/v1/services")
    assert r.status_code == 200
    data = _strict_json(r.get_data(as_text=True))
    assert "rph-utc" not in [s["id"] for s in data["services"]] and data["count"] > 50
    with pytest.raises(ServiceError) as exc:
        service_from_dict(store.get("cdh-utc").to_dict() | {"age_min": float("nan")})
    assert "age_min" in exc.value.errors


def test_model_bounds_every_field():
    from directory.store import BUNDLED
    import yaml
    good = yaml.safe_load(BUNDLED.read_text())["services"][0]
    bad = {"lat": float("inf"), "lon": True, "age_max": 131, "notes": ["x"], "name": "n" * 201,
           "last_arrival_minutes": 2 ** 60, "verified_on": "1999-12-31", "referral_only": "no",
           "mobile": {"bases": [{"name": "x", "lat": 51.5, "lon": -0.1}]}, "opening": {"always": "yes"}}
    with pytest.raises(ServiceError) as exc:
        service_from_dict(good | bad)
    assert {"lat", "lon", "age_max", "notes", "name", "last_arrival_minutes", "verified_on", "referral_only",
            "mobile.bases[0]", "opening.always"} <= set(exc.value.errors)


# -- hostile files ---------------------------------------------------------------------------------
def _import(app, accounts, text: str):
    return app.test_client().post("/api/v1/import/csv", data=text.encode(), headers=_token(accounts))


def test_csv_row_shorter_than_its_header_is_named_not_a_crash(app, store, accounts):
    v0 = store.directory_version()
    text = exports.to_csv(store.services()[:3])
    lines = text.splitlines()
    lines[2] = ",".join(next(csv.reader([lines[2]]))[:5])
    r = _import(app, accounts, "\n".join(lines) + "\n")
    assert r.status_code == 400 and "row 2.columns" in r.get_json()["errors"]
    assert store.directory_version() == v0


def test_csv_cell_over_131072_characters_is_named_not_a_crash(app, store, accounts):
    rows = list(csv.DictReader(io.StringIO(exports.to_csv(store.services()[:2]))))
    rows[1]["notes"] = "x" * 131_073
    out = io.StringIO()
    w = csv.DictWriter(out, fieldnames=exports.CSV_COLUMNS, lineterminator="\n")
    w.writeheader()
    w.writerows(rows)
    r = _import(app, accounts, out.getvalue())
    assert r.status_code == 400
    errors = r.get_json()["errors"]
    assert any(k.startswith("row 2") for k in errors), errors


def test_csv_with_cr_only_line_endings_imports(app, store, accounts):
    text = exports.to_csv(store.services()[:5]).replace("\n", "\r")
    r = _import(app, accounts, text)
    assert r.status_code == 200, r.get_json()
    assert r.get_json() == {"rows": 5, "created": 0, "updated": 0, "unchanged": 5}


def test_csv_export_neutralises_formula_cells_and_still_round_trips(app, store, accounts):
    s = store.get("rph-utc")
    store.update("rph-utc", s.to_dict() | {"name": "=HYPERLINK(\"http://x\",\"y\")", "notes": "@SUM(1)",
                                             "provider": "+44 trust"}, expected_version=s.version, user="t")
    text = exports.to_csv(store.services())
    row = next(r for r in csv.DictReader(io.StringIO(text)) if r["id"] == "rph-utc")
    assert row["name"].startswith("'=") and row["notes"].startswith("'@") and row["provider"].startswith("'+")
    assert row["lon"].startswith("-") and float(row["lon"]) < 0  # numbers stay numbers
    for r in csv.DictReader(io.StringIO(text)):
        assert not any(v.startswith(("=", "+", "@", "\t", "\r")) for v in r.values()), r["id"]
    assert _import(app, accounts, text).get_json()["updated"] == 0  # the apostrophes come off on import


# -- redirects, versions, ranks -------------------------------------------------------------------------
@pytest.mark.parametrize("back", ["/admin/capacity\r\nSet-Cookie: x=1", "/admin/\nx", "\r"])
def test_cr_lf_in_back_on_the_capacity_form_never_saves_then_fails(app, store, back):
    b = signed_in(app, "admin")
    r = b.post("/admin/services/rph-ed/capacity", {"status": "amber", "reset_minutes": "120", "back": back})
    assert r.status_code in (302, 303, 400)
    assert "\r" not in r.headers.get("Location", "") and "\n" not in r.headers.get("Location", "")
    if r.status_code != 400:
        assert r.headers["Location"].endswith("/admin/capacity") and store.get("rph-ed").capacity.status == "amber"


def test_cr_lf_in_next_on_sign_in_is_not_followed(app):
    from admin_fixtures import PASSWORD, Browser
    b = Browser(app)
    b.c.get("/admin/login")
    r = b.c.post("/admin/login?next=/admin/%0d%0aX:1", data={"username": "admin", "password": PASSWORD,
                                                             "csrf_token": b.token()})
    assert r.status_code == 302 and "\n" not in r.headers["Location"]


@pytest.mark.parametrize("etag", [str(2 ** 63 + 1), str(2 ** 31), "0", "-1", "9" * 400, 'W/"99999999999999999999"'])
def test_if_match_out_of_range_is_400_not_500(app, accounts, etag):
    c = app.test_client()
    cur = c.get("/api/v1/services/rph-utc", headers=_token(accounts)).get_json()
    body = {k: v for k, v in cur.items() if k not in ("capacity", "version")}
    r = c.put("/api/v1/services/rph-utc", json=body, headers=_token(accounts) | {"If-Match": etag})
    assert r.status_code == 400 and "If-Match" in r.get_json()["errors"]


def test_commissioner_cannot_rank_for_callers_in_an_area_it_cannot_edit(app, store):
    b = signed_in(app, "blackpool")
    for area in ("E07000123", "Lancashire", "Preston", "South Cumbria"):
        r = b.post("/admin/rankings", {"area": area, "key": "UTC_4H", "rank1": "urgent_treatment_centre"})
        assert r.status_code == 403, area
    assert store.local_rankings() == {}
    care = app.extensions["uec"]
    from uec.permissions import User
    with pytest.raises(Forbidden):
        care.directory.set_ranking("E07000123", "UTC_4H", ["minor_injuries_unit"], user=User("blackpool", "commissioner",
                                   ("Blackpool",)), keys=["UTC_4H"])
    ok = b.post("/admin/rankings", {"area": "Blackpool", "key": "UTC_4H", "rank1": "urgent_treatment_centre"})
    assert ok.status_code == 302 and ("Blackpool", "UTC_4H") in store.local_rankings()
    data = _route(app.test_client(), "UTC_4H")
    assert data["ranking"]["scope"] == "regional"  # a Preston caller is not ranked by Blackpool's commissioner


# -- the database is down -----------------------------------------------------------------------------
def test_database_down_gives_a_clear_503_for_admin_reads_and_writes(app, store, accounts):
    from sqlalchemy import create_engine
    b = signed_in(app, "admin")
    h = _token(accounts)
    care = app.extensions["uec"]
    dead = create_engine("sqlite:////nonexistent-dir/for/uec/tests.sqlite")
    care.store.engine, care.accounts.engine = dead, dead
    page = b.get("/admin/")
    assert page.status_code == 503 and "database cannot be reached" in page.get_data(as_text=True)
    assert page.headers["Retry-After"]
    w = b.post("/admin/services/rph-ed/capacity", {"status": "red"})
    assert w.status_code == 503 and "nothing was changed" in w.get_data(as_text=True)
    api = app.test_client().put("/api/v1/services/rph-ed/capacity", json={"status": "red"}, headers=h)
    assert api.status_code == 503 and api.get_json()["error"] == "database unavailable"
    api = app.test_client().get("/api/v1/services/rph-ed", headers=h)
    assert api.status_code == 503 and "Retry" in api.get_json()["message"]


# -- a big import does not stop routing ---------------------------------------------------------------
def _many_services(store, n: int) -> str:
    """n new phone-line services cloned from a real LSC one, each with its own id."""
    base = store.get("rph-utc")
    rows = []
    for i in range(n):
        d = base.to_dict() | {"id": f"bulk-{i:05d}", "name": f"Bulk test service {i}"}
        rows.append(service_from_dict(d))
    return exports.to_csv(rows).replace("\n" + ",".join([]), "\n")


def test_import_of_5000_services_leaves_routing_answering(app, store, accounts):
    if store.engine.dialect.name != "sqlite":
        pytest.skip("one database is enough for the 75 s bulk run; PostgreSQL imports are covered by the smaller tests")
    text = "\n".join(line for line in _many_services(store, 5000).splitlines()) + "\n"
    # exported rows carry version 1; as new services they must be imported without a version
    rows = list(csv.DictReader(io.StringIO(text)))
    for r in rows:
        r["version"] = ""
    out = io.StringIO()
    w = csv.DictWriter(out, fieldnames=exports.CSV_COLUMNS, lineterminator="\n")
    w.writeheader()
    w.writerows(rows)
    c = app.test_client()
    _route(c, "UTC_4H")  # warm
    result: dict = {}

    def run_import():
        result["r"] = _import(app, accounts, out.getvalue())

    thread = threading.Thread(target=run_import)
    thread.start()
    answers = []
    while thread.is_alive() and len(answers) < 50:
        answers.append(_route(app.test_client(), "UTC_4H"))
    thread.join(600)
    _refresh(app)
    assert not thread.is_alive(), "the import did not finish"
    assert result["r"].status_code == 200, result["r"].get_data(as_text=True)[:300]
    assert result["r"].get_json()["created"] == 5000
    assert all(a["services"] for a in answers)
    after = _route(c, "UTC_4H")
    assert after["services"] and after["directory_version"] > answers[0]["directory_version"] if answers else True


# -- the CLI uses the same write path; pages never write on GET ----------------------------------------
def test_cli_import_uses_the_checked_write_path(app, store, tmp_path, monkeypatch, capsys):
    from uec.cli import main
    monkeypatch.setenv("DATABASE_URL", store.url)
    monkeypatch.setenv("UEC_VAR_DIR", str(tmp_path))
    good = tmp_path / "good.csv"
    good.write_text(exports.to_csv(store.services()[:3]), encoding="utf-8")
    assert main(["import", str(good), "--user", "admin"]) == 0
    assert "3 unchanged" in capsys.readouterr().out
    rows = list(csv.DictReader(io.StringIO(exports.to_csv(store.services()[:2]))))
    rows[1]["lat"] = "nan"
    bad = tmp_path / "bad.csv"
    out = io.StringIO()
    w = csv.DictWriter(out, fieldnames=exports.CSV_COLUMNS, lineterminator="\n")
    w.writeheader()
    w.writerows(rows)
    bad.write_text(out.getvalue(), encoding="utf-8")
    v0 = store.directory_version()
    assert main(["import", str(bad), "--user", "admin"]) == 2
    assert "row 2.lat" in capsys.readouterr().err and store.directory_version() == v0
    assert main(["import", str(good), "--user", "viewer"]) == 2
    assert "does not allow you to import" in capsys.readouterr().err


def test_reading_the_scenarios_page_writes_nothing(app, store):
    from sqlalchemy import delete, func
    with store.engine.begin() as conn:
        conn.execute(delete(t.scenarios))
    b = signed_in(app, "admin")
    assert b.get("/admin/scenarios").status_code == 200
    with store.engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(t.scenarios)).scalar() == 0


# -- scenario saves go through the one write path: permission, field-named errors, audit ---------------
def _audit_actions(store) -> list[str]:
    return [r["action"] for r in store.audit_log(limit=20)]


@pytest.mark.parametrize("name,field", [("x" * 121, "name"), ("   ", "name")])
def test_scenario_save_with_a_bad_name_names_the_field_never_a_500(app, store, name, field):
    b = signed_in(app, "admin")
    r = b.post("/admin/scenarios", data={"name": name, "disposition": "UTC_4H", "postcode": "PR1 8XJ", "when": "wed 14:00",
                                         "expect": "rph-utc"})
    assert r.status_code == 400, r.data[:300]
    assert b"name" in r.data
    with store.engine.connect() as conn:
        assert not conn.execute(select(t.scenarios).where(t.scenarios.c.name == name)).first()


def test_scenario_save_and_delete_are_audited_and_viewers_refused(app, store):
    b = signed_in(app, "admin")
    form = {"name": "Preston UTC first", "disposition": "UTC_4H", "postcode": "PR1 8XJ", "expect": "rph-utc", "when": "wed 14:00"}
    assert b.post("/admin/scenarios", data=form).status_code == 302
    assert _audit_actions(store)[0] == "scenario"
    assert b.post("/admin/scenarios", data={"action": "delete", "name": "Preston UTC first"}).status_code == 302
    assert _audit_actions(store)[0] == "scenario_delete"
    assert b.post("/admin/scenarios", data={"action": "delete", "name": "y" * 500}).status_code == 400
    v = signed_in(app, "viewer")
    assert v.post("/admin/scenarios", data=form).status_code == 403
    assert v.post("/admin/scenarios", data={"action": "delete", "name": "Preston UTC first"}).status_code == 403


def test_directory_service_refuses_scenario_writes_by_role(store):
    from uec.directory_service import DirectoryService
    from uec.permissions import User
    svc = DirectoryService(store, geo=None, base_rankings=None)  # refused before either is needed
    with pytest.raises(Forbidden):
        svc.save_whatif("n", {"changes": []}, {}, user=User("v", "viewer"))
    with pytest.raises(Forbidden):
        svc.delete_scenario("n", user=User("c", "capacity_updater"))
    with pytest.raises(Forbidden):
        svc.save_scenario("n", {}, user=None, dispositions=())


@pytest.mark.parametrize("name", ["", "   ", "z" * 121, 7, ["a"], None])
def test_whatif_api_save_with_a_bad_name_names_the_field_never_a_500(app, store, accounts, name):
    token = accounts.create_token("admin")
    r = app.test_client().post("/api/v1/whatif", headers={"Authorization": f"Bearer {token}"},
                               json={"changes": [{"service": "rph-utc", "close": True}], "weeks": 0, "name": name})
    assert r.status_code == 400, r.get_json()
    assert "name" in r.get_json()["errors"]
    with store.engine.connect() as conn:
        assert conn.execute(select(t.whatif_scenarios)).first() is None


def test_whatif_save_is_audited_and_needs_a_commissioner(app, store, accounts):
    c = app.test_client()
    body = {"changes": [{"service": "rph-utc", "close": True}], "weeks": 0, "name": "Close Preston UTC"}
    viewer = {"Authorization": f"Bearer {accounts.create_token('viewer')}"}
    r = c.post("/api/v1/whatif", headers=viewer, json=body)
    assert r.status_code == 403 and r.is_json and "save scenarios" in r.get_json()["message"]
    admin = {"Authorization": f"Bearer {accounts.create_token('admin')}"}
    r = c.post("/api/v1/whatif", headers=admin, json=body)
    assert r.status_code == 200, r.get_json()
    saved = r.get_json()["saved_id"]
    entry = store.audit_log(limit=1)[0]
    assert entry["action"] == "whatif_save" and entry["user"] == "admin" and entry["new"]["id"] == saved
    r = c.post("/api/v1/whatif", headers=admin, json=body)  # saving again replaces it, audited as such
    entry = store.audit_log(limit=1)[0]
    assert entry["old"] == {"name": "Close Preston UTC"} and entry["new"]["id"] == r.get_json()["saved_id"]


def test_whatif_form_save_with_a_long_name_names_the_field(app, store):
    b = signed_in(app, "admin")
    r = b.post("/admin/intelligence/whatif", data={"action": "close", "service": "rph-utc", "weeks": "0",
                                                   "name": "w" * 200})
    assert r.status_code == 400 and b"name" in r.data
    v = signed_in(app, "viewer")
    r = v.post("/admin/intelligence/whatif", data={"action": "close", "service": "rph-utc", "weeks": "0",
                                                   "name": "mine"})
    assert r.status_code == 403
