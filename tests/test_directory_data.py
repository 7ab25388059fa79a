"""Structure and sanity checks for the bundled LSC Directory of Services data file."""

from __future__ import annotations

import datetime as dt
import json
import re
from functools import lru_cache
from pathlib import Path

import pytest
import yaml

REPO_ROOT = Path(__file__).resolve().parents[1]
DATA_FILE = REPO_ROOT / "directory" / "data" / "lsc_services.yaml"
SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
DISTRICTS_DIR = SHARED_DATA / "postcode-districts"

SERVICE_KEYS = {
    "id", "name", "type", "provider", "address", "postcode", "lat", "lon",
    "phone_public", "phone_professional", "age_min", "age_max", "sex",
    "referral_routes", "referral_only", "opening", "last_arrival_minutes",
    "catchment", "mobile", "accepts", "source", "verified_on", "notes",
}
OPTIONAL_KEYS = {"access"}  # access: phone for helplines (default site)
TYPES = {
    "emergency_department", "urgent_treatment_centre", "minor_injuries_unit",
    "sdec_medical", "sdec_surgical", "sdec_frailty", "sdec_paediatric", "mhuac",
    "crisis_line", "crisis_cafe", "falls_lifting", "urgent_community_response",
    "gp_out_of_hours", "urgent_dental", "community_pharmacy",
    "maternity_triage", "eye_casualty", "urgent_eyecare", "own_gp",
}
ROUTES = {"walk_in", "nhs111", "nwas", "gp", "professional"}
SEXES = {"any", "female", "male"}
LSC_LADS = {
    "E06000008", "E06000009", "E07000117", "E07000118", "E07000119", "E07000120",
    "E07000121", "E07000122", "E07000123", "E07000124", "E07000125", "E07000126",
    "E07000127", "E07000128", "E07000027", "E07000031",
}
DAY_KEYS = {"mon", "tue", "wed", "thu", "fri", "sat", "sun", "daily", "weekdays", "weekends"}
ID_RE = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
POSTCODE_RE = re.compile(r"^([A-Z]{1,2})([0-9][0-9A-Z]?) ([0-9][A-Z]{2})$")
SESSION_RE = re.compile(r"^([01][0-9]|2[0-3]):([0-5][0-9])-([01][0-9]|2[0-4]):([0-5][0-9])$")
LAT_RANGE = (53.3, 54.8)
LON_RANGE = (-3.5, -1.8)
MAX_DISTRICT_DISTANCE_M = 1000.0


@lru_cache(maxsize=1)
def load() -> dict:
    with DATA_FILE.open(encoding="utf-8") as fh:
        return yaml.safe_load(fh)


def services() -> list[dict]:
    return load()["services"]


def service_ids() -> list[str]:
    return [s.get("id", f"<no id #{i}>") for i, s in enumerate(services())]


def by_id(sid: str) -> dict:
    return next(s for s in services() if s["id"] == sid)


def parse_session(text: str) -> tuple[int, int]:
    """Return (start, end) minutes; end may be <= start for a session running past midnight."""
    m = SESSION_RE.match(text)
    assert m, f"session {text!r} is not 'HH:MM-HH:MM'"
    h1, m1, h2, m2 = (int(g) for g in m.groups())
    assert not (h2 == 24 and m2 != 0), f"session {text!r}: only 24:00 may use hour 24"
    start, end = h1 * 60 + m1, h2 * 60 + m2
    assert start != end, f"session {text!r} has zero length"
    return start, end


def check_sessions(label: str, value) -> None:
    assert isinstance(value, list), f"{label} must be a list of 'HH:MM-HH:MM' strings"
    for item in value:
        assert isinstance(item, str), f"{label}: {item!r} must be a string"
        parse_session(item)


def test_top_level_shape():
    doc = load()
    assert set(doc) == {"SOURCES", "services"}
    assert isinstance(doc["SOURCES"], str) and len(doc["SOURCES"]) > 500
    assert "2026-11" in doc["SOURCES"], "SOURCES must say when the data were checked"
    assert isinstance(doc["services"], list) and len(doc["services"]) >= 40


def test_ids_unique_and_slugs():
    ids = service_ids()
    dupes = sorted({i for i in ids if ids.count(i) > 1})
    assert not dupes, f"duplicate ids: {dupes}"
    bad = [i for i in ids if not ID_RE.match(i)]
    assert not bad, f"ids must be lowercase slugs: {bad}"


@pytest.mark.parametrize("svc", services(), ids=service_ids())
def test_service_fields(svc):
    sid = svc.get("id")
    assert set(svc) - OPTIONAL_KEYS == SERVICE_KEYS, f"{sid}: keys differ: missing {SERVICE_KEYS - set(svc)}, extra {set(svc) - SERVICE_KEYS}"
    for key in ("name", "provider", "address", "source"):
        assert isinstance(svc[key], str) and svc[key].strip(), f"{sid}: {key} must be a non-empty string"
    assert svc["type"] in TYPES, f"{sid}: unknown type {svc['type']!r}"
    assert POSTCODE_RE.match(svc["postcode"]), f"{sid}: postcode {svc['postcode']!r} not in 'AREA DIST SECTORUNIT' form"
    for key in ("phone_public", "phone_professional"):
        val = svc[key]
        assert val is None or (isinstance(val, str) and re.fullmatch(r"0[0-9 ]{9,12}", val)), f"{sid}: {key} {val!r}"
    assert isinstance(svc["age_min"], int) and svc["age_min"] >= 0, f"{sid}: age_min"
    assert svc["age_max"] is None or (isinstance(svc["age_max"], int) and svc["age_max"] >= svc["age_min"]), f"{sid}: age_max"
    assert svc["sex"] in SEXES, f"{sid}: sex"
    routes = svc["referral_routes"]
    assert isinstance(routes, list) and routes and set(routes) <= ROUTES and len(set(routes)) == len(routes), f"{sid}: referral_routes {routes}"
    assert isinstance(svc["referral_only"], bool), f"{sid}: referral_only must be true/false"
    if svc["referral_only"]:
        assert "walk_in" not in routes, f"{sid}: referral_only services cannot list walk_in"
    assert isinstance(svc["last_arrival_minutes"], int) and 0 <= svc["last_arrival_minutes"] <= 240, f"{sid}: last_arrival_minutes"
    assert isinstance(svc["verified_on"], dt.date), f"{sid}: verified_on must be a YAML date"
    assert dt.date(2026, 1, 1) <= svc["verified_on"] <= dt.date(2026, 12, 31), f"{sid}: verified_on out of range"
    assert svc["notes"] is None or (isinstance(svc["notes"], str) and svc["notes"].strip()), f"{sid}: notes"
    assert svc["accepts"] is None or (isinstance(svc["accepts"], list) and all(isinstance(a, str) for a in svc["accepts"])), f"{sid}: accepts"


@pytest.mark.parametrize("svc", services(), ids=service_ids())
def test_coordinates_in_region(svc):
    for label, lat, lon in points(svc):
        assert isinstance(lat, float) and isinstance(lon, float), f"{label}: lat/lon must be numbers"
        assert LAT_RANGE[0] <= lat <= LAT_RANGE[1], f"{label}: lat {lat} outside {LAT_RANGE}"
        assert LON_RANGE[0] <= lon <= LON_RANGE[1], f"{label}: lon {lon} outside {LON_RANGE}"
        assert round(lat, 5) == lat and round(lon, 5) == lon, f"{label}: give lat/lon to at most 5 d.p."


@pytest.mark.parametrize("svc", services(), ids=service_ids())
def test_opening_parses(svc):
    sid, opening = svc["id"], svc["opening"]
    assert isinstance(opening, dict) and opening, f"{sid}: opening must be a mapping"
    if "always" in opening:
        assert opening == {"always": True}, f"{sid}: 'always' must stand alone as always: true"
        return
    assert set(opening) <= {"weekly", "bank_holidays", "dates"} and "weekly" in opening, f"{sid}: opening keys {set(opening)}"
    weekly = opening["weekly"]
    assert isinstance(weekly, dict) and weekly and set(weekly) <= DAY_KEYS, f"{sid}: weekly keys {set(weekly)}"
    for day, sessions in weekly.items():
        check_sessions(f"{sid}: weekly.{day}", sessions)
    if "bank_holidays" in opening:
        check_sessions(f"{sid}: bank_holidays", opening["bank_holidays"])
    for day, sessions in (opening.get("dates") or {}).items():
        dt.date.fromisoformat(str(day))
        check_sessions(f"{sid}: dates.{day}", sessions)


@pytest.mark.parametrize("svc", services(), ids=service_ids())
def test_catchment_and_mobile(svc):
    sid = svc["id"]
    if svc["catchment"] is not None:
        assert set(svc["catchment"]) == {"lads"}, f"{sid}: catchment must be {{lads: [...]}}"
        lads = svc["catchment"]["lads"]
        assert lads and set(lads) <= LSC_LADS, f"{sid}: catchment LADs not LSC codes: {set(lads) - LSC_LADS}"
    mobile = svc["mobile"]
    if mobile is not None:
        assert set(mobile) == {"bases", "area_lads"}, f"{sid}: mobile keys {set(mobile)}"
        assert mobile["area_lads"] and set(mobile["area_lads"]) <= LSC_LADS, f"{sid}: mobile.area_lads"
        for base in mobile["bases"]:
            assert set(base) == {"name", "postcode", "lat", "lon"}, f"{sid}: mobile base keys {set(base)}"
            assert POSTCODE_RE.match(base["postcode"]), f"{sid}: base postcode {base['postcode']!r}"
    if svc["type"] in {"falls_lifting", "urgent_community_response"}:
        assert mobile is not None, f"{sid}: teams that visit the patient need a mobile block"


def test_required_types_present():
    present = {s["type"] for s in services()}
    for needed in ("emergency_department", "urgent_treatment_centre", "mhuac", "falls_lifting"):
        assert needed in present, f"no service of type {needed}"
    assert any(t.startswith("sdec_") for t in present), "no SDEC service"


def test_open_mhuac_or_closure_recorded():
    """MHUACs closed in May 2024: any listed must either have sessions or be recorded as closed."""
    for svc in (s for s in services() if s["type"] == "mhuac"):
        weekly = (svc["opening"].get("weekly") or {}) if "always" not in svc["opening"] else None
        closed = weekly is not None and all(not v for v in weekly.values())
        if closed:
            assert svc["notes"] and svc["notes"].startswith("CLOSED"), f"{svc['id']}: a never-open entry must say CLOSED in notes"


def test_known_sites():
    expected = {
        "rph-ed": "PR2 9HT", "rbh-ed": "BB2 3HH", "bvh-ed": "FY3 8NR", "rli-ed": "LA1 4RP",
        "fgh-ed": "LA14 4LF", "cdh-ed": "PR7 1PP", "wgh-utc": "LA9 7RG", "bgh-utc": "BB10 2PQ",
    }
    for sid, postcode in expected.items():
        assert by_id(sid)["postcode"] == postcode, f"{sid}: expected {postcode}"
    eds = {s["id"] for s in services() if s["type"] == "emergency_department"}
    assert {"rph-ed", "rbh-ed", "bvh-ed", "rli-ed", "fgh-ed", "cdh-ed", "sdgh-ed", "raei-ed", "agh-ed"} <= eds
    chorley = by_id("cdh-ed")
    assert chorley["age_min"] == 18 and chorley["opening"] != {"always": True}, "Chorley ED is adults-only, part-day"


def test_crisis_line_number():
    line = by_id("lscft-crisis-line")
    assert line["type"] == "crisis_line" and line["phone_public"] == "0800 953 0110"
    assert line["opening"] == {"always": True}


def points(svc: dict):
    yield svc["id"], svc["lat"], svc["lon"]
    for base in (svc["mobile"] or {}).get("bases", []):
        yield f"{svc['id']} base {base['name']}", base["lat"], base["lon"]


def point_postcodes(svc: dict):
    yield svc["id"], svc["postcode"], svc["lat"], svc["lon"]
    for base in (svc["mobile"] or {}).get("bases", []):
        yield f"{svc['id']} base {base['name']}", base["postcode"], base["lat"], base["lon"]


@lru_cache(maxsize=None)
def district_shape(district: str):
    import numpy as np
    import shapely
    from shapely.geometry import shape
    from shapely.ops import unary_union
    from pyproj import Transformer

    area = POSTCODE_RE.match(district + " 1AA").group(1)
    path = DISTRICTS_DIR / f"{area}.geojson"
    if not path.exists():
        return None
    features = json.loads(path.read_text(encoding="utf-8"))["features"]
    shapes = [shape(f["geometry"]) for f in features if f["properties"].get("name") == district]
    if not shapes:
        return None
    to_bng = Transformer.from_crs(4326, 27700, always_xy=True)

    def project(coords):
        x, y = to_bng.transform(coords[:, 0], coords[:, 1])
        return np.column_stack([x, y])

    return shapely.transform(unary_union(shapes).buffer(0), project)


def test_points_inside_postcode_district():
    if not DISTRICTS_DIR.is_dir():
        pytest.skip(f"shared postcode-district polygons not found at {DISTRICTS_DIR}")
    from pyproj import Transformer
    from shapely.geometry import Point

    to_bng = Transformer.from_crs(4326, 27700, always_xy=True)
    failures, missing = [], []
    for svc in services():
        for label, postcode, lat, lon in point_postcodes(svc):
            district = postcode.split(" ")[0]
            poly = district_shape(district)
            if poly is None:
                missing.append(f"{label} ({district})")
                continue
            x, y = to_bng.transform(lon, lat)
            dist = poly.distance(Point(x, y))
            if dist > MAX_DISTRICT_DISTANCE_M:
                failures.append(f"{label}: {postcode} point is {dist:.0f} m outside {district}")
    assert not missing, f"no district polygon for: {missing}"
    assert not failures, "points outside their postcode district:\n" + "\n".join(failures)


def test_gp_out_of_hours_cover_the_night_after_a_bank_holiday():
    """Every GP OOH base keeps running from the bank holiday into the next morning (it is the OOH period)."""
    from directory.opening import OpeningTimes
    from datetime import datetime
    from zoneinfo import ZoneInfo

    weekday = datetime(2025, 8, 27, 11, 0, tzinfo=ZoneInfo("Europe/London"))  # Wed, GP core hours
    tue_after_bh = datetime(2025, 8, 26, 3, 0, tzinfo=ZoneInfo("Europe/London"))  # Mon 25 Aug 2025 was a bank holiday
    for svc in (s for s in services() if s["type"] == "gp_out_of_hours"):
        opening = OpeningTimes.from_dict(svc["opening"])
        assert opening.is_open(tue_after_bh), f"{svc['id']}: closed at 03:00 after a bank holiday"
        assert not opening.is_open(weekday), f"{svc['id']}: open in GP core hours"


def test_ooh_base_in_each_locality():
    """NHS 111 can book a GP out-of-hours base in every locality whose provider was found."""
    ooh = {s["id"] for s in services() if s["type"] == "gp_out_of_hours"}
    assert {"ooh-morecambe", "ooh-barrow", "ooh-kendal", "ooh-preston", "ooh-chorley", "ooh-burnley",
            "ooh-blackpool-whitegate"} <= ooh
    assert by_id("ooh-morecambe")["postcode"] == "LA4 5NN"
    assert all(by_id(sid)["referral_only"] and "walk_in" not in by_id(sid)["referral_routes"] for sid in ooh)


def test_blackburn_with_darwen_has_no_falls_lifting_claimed():
    """No lifting service was found for Blackburn with Darwen: none may claim it until one is confirmed."""
    bwd = "E06000008"
    for svc in (s for s in services() if s["type"] == "falls_lifting"):
        assert bwd not in (svc["catchment"] or {}).get("lads", []), svc["id"]
        assert bwd not in svc["mobile"]["area_lads"], svc["id"]
    assert "Blackburn with Darwen is NOT covered" in by_id("progress-falls-lifting")["notes"]
    assert bwd in by_id("ucr-pennine")["catchment"]["lads"]


def test_blackburn_utc_is_over_16s_and_24_7():
    utc = by_id("rbh-utc")
    assert utc["age_min"] == 16 and utc["opening"] == {"always": True}


def test_service_types_match_the_directory_model():
    from directory.model import SERVICE_TYPES
    assert TYPES == set(SERVICE_TYPES), "keep this test's TYPES and directory.model.SERVICE_TYPES in step"


def test_maternity_triage_at_every_lsc_obstetric_unit():
    """MATERNITY_1H needs a 24/7 maternity triage at each obstetric unit (ELHT's is at Burnley, not Blackburn)."""
    units = {s["id"]: s for s in services() if s["type"] == "maternity_triage"}
    expected = {"rph-maternity-triage": "PR2 9HT", "bgh-maternity-triage": "BB10 2PQ", "bvh-maternity-triage": "FY3 8NR",
                "rli-maternity-triage": "LA1 4RP", "fgh-maternity-triage": "LA14 4LF"}
    assert set(expected) <= set(units)
    for sid, postcode in expected.items():
        unit = units[sid]
        assert unit["postcode"] == postcode and unit["sex"] == "female" and unit["opening"] == {"always": True}, sid
        assert not unit["referral_only"] and "walk_in" in unit["referral_routes"], f"{sid}: women phone triage themselves"
    assert by_id("bvh-maternity-triage")["phone_public"] == "01253 956820"
    assert by_id("rli-maternity-triage")["phone_public"] == "01524 583863"
    assert by_id("fgh-maternity-triage")["phone_public"] == "01229 403988"
    assert by_id("rph-maternity-triage")["phone_public"] == "01772 524495"
    assert by_id("bgh-maternity-triage")["phone_public"] is None and "NOT found" in by_id("bgh-maternity-triage")["notes"]


def test_eye_services_are_referral_or_phone_and_say_what_is_unconfirmed():
    casualties = [s for s in services() if s["type"] == "eye_casualty"]
    assert {s["id"] for s in casualties} >= {"bgh-eye-casualty", "rph-eye-urgent"}
    for svc in casualties:
        assert svc["referral_only"] and "walk_in" not in svc["referral_routes"], svc["id"]
        assert "NOT" in svc["notes"], f"{svc['id']}: say which fields are unconfirmed"
    community = by_id("lsc-urgent-eyecare")
    assert community["type"] == "urgent_eyecare" and community.get("access") == "phone"


def test_own_gp_is_a_phone_entry_in_core_hours():
    gp = by_id("own-gp-practice")
    assert gp["type"] == "own_gp" and gp.get("access") == "phone"
    assert gp["opening"] == {"weekly": {"weekdays": ["08:00-18:30"]}, "bank_holidays": []}


def test_every_disposition_class_or_code_has_ranked_types_that_exist():
    """Each disposition is ranked (by code or class) to service types that some bundled service provides."""
    from directory.rankings import Rankings
    from triage.loader import load_rules

    rankings = Rankings.load()
    present = {s["type"] for s in services()}
    for code, d in load_rules().dispositions.items():
        ranking = rankings.applied(code, d.cls, ())
        assert ranking.key in (code, d.cls), f"{code}: no ranking for the code or its class {d.cls}"
        assert any(t in present for t in ranking.types), f"{code}: no bundled service of types {ranking.types}"
