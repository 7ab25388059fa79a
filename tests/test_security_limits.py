"""Rate limits per client (429 with Retry-After and a JSON error), counters shared through Redis when
configured, and slow clients that cannot starve the workers."""
from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from tests.conftest import make_app

ROOT = Path(__file__).resolve().parents[1]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_the_api_answers_429_with_retry_after_and_json(tmp_path):
    client = make_app(tmp_path, ratelimit_default="5 per minute").test_client()
    codes = [client.get("/api/v1/dispositions").status_code for _ in range(5)]
    assert codes == [200] * 5
    resp = client.get("/api/v1/dispositions")
    assert resp.status_code == 429
    assert 1 <= int(resp.headers["Retry-After"]) <= 61
    body = resp.get_json()
    assert body["error"] == "too many requests" and "wait" in body["errors"]["rate"]
    # another client (address) is not affected
    other = client.get("/api/v1/dispositions", environ_overrides={"REMOTE_ADDR": "10.9.8.7"})
    assert other.status_code == 200


def test_a_valid_token_counts_on_its_own_but_made_up_tokens_do_not(tmp_path):
    app = make_app(tmp_path, ratelimit_default="3 per minute")
    accounts = app.extensions["uec"].accounts
    accounts.create_user("dispatch", "correct horse battery", "viewer")
    token = accounts.create_token("dispatch")
    client = app.test_client()
    for _ in range(3):
        assert client.get("/api/v1/complaints").status_code == 200
    assert client.get("/api/v1/complaints").status_code == 429
    assert client.get("/api/v1/complaints", headers={"Authorization": "Bearer uec_made_up"}).status_code == 429
    assert client.get("/api/v1/complaints", headers={"Authorization": f"Bearer {token}"}).status_code == 200


def test_coverage_has_a_tighter_limit(tmp_path):
    client = make_app(tmp_path, ratelimit_coverage="1 per minute").test_client()
    first = client.get("/api/v1/coverage?type=nope")  # even a refused call counts: it was made
    assert first.status_code == 400
    resp = client.get("/api/v1/coverage?type=emergency_department")
    assert resp.status_code == 429 and resp.headers["Retry-After"]
    assert client.get("/api/v1/dispositions").status_code == 200


def test_sign_in_attempts_are_limited_per_address(tmp_path):
    client = make_app(tmp_path, ratelimit_sign_in="3 per minute").test_client()
    for _ in range(5):
        page = client.get("/admin/login")  # viewing the page is not an attempt
        assert page.status_code == 200
    import re
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.get_data(as_text=True)).group(1)
    codes = [client.post("/admin/login", data={"username": "x", "password": "y", "csrf_token": token}).status_code
             for _ in range(4)]
    assert codes[-1] == 429 and 429 not in codes[:3]


def test_limits_can_be_switched_off(tmp_path):
    client = make_app(tmp_path, ratelimit_default="1 per minute", ratelimit_enabled=False).test_client()
    assert all(client.get("/api/v1/dispositions").status_code == 200 for _ in range(3))


def test_settings_come_from_the_environment(monkeypatch):
    from uec.config import Settings
    monkeypatch.setenv("UEC_RATELIMIT_STORAGE", "redis://127.0.0.1:6379")
    monkeypatch.setenv("UEC_RATELIMIT_DEFAULT", "10 per second")
    monkeypatch.setenv("UEC_RATELIMIT_ENABLED", "0")
    s = Settings.from_env()
    assert (s.ratelimit_storage, s.ratelimit_default, s.ratelimit_enabled) == \
        ("redis://127.0.0.1:6379", "10 per second", False)


@pytest.fixture
def redis_url(tmp_path):
    server = shutil.which("redis-server")
    if not server:
        if os.environ.get("CI"):
            pytest.fail("redis-server missing: scripts/test-deps.sh installs it")
        pytest.skip("redis-server not installed")
    port = _free_port()
    proc = subprocess.Popen([server, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
                             "--dir", str(tmp_path)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 10
    while time.time() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            break
        except OSError:
            time.sleep(0.05)
    yield f"redis://127.0.0.1:{port}"
    proc.terminate()
    proc.wait(timeout=10)


def test_redis_storage_counts_across_workers(tmp_path, redis_url):
    # two app instances stand for two gunicorn workers: one allowance between them
    a = make_app(tmp_path / "a", ratelimit_default="4 per minute", ratelimit_storage=redis_url).test_client()
    b = make_app(tmp_path / "b", ratelimit_default="4 per minute", ratelimit_storage=redis_url).test_client()
    codes = [c.get("/api/v1/dispositions").status_code for c in (a, b, a, b)]
    assert codes == [200] * 4
    assert a.get("/api/v1/dispositions").status_code == 429
    assert b.get("/api/v1/dispositions").status_code == 429


def test_redis_down_never_stops_routing(tmp_path):
    port = _free_port()  # nothing listens here
    client = make_app(tmp_path, ratelimit_storage=f"redis://127.0.0.1:{port}").test_client()
    resp = client.post("/api/v1/route", json={"disposition": "ED_4H", "location": {"postcode": "PR1 8XJ"}})
    assert resp.status_code == 200


# -- slow clients -----------------------------------------------------------------------------------
@pytest.fixture
def uec_serve(tmp_path):
    """The app as `uec serve` runs it (gunicorn, gthread workers that shed): one worker of 4 threads."""
    from directory.store import Store
    port = _free_port()
    env = dict(os.environ, UEC_VAR_DIR=str(tmp_path), DATABASE_URL=f"sqlite:///{tmp_path / 'd.sqlite'}",
               UEC_INSECURE_COOKIES="1")
    Store(env["DATABASE_URL"]).initialise()
    uec = Path(sys.executable).with_name("uec")
    proc = subprocess.Popen([str(uec), "serve", "--bind", f"127.0.0.1:{port}", "--workers", "1", "--threads", "4"],
                            cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    base = f"http://127.0.0.1:{port}"
    deadline = time.time() + 90
    while time.time() < deadline:
        try:
            urllib.request.urlopen(base + "/api/v1/health", timeout=5).read()
            break
        except OSError:
            time.sleep(0.2)
    else:
        proc.kill()
        pytest.fail("gunicorn did not start: " + proc.stderr.read().decode()[-2000:])
    yield port
    proc.terminate()
    proc.wait(timeout=20)


def test_two_slow_uploads_do_not_block_a_route_request(uec_serve):
    port = uec_serve
    slow = []
    for _ in range(2):  # each promises 100 kB and sends a few bytes, then stalls
        s = socket.create_connection(("127.0.0.1", port))
        s.sendall(b"POST /api/v1/route HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                  b"Content-Length: 100000\r\n\r\n{\"disp")
        slow.append(s)
    time.sleep(0.5)
    import json
    body = json.dumps({"disposition": "ED_4H", "location": {"postcode": "PR1 8XJ"}}).encode()
    req = urllib.request.Request(f"http://127.0.0.1:{port}/api/v1/route", data=body,
                                 headers={"Content-Type": "application/json"})
    t0 = time.monotonic()
    with urllib.request.urlopen(req, timeout=20) as r:
        answer = json.loads(r.read())
    took = time.monotonic() - t0
    for s in slow:
        s.close()
    assert answer["services"], answer
    assert took < 15  # answered while both slow uploads were still open
