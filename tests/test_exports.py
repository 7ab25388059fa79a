"""CSV/GeoJSON export and all-or-nothing import; FHIR R4 export validated against a focused R4 JSON Schema."""
import copy
import io
import json
from datetime import date
from pathlib import Path

import jsonschema
import pytest
import yaml

from directory import exports
from directory.model import service_from_dict
from admin_fixtures import accounts, app, signed_in, store  # noqa: F401

ROOT = Path(__file__).resolve().parents[1]
SCHEMA = json.loads((ROOT / "tests" / "data" / "fhir_r4_directory.schema.json").read_text())


@pytest.fixture(scope="module")
def seed():
    return [service_from_dict(s) for s in yaml.safe_load((ROOT / "directory/data/lsc_services.yaml").read_text())["services"]]


def test_csv_round_trips_every_bundled_service(seed):
    rows = exports.parse_csv(exports.to_csv(seed))
    assert len(rows) == len(seed)
    for s, (data, version, errors) in zip(seed, rows):
        assert not errors and version == 1
        assert service_from_dict(data).to_dict() == s.to_dict()


def test_geojson_round_trips_every_bundled_service(seed):
    doc = exports.to_geojson(seed)
    assert doc["features"][0]["geometry"]["type"] == "Point"
    rows = exports.parse_geojson(json.dumps(doc))
    for s, (data, version, errors) in zip(seed, rows):
        assert not errors and version == 1
        assert service_from_dict(data).to_dict() == s.to_dict()


def test_csv_reports_bad_header_and_cells():
    assert "missing columns" in exports.parse_csv("id,name\nx,y\n")[0][2]["header"]
    text = exports.CSV_COLUMNS and ",".join(exports.CSV_COLUMNS) + "\n" + ",".join(
        ["a-b", "v1", "N", "urgent_treatment_centre", "P", "A", "PR2 9HT", "north", "-2.7"] + [""] * 17 + ["{bad", "", "", "", ""]) + "\n"
    data, version, errors = exports.parse_csv(text)[0]
    assert set(errors) == {"version", "lat", "opening"}


def _fhir(services, today=date(2026, 11, 23)):
    return exports.to_fhir_bundle(services, today=today)


def test_fhir_bundle_of_the_whole_directory_is_valid_r4(seed):
    bundle = _fhir(seed)
    jsonschema.validate(bundle, SCHEMA)
    kinds = [e["resource"]["resourceType"] for e in bundle["entry"]]
    assert kinds.count("HealthcareService") == kinds.count("Location") == len(seed)
    ids = {e["resource"]["id"] for e in bundle["entry"] if e["resource"]["resourceType"] == "Location"}
    for e in bundle["entry"]:
        if e["resource"]["resourceType"] == "HealthcareService":
            assert e["resource"]["location"][0]["reference"].split("/")[1] in ids


def test_the_schema_is_not_vacuous(seed):
    bundle = _fhir(seed[:1])
    for breaker in (lambda b: b["entry"][0]["resource"].__setitem__("availableTime", [{"daysOfWeek": ["monday"]}]),
                    lambda b: b["entry"][0]["resource"].__setitem__("openingHours", "9-5"),
                    lambda b: b["entry"][1]["resource"].__setitem__("status", "closed"),
                    lambda b: b["entry"][0]["resource"]["availableTime"].append(
                        {"daysOfWeek": ["mon"], "availableStartTime": "22:00:00", "availableEndTime": "24:00:00"})):
        broken = copy.deepcopy(bundle)
        breaker(broken)
        with pytest.raises(jsonschema.ValidationError):
            jsonschema.validate(broken, SCHEMA)


def test_fhir_carries_eligibility_referral_roles_overnight_hours_and_closures():
    s = service_from_dict({
        "id": "test-ooh", "name": "Test OOH", "type": "gp_out_of_hours", "provider": "P", "address": "A",
        "postcode": "PR2 9HT", "lat": 53.79, "lon": -2.71, "age_min": 16, "sex": "female", "referral_only": True,
        "referral_routes": ["nhs111", "gp"], "phone_public": "111", "phone_professional": "01772 1",
        "opening": {"weekly": {"mon": ["18:30-08:00"], "sat": ["00:00-24:00"]}, "bank_holidays": ["09:00-17:00"],
                    "dates": {"2026-12-24": ["10:00-12:00"]}},
        "status": "temporarily_closed", "closed_reason": "refurbishment", "closed_from": "2026-12-01",
        "closed_until": "2026-12-10"})
    bundle = _fhir([s])
    jsonschema.validate(bundle, SCHEMA)
    hs, loc = bundle["entry"][0]["resource"], bundle["entry"][1]["resource"]
    assert hs["active"] is False and loc["status"] == "suspended"
    assert {"daysOfWeek": ["mon"], "availableStartTime": "18:30:00", "availableEndTime": "23:59:59"} in hs["availableTime"]
    assert {"daysOfWeek": ["tue"], "availableStartTime": "00:00:00", "availableEndTime": "08:00:00"} in hs["availableTime"]
    assert {"daysOfWeek": ["sat"], "allDay": True} in hs["availableTime"]
    assert [e["comment"] for e in hs["eligibility"]] == ["Ages 16 and over (years)", "female patients only"]
    roles = next(x for x in hs["extension"] if x["url"] == exports.EXT_REFERRAL_ROLES)["extension"]
    assert [r["valueCoding"]["code"] for r in roles] == ["nhs111", "gp"]
    assert hs["appointmentRequired"] is True and hs["referralMethod"][0]["coding"][0]["code"] == "phone"
    na = hs["notAvailable"]
    assert na[0]["description"].startswith("Temporarily closed: refurbishment")
    assert na[0]["during"] == {"start": "2026-12-01", "end": "2026-12-10"}
    assert any(x["during"]["start"] == "2026-12-24" and "10:00-12:00" in x["description"] for x in na)
    christmas = next(x for x in na if x["during"]["start"] == "2026-12-25")
    assert "Christmas Day" in christmas["description"] and "09:00-17:00" in christmas["description"]
    assert "09:00-17:00" in hs["availabilityExceptions"]
    assert {t["value"] for t in hs["telecom"]} == {"111", "01772 1"}


# -- import through the admin page and the API (SQLite and PostgreSQL) ------------------------------
def _upload(b, text, name="directory.csv", fmt=""):
    return b.post("/admin/import", {"file": (io.BytesIO(text.encode()), name), "format": fmt},
                  content_type="multipart/form-data")


def test_import_validates_every_row_and_applies_nothing_on_error(app, store):
    b = signed_in(app, "admin")
    services = store.services()
    v0 = store.directory_version()
    rows = exports.to_csv(services).splitlines()
    header, body = rows[0], rows[1:]
    import csv
    recs = list(csv.DictReader(io.StringIO(exports.to_csv(services))))
    recs[0]["phone_public"] = "01000 000000"                  # a good change
    recs[3]["type"] = "hospital"                              # bad
    recs[5]["opening"] = '{"weekly": {"mon": ["9-5"]}}'       # bad
    out = io.StringIO()
    w = csv.DictWriter(out, fieldnames=exports.CSV_COLUMNS, lineterminator="\n")
    w.writeheader()
    w.writerows(recs)
    r = _upload(b, out.getvalue())
    html = r.get_data(as_text=True)
    assert r.status_code == 400
    assert "Row 4: Type" in html and "Row 6: Monday opening times" in html
    assert store.get(recs[0]["id"]).phone_public != "01000 000000"           # nothing partially applied
    assert store.directory_version() == v0
    # fixed, it applies in one go and is audited row by row
    recs[3]["type"] = services[3].type
    recs[5]["opening"] = json.dumps(services[5].opening.to_dict())
    recs.append({**next(r for r in recs if r["id"] == "rph-utc"), "id": "imported-new", "version": "", "name": "Imported"})
    out = io.StringIO()
    w = csv.DictWriter(out, fieldnames=exports.CSV_COLUMNS, lineterminator="\n")
    w.writeheader()
    w.writerows(recs)
    r = _upload(b, out.getvalue())
    assert r.status_code == 200 and "1 new, 1 changed" in r.get_data(as_text=True), r.get_data(as_text=True)[-3000:]
    assert store.get(recs[0]["id"]).phone_public == "01000 000000" and store.get("imported-new").name == "Imported"
    actions = [e["action"] for e in store.audit_log(limit=3)]
    assert actions[0] == "import" and {"import_create", "import_update"} <= set(actions)
    # the same file again: its versions are now stale for the changed row, so it is refused whole
    r = _upload(b, out.getvalue())
    assert r.status_code == 400 and "changed since this file was exported" in r.get_data(as_text=True)


def test_commissioner_may_import_only_their_areas(app, store):
    b = signed_in(app, "blackpool")
    text = exports.to_csv([store.get("bvh-ed"), store.get("rph-ed")])
    r = _upload(b, text)
    assert r.status_code == 400 and "outside your areas" in r.get_data(as_text=True)
    assert _upload(b, exports.to_csv([store.get("bvh-ed")])).status_code == 200


def test_geojson_import_and_api_export(app, store, accounts):
    token = accounts.create_token("admin")
    c = app.test_client()
    h = {"Authorization": f"Bearer {token}"}
    assert c.get("/api/v1/export/csv").status_code == 401
    gj = c.get("/api/v1/export/geojson", headers=h).get_json()
    gj["features"][0]["properties"]["notes"] = "via geojson"
    gj["features"][1]["geometry"] = None
    r = c.post("/api/v1/import/geojson", data=json.dumps(gj), headers=h)
    assert r.status_code == 400 and "feature 2.geometry" in r.get_json()["errors"]
    gj["features"][1] = c.get("/api/v1/export/geojson", headers=h).get_json()["features"][1]
    r = c.post("/api/v1/import/geojson", data=json.dumps(gj), headers=h)
    assert r.status_code == 200 and r.get_json()["updated"] == 1
    assert store.get(gj["features"][0]["id"]).notes == "via geojson"
    fhir = c.get("/api/v1/export/fhir", headers=h)
    assert fhir.mimetype == "application/fhir+json"
    jsonschema.validate(fhir.get_json(), SCHEMA)
    b = signed_in(app, "viewer")
    page = b.get("/admin/export/fhir")
    assert page.status_code == 200 and "attachment" in page.headers["Content-Disposition"]
