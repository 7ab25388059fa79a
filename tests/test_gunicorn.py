"""Under gunicorn with several workers, a directory change reaches every worker within 2 seconds."""
from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from directory.store import Store

ROOT = Path(__file__).resolve().parents[1]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _get(url: str) -> dict:
    with urllib.request.urlopen(url, timeout=10) as r:
        return json.loads(r.read())


def _post(url: str, body: dict) -> dict:
    req = urllib.request.Request(url, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=10) as r:
        return json.loads(r.read())


@pytest.fixture
def server(tmp_path):
    port = _free_port()
    env = dict(os.environ, UEC_VAR_DIR=str(tmp_path), DATABASE_URL=f"sqlite:///{tmp_path / 'd.sqlite'}")
    Store(env["DATABASE_URL"]).initialise()
    gunicorn = Path(sys.executable).with_name("gunicorn")
    proc = subprocess.Popen([str(gunicorn), "--bind", f"127.0.0.1:{port}", "--workers", "2", "wsgi:app"],
                            cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    base = f"http://127.0.0.1:{port}"
    deadline = time.time() + 60
    while time.time() < deadline:
        try:
            _get(base + "/api/v1/health")
            break
        except OSError:
            time.sleep(0.2)
    else:
        proc.kill()
        pytest.fail("gunicorn did not start: " + proc.stderr.read().decode()[-2000:])
    yield base, env["DATABASE_URL"]
    proc.terminate()
    proc.wait(timeout=20)


def test_change_visible_in_every_worker_within_two_seconds(server):
    base, url = server
    body = {"disposition": "ED_4H", "location": {"postcode": "PR1 8XJ"}, "age": 40, "sex": "male"}
    pids = set()
    for _ in range(40):  # warm both workers
        pids.add(_get(base + "/api/v1/health")["worker_pid"])
    assert _post(base + "/api/v1/route", body)["services"][0]["id"] == "rph-ed"
    store = Store(url)
    svc = store.get("rph-ed")
    store.update("rph-ed", svc.to_dict() | {"status": "temporarily_closed", "closed_reason": "test: power cut"},
                 expected_version=svc.version, user="test")
    changed = time.monotonic()
    time.sleep(2.0)
    seen: set[int] = set()
    deadline = time.monotonic() + 20
    # keep asking until every worker seen before the change has answered since; each answer must be new
    from concurrent.futures import ThreadPoolExecutor
    with ThreadPoolExecutor(8) as pool:  # concurrent requests, so a busy worker cannot take every one
        while (len(seen) < len(pids) or not seen) and time.monotonic() < deadline:
            for health in pool.map(lambda _: _get(base + "/api/v1/health"), range(8)):
                seen.add(health["worker_pid"])
                assert health["directory_version"] == store.directory_version(), \
                    "a worker still routes on the old directory"
            ids = [s["id"] for s in _post(base + "/api/v1/route", body)["services"]]
            assert "rph-ed" not in ids
    assert seen >= pids, f"workers {pids - seen} never answered after the change"
    assert time.monotonic() - changed < 30
