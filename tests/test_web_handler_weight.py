"""Weight and errors through the Flask test client: compressed responses, the complaint suggestions
as one cached file, and NHS-styled error pages for 400/403/404/500."""
from __future__ import annotations

import gzip
import json

import brotli
import pytest

from tests.conftest import make_app
from tests.test_web_handler import text


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    app = make_app(tmp_path_factory.mktemp("weight"))
    app.testing = True
    app.config["PROPAGATE_EXCEPTIONS"] = False

    @app.get("/boom-for-test")
    def boom():
        raise RuntimeError("test failure")
    return app


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.mark.parametrize("path", ["/", "/static/nhsuk/nhsuk-frontend.min.css", "/static/vendor/leaflet/leaflet.js",
                                  "/map/boundaries.geojson", "/complaints/suggestions.json"])
def test_responses_are_compressed_with_brotli_or_gzip(client, path):
    plain = client.get(path).data
    br = client.get(path, headers={"Accept-Encoding": "br, gzip"})
    gz = client.get(path, headers={"Accept-Encoding": "gzip"})
    same = (lambda body: b"New call" in body) if path == "/" else (lambda body: body == plain)  # a new call reference each time
    assert br.headers["Content-Encoding"] == "br" and same(brotli.decompress(br.data))
    assert gz.headers["Content-Encoding"] == "gzip" and same(gzip.decompress(gz.data))
    assert "Accept-Encoding" in br.headers["Vary"]
    assert len(br.data) < len(plain) / 3


def test_complaint_suggestions_are_one_cached_file(client, app):
    resp = client.get("/complaints/suggestions.json")
    titles = json.loads(resp.data)
    assert "Fall (adult)" in titles and "fell over cant get up" in titles and titles == sorted(titles)
    assert "max-age" in resp.headers["Cache-Control"]
    assert client.get("/complaints/suggestions.json", headers={"If-None-Match": resp.headers["ETag"]}).status_code == 304
    page = client.get("/").get_data(as_text=True)
    assert "on the floor since" in titles and "on the floor since" not in page


@pytest.mark.parametrize("method,path,code,words", [
    ("get", "/no-such-page", 404, "Page not found"),
    ("post", "/", 400, "security token is missing"),
    ("get", "/boom-for-test", 500, "Sorry, there is a problem with the service"),
])
def test_error_pages_are_nhs_pages_that_say_what_to_do(client, method, path, code, words):
    resp = getattr(client, method)(path)
    page = resp.get_data(as_text=True)
    assert resp.status_code == code and resp.mimetype == "text/html"
    assert 'class="nhsuk-header' in page and 'nhsuk-frontend.min.css' in page
    assert f'data-status="{code}"' in page and words in text(page)
    assert "Start a new call" in text(page)
    assert "test failure" not in page and "Traceback" not in page


def test_403_names_what_the_role_cannot_do(app, client):
    import re
    app.extensions["uec"].accounts.create_user("viewer9", "correct horse battery", "viewer")
    token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/admin/login").get_data(as_text=True)).group(1)
    client.post("/admin/login", data={"username": "viewer9", "password": "correct horse battery", "csrf_token": token})
    resp = client.get("/admin/users")
    page = resp.get_data(as_text=True)
    assert resp.status_code == 403 and 'data-status="403"' in page and "You cannot do that" in text(page)
    assert "Go to the directory admin" in text(page)


def test_api_errors_stay_json(client):
    resp = client.get("/api/v1/no-such-thing")
    assert resp.status_code == 404 and resp.is_json
