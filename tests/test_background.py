"""Nothing on the request path waits on the database: batch writer, gap log rules and retention, a frozen PostgreSQL."""
from __future__ import annotations

import logging
import socket
import threading
import time
import uuid
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import create_engine, func, insert, select, text

from directory import tables as t
from tests.conftest import PG_URL, _pg_available, make_app
from uec.background import BatchWriter, make_engine

ROUTE = {"disposition": "UTC_4H", "location": {"postcode": "PR1 8XJ"}, "age": 40, "sex": "male"}


# -- the batch writer -------------------------------------------------------------------------------
def test_batch_writer_writes_in_batches_and_flushes_on_close():
    batches: list[list[int]] = []
    w = BatchWriter(batches.append, name="t", max_batch=10, flush_ms=20)
    assert w.submit_many(range(25)) == 25
    assert w.flush(5)
    assert [x for b in batches for x in b] == list(range(25)) and max(map(len, batches)) <= 10
    w.submit(99)
    w.close(5)
    assert batches[-1][-1] == 99 and w.stats()["written"] == 26


def test_batch_writer_full_queue_drops_are_counted_and_logged_never_blocking(caplog):
    gate = threading.Event()
    w = BatchWriter(lambda batch: gate.wait(10), name="stuck", max_queue=5, max_batch=1, flush_ms=10)
    w.submit(0)
    time.sleep(0.1)  # the writer thread now holds item 0 and waits on the gate
    t0 = time.monotonic()
    with caplog.at_level(logging.WARNING, logger="uec.background"):
        accepted = w.submit_many(range(1, 21))
    assert time.monotonic() - t0 < 0.5, "submit blocked the caller"
    assert accepted == 5 and w.dropped == 15
    assert any("dropped 1 item" in r.getMessage() for r in caplog.records)
    gate.set()
    assert w.flush(5) and w.stats()["written"] == 6


def test_batch_writer_retries_a_failed_batch_instead_of_losing_it():
    calls: list[list[int]] = []

    def flaky(batch):
        calls.append(batch)
        if len(calls) == 1:
            raise ConnectionError("database down")

    w = BatchWriter(flaky, name="flaky", flush_ms=10, retry_max_s=0.2)
    w.submit_many([1, 2, 3])
    assert w.flush(5)
    assert w.failures == 1 and w.stats()["written"] == 3 and calls[-1] == [1, 2, 3]


# -- the gap log through the API ---------------------------------------------------------------------
@pytest.fixture
def app(tmp_path):
    app = make_app(tmp_path)
    app.testing = True
    return app


def _gap_rows(care) -> list:
    care.gap_log.flush(5)
    with care.store.engine.connect() as c:
        return c.execute(select(t.gaps.c.day, t.gaps.c.disposition)).all()


def test_gap_log_anonymous_only_near_now_trusted_any_date(app):
    care = app.extensions["uec"]
    client = app.test_client()
    night = datetime.now(timezone.utc).replace(hour=3, minute=0, second=0, microsecond=0)
    far = (night + timedelta(days=200)).isoformat()
    assert client.post("/api/v1/route", json={**ROUTE, "at": far}).status_code == 200
    assert _gap_rows(care) == [], "an anonymous call about a far date wrote gap rows"
    assert client.post("/api/v1/route", json=ROUTE).status_code == 200  # now
    near = _gap_rows(care)
    care.accounts.create_user("dispatch1", "a-long-password-1", "viewer")
    token = care.accounts.create_token("dispatch1")
    r = client.post("/api/v1/route", json={**ROUTE, "at": far}, headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 200
    rows = _gap_rows(care)
    far_day = datetime.fromisoformat(far).date().isoformat()
    assert any(d == far_day for d, _ in rows), "a trusted caller's planning query was not logged"
    assert len(rows) > len(near)


def test_gap_log_retention_prunes_old_rows(app):
    care = app.extensions["uec"]
    old = datetime.now(timezone.utc) - timedelta(days=care.settings.gap_retention_days + 5)
    recent = datetime.now(timezone.utc) - timedelta(days=1)
    with care.store.engine.begin() as c:
        for at in (old, recent):
            c.execute(insert(t.gaps).values(at=at, day=at.date().isoformat(), service_id="x", rule="closed",
                                            text="closed", disposition="UTC_4H"))
    assert care.gap_log.prune() == 1
    with care.store.engine.connect() as c:
        assert c.execute(select(func.count()).select_from(t.gaps)).scalar() == 1


# -- a frozen PostgreSQL -----------------------------------------------------------------------------
class PausableProxy:
    """A loopback TCP proxy whose forwarding can be paused: to the app, a frozen database server."""

    def __init__(self, upstream: tuple[str, int]):
        self.upstream = upstream
        self.running = threading.Event()
        self.running.set()
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.closed = False
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while not self.closed:
            try:
                down, _ = self.sock.accept()
            except OSError:
                return
            up = socket.create_connection(self.upstream)
            for a, b in ((down, up), (up, down)):
                threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    def _pump(self, src, dst):
        try:
            while True:
                data = src.recv(65536)
                if not data:
                    break
                while not self.running.wait(0.5):
                    if self.closed:
                        return
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                try:
                    s.close()
                except OSError:
                    pass

    def close(self):
        self.closed = True
        self.running.set()
        self.sock.close()


@pytest.fixture
def pg_behind_proxy(tmp_path):
    why = _pg_available()
    if why:
        pytest.skip(why)
    from sqlalchemy.engine import make_url
    url = make_url(PG_URL)
    proxy = PausableProxy((url.host or "127.0.0.1", url.port or 5432))
    schema = "t_" + uuid.uuid4().hex[:12]
    eng = create_engine(PG_URL)
    with eng.begin() as c:
        c.execute(text(f"CREATE SCHEMA {schema}"))
    proxied = url.set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False)
    yield proxy, f"{proxied}?options=-csearch_path%3D{schema}"
    proxy.close()
    with eng.begin() as c:
        c.execute(text(f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE pid <> pg_backend_pid() "
                       f"AND query LIKE '%{schema}%'"))
        c.execute(text(f"DROP SCHEMA {schema} CASCADE"))
    eng.dispose()


def test_frozen_postgres_changes_nothing_for_route_and_triage(tmp_path, pg_behind_proxy):
    proxy, url = pg_behind_proxy
    from uec.config import Settings
    from web import create_app
    app = create_app(Settings.from_env(var_dir=tmp_path, database_url=url, secure_cookies=False, refresh_seconds=0.2))
    app.testing = True
    care = app.extensions["uec"]
    client = app.test_client()
    before = client.post("/api/v1/route", json=ROUTE).get_json()
    assert before["services"]
    care.accounts.create_user("dispatch-frozen", "a-long-password-1", "viewer")
    bearer = {"Authorization": f"Bearer {care.accounts.create_token('dispatch-frozen')}"}
    assert client.post("/api/v1/route", json=ROUTE, headers=bearer).status_code == 200  # token now known
    proxy.running.clear()  # from here every byte to and from PostgreSQL stalls
    try:
        time.sleep(0.5)  # the poller is now stuck in a version check
        triage = {"complaint": "sore_throat", "age": 30, "sex": "female", "location": {"postcode": "PR1 8XJ"},
                  "answers": {}}
        for _ in range(20):
            t0 = time.monotonic()
            r = client.post("/api/v1/route", json=ROUTE)
            assert r.status_code == 200 and time.monotonic() - t0 < 1.0
            assert [s["id"] for s in r.get_json()["services"]] == [s["id"] for s in before["services"]]
            t0 = time.monotonic()
            assert client.post("/api/v1/route", json=ROUTE, headers=bearer).status_code == 200
            assert time.monotonic() - t0 < 1.0, "a token holder's request waited on the frozen database"
            t0 = time.monotonic()
            assert client.post("/api/v1/triage", json=triage).status_code == 200
            assert time.monotonic() - t0 < 1.0
        assert client.get("/api/v1/health").status_code == 200
        queued = care.gap_log.writer.stats()
        assert queued["written"] < queued["submitted"], "gap rows were written although the database is frozen"
    finally:
        proxy.running.set()
    assert care.gap_log.flush(15), "gap rows queued while the database was frozen were not written afterwards"
    assert care.gap_log.writer.dropped == 0
    care.stop_background()
    care.store.engine.dispose()


def test_background_engine_gives_up_on_an_unreachable_database():
    eng = make_engine("postgresql+psycopg://root@127.0.0.1:9/test", connect_timeout_s=1)
    t0 = time.monotonic()
    with pytest.raises(Exception):
        with eng.connect():
            pass
    assert time.monotonic() - t0 < 5


def test_rebuild_runs_off_the_request_path_and_the_old_snapshot_answers_meanwhile(tmp_path):
    """A slow rebuild (an import of thousands of services) never holds a request: it answers from the
    old snapshot until the new one is swapped in whole."""
    from uec.config import Settings
    from web import create_app
    app = create_app(Settings.from_env(var_dir=tmp_path, database_url=f"sqlite:///{tmp_path / 'd.sqlite'}",
                                       secure_cookies=False, refresh_seconds=0.1))
    app.testing = True
    care = app.extensions["uec"]
    client = app.test_client()
    v0 = client.post("/api/v1/route", json=ROUTE).get_json()["directory_version"]
    building, release = threading.Event(), threading.Event()
    real_build = care._build

    def slow_build(version, store=None):
        building.set()
        release.wait(20)
        return real_build(version, store)

    care._refresher._build = slow_build
    svc = care.store.get("rph-ed")
    care.store.update("rph-ed", svc.to_dict() | {"status": "temporarily_closed", "closed_reason": "test"},
                      expected_version=svc.version, user="test")
    try:
        assert building.wait(10), "the background thread did not start a rebuild"
        for _ in range(10):
            t0 = time.monotonic()
            r = client.post("/api/v1/route", json={**ROUTE, "disposition": "ED_4H"})
            assert r.status_code == 200 and time.monotonic() - t0 < 1.0
            assert r.get_json()["directory_version"] == v0
    finally:
        release.set()
    deadline = time.monotonic() + 10
    while client.post("/api/v1/route", json=ROUTE).get_json()["directory_version"] == v0:
        assert time.monotonic() < deadline, "the rebuilt snapshot was never swapped in"
        time.sleep(0.05)
    ids = [s["id"] for s in client.post("/api/v1/route", json={**ROUTE, "disposition": "ED_4H"}).get_json()["services"]]
    assert "rph-ed" not in ids
    care.stop_background()


def test_token_cache_answers_known_tokens_without_the_database_and_sees_revocation():
    from uec.tokencache import TokenCache
    users = {"t1": {"username": "a", "requester_role": "nwas"}}
    calls = []
    gate = threading.Event()
    gate.set()

    def lookup(token):
        calls.append(token)
        assert gate.wait(10)
        return users.get(token)

    cache = TokenCache(lookup, ttl_s=0.2)
    assert cache.user("t1")["requester_role"] == "nwas" and cache.user("nope") is None
    n = len(calls)
    assert cache.user("t1") and len(calls) == n  # fresh: no look-up
    gate.clear()  # the database freezes
    time.sleep(0.25)
    t0 = time.monotonic()
    assert cache.user("t1")["username"] == "a" and time.monotonic() - t0 < 0.1  # stale entry answers at once
    users.pop("t1")  # revoked meanwhile
    gate.set()
    deadline = time.monotonic() + 5
    while cache.user("t1") is not None:
        assert time.monotonic() < deadline, "a revoked token was never noticed"
        time.sleep(0.05)
