"""The offline option maps through the Flask test client: the boundaries file, the map data on the
outcome page and the admin service page, and the vendored Leaflet being the npm release unmodified."""
from __future__ import annotations

import json
import math
import re
from html import unescape
from pathlib import Path

import pytest

from tests.conftest import make_app
from tests.test_web_handler import answer_all, start

ROOT = Path(__file__).resolve().parents[1]
VENDOR = ROOT / "web" / "static" / "vendor" / "leaflet"
NPM = ROOT / ".cache" / "npm" / "leaflet"
PASSWORD = "correct horse battery"


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    app = make_app(tmp_path_factory.mktemp("map"))
    app.testing = True
    app.extensions["uec"].accounts.create_user("viewer1", PASSWORD, "viewer")
    return app


@pytest.fixture
def client(app):
    return app.test_client()


def km(a, b) -> float:
    dy = (a[0] - b[0]) * 111.2
    dx = (a[1] - b[1]) * 111.2 * math.cos(math.radians(a[0]))
    return math.hypot(dx, dy)


def map_data(page: str, map_id: str = "options-map") -> dict:
    m = re.search(r'id="%s"[^>]*data-map="([^"]+)"' % map_id, page)
    assert m, f"no #{map_id} on the page"
    return json.loads(unescape(m.group(1)))


def test_boundaries_are_one_small_cached_file_of_the_16_districts(client):
    resp = client.get("/map/boundaries.geojson")
    assert resp.status_code == 200 and resp.mimetype == "application/geo+json"
    assert "max-age" in resp.headers["Cache-Control"] and "no-store" not in resp.headers["Cache-Control"]
    assert len(resp.data) < 100_000
    gj = json.loads(resp.data)
    names = {f["properties"]["name"] for f in gj["features"]}
    assert len(names) == 16 and {"Preston", "Blackpool", "Barrow-in-Furness", "South Lakeland"} <= names
    assert "Crown copyright" in gj["attribution"]
    again = client.get("/map/boundaries.geojson", headers={"If-None-Match": resp.headers["ETag"]})
    assert again.status_code == 304


def test_outcome_map_has_the_caller_each_option_and_its_road_route(client):
    resp, _ = answer_all(client, start(client, location="LA9 4HX"), {"fall_intense_pain": "yes"})
    page = resp.get_data(as_text=True)
    data = map_data(page)
    ids = re.findall(r'data-service-id="([^"]+)"', page)
    assert [o["id"] for o in data["options"]] == ids and [o["n"] for o in data["options"]] == list(range(1, len(ids) + 1))
    caller = (data["caller"]["lat"], data["caller"]["lon"])
    for o in data["options"]:
        route = o["route"]
        assert len(route) >= 2, o["id"]
        assert km(route[0], caller) < 3 or km(route[-1], caller) < 3  # one end at the caller
        assert km(route[0], (o["lat"], o["lon"])) < 3 or km(route[-1], (o["lat"], o["lon"])) < 3
    assert 'src="/static/vendor/leaflet/leaflet.js"' in page and "/static/uec/map.js" in page
    for ref in re.findall(r'(?:href|src)="([^"]+)"', page):
        assert not ref.startswith(("http://", "https://", "//")), ref
    for path in ("vendor/leaflet/leaflet.js", "vendor/leaflet/leaflet.css", "uec/map.js",
                 "vendor/leaflet/images/layers.png", "vendor/leaflet/LICENSE"):
        r = client.get(f"/static/{path}")
        assert r.status_code == 200, path
        r.close()


def test_telephone_services_are_not_mapped(client):
    """A helpline has no place to go: it is left off the map (named beside it) and its row says 'Phone'."""
    # a weekday morning: the dental helpline is open 08:00-21:00 on weekdays, so "now" would fail after 21:00
    resp, _ = answer_all(client, start(client, age="40", complaint="toothache", at_date="02/12/2026", at_time="11:00"),
                         {"dp_swelling": "yes"})
    page = resp.get_data(as_text=True)
    rows = dict(re.findall(r'data-service-id="([^"]+)"(.*?)</tr>', page, re.S))
    phone = [sid for sid, row in rows.items() if "<strong>Phone</strong>" in row]
    assert "lsc-dental-helpline" in phone
    if 'id="options-map"' in page:
        data = map_data(page)
        assert not set(phone) & {o["id"] for o in data["options"]}
        assert len(data["phone_only"]) == len(phone) and "Not on the map (telephone services)" in page
    else:
        assert len(phone) == len(rows)  # no map only when every option is a telephone service


def test_admin_service_page_shows_the_same_map(client):
    page = client.get("/admin/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    client.post("/admin/login", data={"username": "viewer1", "password": PASSWORD, "csrf_token": token})
    page = client.get("/admin/services/rph-ed").get_data(as_text=True)
    data = map_data(page, "service-map")
    assert data["caller"] is None and data["options"][0]["id"] == "rph-ed"
    assert abs(data["options"][0]["lat"] - 53.79) < 0.05
    assert 'src="/static/vendor/leaflet/leaflet.js"' in page


@pytest.mark.skipif(not NPM.exists(), reason="scripts/test-deps.sh has not fetched leaflet from npm into .cache")
def test_vendored_leaflet_is_the_npm_release_unmodified():
    for name in ("leaflet.js", "leaflet.css", "images/layers.png", "images/marker-icon.png"):
        assert (VENDOR / name).read_bytes() == (NPM / "dist" / name).read_bytes(), name
    assert (VENDOR / "LICENSE").read_bytes() == (NPM / "LICENSE").read_bytes()
    assert json.loads((NPM / "package.json").read_text())["version"] == "1.9.4"
