"""Security headers (CSP without inline script, framing, nosniff, referrer, permissions, no-store on
admin and outcome pages, HSTS over TLS) and the Secure cookie behind a TLS proxy (ProxyFix)."""
from __future__ import annotations

import re

import pytest

from tests.browser_support import launch, needs_browser
from tests.conftest import make_app, serve


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    return make_app(tmp_path_factory.mktemp("headers"))


@pytest.fixture
def client(app):
    return app.test_client()


def _csp(resp) -> dict[str, str]:
    return {d.split()[0]: d for d in (p.strip() for p in resp.headers["Content-Security-Policy"].split(";")) if d}


def _token(html: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


@pytest.mark.parametrize("path", ["/", "/admin/login", "/api/v1/dispositions"])
def test_every_answer_has_the_security_headers(client, path):
    resp = client.get(path)
    csp = _csp(resp)
    assert csp["script-src"] == "script-src 'self'"  # no inline script, no eval
    assert csp["frame-ancestors"] == "frame-ancestors 'none'" and csp["object-src"] == "object-src 'none'"
    assert resp.headers["X-Content-Type-Options"] == "nosniff"
    assert resp.headers["X-Frame-Options"] == "DENY"
    assert resp.headers["Referrer-Policy"] == "same-origin"
    assert "camera=()" in resp.headers["Permissions-Policy"] and "geolocation=()" in resp.headers["Permissions-Policy"]


def test_pages_have_no_inline_script(client):
    pages = [client.get("/").get_data(as_text=True), client.get("/admin/login").get_data(as_text=True)]
    html = pages[0]
    pages.append(client.post("/", data={"csrf_token": _token(html), "action": "start", "age": "40", "sex": "male",
                                        "location": "PR1 8XJ", "complaint": "fall"}).get_data(as_text=True))
    for page in pages:
        for tag in re.findall(r"<script\b[^>]*>", page):
            assert "src=" in tag, tag
        assert not re.search(r"<script\b[^>]*>\s*[^<\s]", page), "inline script content"
        assert not re.search(r"\son[a-z]+=\"", page), "inline event handler"
    assert "uec/js-enabled.js" in pages[0]


def test_no_store_on_admin_and_outcome_pages(client):
    assert client.get("/admin/login").headers["Cache-Control"] == "no-store"
    html = client.get("/").get_data(as_text=True)
    outcome = client.post("/", data={"csrf_token": _token(html), "action": "start", "age": "40", "sex": "male",
                                     "location": "PR1 8XJ", "complaint": "fall"})
    assert outcome.headers["Cache-Control"] == "no-store"
    route = client.post("/api/v1/route", json={"disposition": "ED_4H", "location": {"postcode": "PR1 8XJ"}})
    assert route.headers["Cache-Control"] == "no-store"


def test_static_files_may_be_cached(client):
    resp = client.get("/static/uec/js-enabled.js")
    assert resp.status_code == 200 and resp.headers.get("Cache-Control") != "no-store"


def test_no_hsts_over_plain_http(client):
    assert "Strict-Transport-Security" not in client.get("/").headers


def test_forwarded_proto_is_ignored_without_proxy_fix(client):
    resp = client.get("/", headers={"X-Forwarded-Proto": "https"})
    assert "Strict-Transport-Security" not in resp.headers


def test_behind_a_tls_proxy_hsts_and_the_real_client_address(tmp_path):
    app = make_app(tmp_path, proxy_hops=1, ratelimit_default="2 per minute")
    c = app.test_client()
    headers = {"X-Forwarded-Proto": "https", "X-Forwarded-For": "203.0.113.9", "X-Forwarded-Host": "uec.example.nhs.uk"}
    resp = c.get("/api/v1/dispositions", headers=headers)
    assert resp.headers["Strict-Transport-Security"].startswith("max-age=31536000")
    c.get("/api/v1/dispositions", headers=headers)
    assert c.get("/api/v1/dispositions", headers=headers).status_code == 429  # counted by the real client
    other = dict(headers, **{"X-Forwarded-For": "203.0.113.10"})
    assert c.get("/api/v1/dispositions", headers=other).status_code == 200


def _sign_in_cookie(app) -> str:
    accounts = app.extensions["uec"].accounts
    accounts.create_user("hdr-admin", "correct horse battery", "administrator")
    c = app.test_client()
    html = c.get("/admin/login").get_data(as_text=True)
    resp = c.post("/admin/login", data={"csrf_token": _token(html), "username": "hdr-admin",
                                        "password": "correct horse battery"})
    assert resp.status_code == 302, resp.get_data(as_text=True)[:300]
    return "; ".join(resp.headers.getlist("Set-Cookie"))


def test_session_cookie_is_secure_by_default(tmp_path):
    from uec.config import Settings
    from web import create_app
    settings = Settings.from_env(var_dir=tmp_path, database_url=f"sqlite:///{tmp_path / 'd.sqlite'}")
    assert settings.secure_cookies  # nothing in the environment turns it off
    cookie = _sign_in_cookie(create_app(settings))
    assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_uec_serve_on_loopback_keeps_the_secure_flag(monkeypatch, tmp_path):
    """Binding to 127.0.0.1 is how the app runs behind a TLS proxy: it must not drop the Secure flag."""
    import os

    from uec import cli
    monkeypatch.delenv("UEC_INSECURE_COOKIES", raising=False)
    monkeypatch.setenv("UEC_VAR_DIR", str(tmp_path))
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'd.sqlite'}")
    seen = {}
    monkeypatch.setattr(os, "execvp", lambda prog, argv: seen.update(argv=argv, env=dict(os.environ)))
    monkeypatch.setattr(os, "chdir", lambda path: None)
    cli.main(["serve", "--bind", "127.0.0.1:8123"])
    assert seen["argv"] and "UEC_INSECURE_COOKIES" not in seen["env"]


def test_insecure_cookies_only_when_asked(tmp_path):
    cookie = _sign_in_cookie(make_app(tmp_path))  # make_app passes secure_cookies=False (local demo)
    assert "Secure" not in cookie


@needs_browser
def test_browser_runs_every_script_under_the_csp_and_signs_in_over_loopback(tmp_path):
    """Chromium reports no CSP violation on the call-handler pages, the page is marked js-enabled
    (the moved script ran), and a Secure session cookie works on http://127.0.0.1 (the local demo)."""
    from playwright.sync_api import sync_playwright

    from uec.config import Settings
    from web import create_app
    settings = Settings.from_env(var_dir=tmp_path, database_url=f"sqlite:///{tmp_path / 'd.sqlite'}",
                                 ratelimit_default="100000 per minute")
    app = create_app(settings)
    app.extensions["uec"].accounts.create_user("csp-admin", "correct horse battery", "administrator")
    with serve(app) as url, sync_playwright() as p:
        browser = launch(p)
        page = browser.new_page()
        violations: list[str] = []
        page.on("console", lambda m: violations.append(m.text) if "Content Security Policy" in m.text else None)
        page.goto(url + "/")
        assert "js-enabled" in page.evaluate("document.body.className")
        page.fill("#age", "40")
        page.check("#sex-2") if page.locator("#sex-2").count() else None
        page.goto(url + "/admin/login")
        page.fill("input[name=username]", "csp-admin")
        page.fill("input[name=password]", "correct horse battery")
        page.press("input[name=password]", "Enter")
        page.wait_for_load_state()
        assert "/admin/login" not in page.url, "the Secure session cookie was not kept over http://127.0.0.1"
        browser.close()
    assert violations == []
