"""Shared fixtures: databases (SQLite and the machine's PostgreSQL), the app, the shared data."""
from __future__ import annotations

import os
import threading
import uuid
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = ROOT.parent / "shared" / "data"
PG_URL = os.environ.get("UEC_TEST_POSTGRES_URL", "postgresql+psycopg://root@127.0.0.1:5432/test")


def _pg_available() -> str | None:
    try:
        eng = create_engine(PG_URL)
        with eng.connect() as c:
            c.execute(text("select 1"))
        eng.dispose()
        return None
    except Exception as exc:  # pragma: no cover - depends on the machine
        return f"PostgreSQL not reachable at {PG_URL}: {exc.__class__.__name__}"


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request, tmp_path):
    """A fresh, empty database on SQLite and on PostgreSQL (its own schema, dropped afterwards)."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'directory.sqlite'}"
        return
    why = _pg_available()
    if why:
        if os.environ.get("UEC_REQUIRE_POSTGRES") or os.environ.get("CI"):
            pytest.fail(why + " (CI requires the PostgreSQL storage tests)")
        pytest.skip(why)
    schema = "t_" + uuid.uuid4().hex[:12]
    eng = create_engine(PG_URL)
    with eng.begin() as c:
        c.execute(text(f"CREATE SCHEMA {schema}"))
    yield f"{PG_URL}?options=-csearch_path%3D{schema}"
    with eng.begin() as c:
        c.execute(text(f"DROP SCHEMA {schema} CASCADE"))
    eng.dispose()


@pytest.fixture
def shared_data() -> Path:
    if not SHARED_DATA.exists():
        pytest.skip(f"shared open data not found at {SHARED_DATA}")
    return SHARED_DATA


def make_app(var: Path, **settings):
    """The real app on a fresh SQLite database in `var` (first start loads the bundled LSC data)."""
    from uec.config import Settings
    from web import create_app
    settings.setdefault("ratelimit_default", "100000 per minute")  # tests are one busy client; limits: test_security_limits
    return create_app(Settings.from_env(var_dir=var, database_url=f"sqlite:///{var / 'directory.sqlite'}",
                                        secure_cookies=False, **settings))


@contextmanager
def serve(app):
    """Serve `app` with werkzeug on 127.0.0.1 on a free port, in a thread; yields the base URL."""
    from werkzeug.serving import make_server
    srv = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{srv.server_port}"
    finally:
        srv.shutdown()
        thread.join(5)


@pytest.fixture(scope="module")
def browser():
    """Debian's Chromium, one per test module (tests/browser_support.py: how, and when it may be missing)."""
    from playwright.sync_api import sync_playwright

    from tests.browser_support import launch
    with sync_playwright() as p:
        b = launch(p)
        yield b
        b.close()
