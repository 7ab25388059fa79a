"""Fixtures for the admin tests: an app on a fresh database with one user of every role."""
from __future__ import annotations

import re

import pytest

from accounts import Accounts
from directory.store import Store
from uec.config import Settings
from uec.core import UrgentCare
from web import create_app

PASSWORD = "correct horse battery"
USERS = {
    "viewer": dict(role="viewer"),
    "capper": dict(role="capacity_updater", service_ids=["rph-ed", "rph-utc"]),
    "blackpool": dict(role="commissioner", areas=["Blackpool"]),          # a place
    "preston": dict(role="commissioner", areas=["E07000123"]),             # a district code
    "admin": dict(role="administrator"),
}


@pytest.fixture
def store(db_url, monkeypatch):
    from werkzeug.security import generate_password_hash
    # a cheap hash for test users only (production keeps werkzeug's default scrypt)
    monkeypatch.setattr("accounts.store.generate_password_hash",
                        lambda p: generate_password_hash(p, method="pbkdf2:sha256:1000"))
    s = Store(db_url)
    accounts = Accounts(s.engine)
    accounts.migrate()
    s.initialise()
    for name, kw in USERS.items():
        accounts.create_user(name, PASSWORD, kw["role"], areas=kw.get("areas", ()), service_ids=kw.get("service_ids", ()))
    yield s
    s.engine.dispose()


@pytest.fixture
def accounts(store):
    return Accounts(store.engine)


@pytest.fixture
def app(store, accounts, tmp_path):
    settings = Settings.from_env(database_url=store.url, var_dir=tmp_path, secret_key="test-secret",
                                 secure_cookies=False)
    app = create_app(settings, care=UrgentCare(settings, store=store, accounts=accounts))
    app.config["TESTING"] = True
    return app


class Browser:
    """A test client that signs in and sends the page's CSRF token like a browser would."""

    def __init__(self, app):
        self.c = app.test_client()

    def token(self) -> str:
        with self.c.session_transaction() as s:
            if "_csrf" not in s:
                s["_csrf"] = "tok-" + "x" * 20
            return s["_csrf"]

    def login(self, username: str, password: str = PASSWORD):
        self.c.get("/admin/login")
        return self.c.post("/admin/login", data={"username": username, "password": password,
                                                 "csrf_token": self.token()})

    def get(self, url, **kw):
        return self.c.get(url, **kw)

    def post(self, url, data=None, **kw):
        from werkzeug.datastructures import MultiDict
        # a MultiDict keeps repeated fields (checkboxes); a plain dict keeps (file, name) tuples whole
        data = MultiDict(data) if isinstance(data, MultiDict) else dict(data or {})
        if "csrf_token" not in data:
            data["csrf_token"] = self.token()
        return self.c.post(url, data=data, **kw)


@pytest.fixture
def browser(app):
    return Browser(app)


def signed_in(app, username: str) -> Browser:
    b = Browser(app)
    r = b.login(username)
    assert r.status_code == 302, r.data[:300]
    return b


def hidden(html: str, name: str) -> str:
    m = re.search(rf'name="{name}" value="([^"]*)"', html)
    return m.group(1) if m else ""
