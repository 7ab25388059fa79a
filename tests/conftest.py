"""Shared fixtures: databases (SQLite and the machine's PostgreSQL), the app, the shared data."""
from __future__ import annotations

import os
import uuid
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
