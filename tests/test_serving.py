"""Overload answers a fast 503 with Retry-After (gunicorn's shedding worker and the WSGI guard), never a long queue."""
from __future__ import annotations

import concurrent.futures
import http.client
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from uec.serving import LoadShedding

SLOW_APP = '''
import time
def app(environ, start_response):
    time.sleep(0.4)
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", "2")])
    return [b"ok"]
'''


def test_guard_refuses_past_the_in_flight_limit_with_retry_after():
    calls = []

    def app(environ, start_response):
        calls.append(1)
        start_response("200 OK", [])
        return [b"ok"]

    statuses = {}

    def start(status, headers):
        statuses["status"], statuses["headers"] = status, dict(headers)

    import io
    body = b'{"a": 1}'
    out = LoadShedding(app, max_in_flight=0)({"CONTENT_LENGTH": str(len(body)), "wsgi.input": io.BytesIO(body)}, start)
    assert statuses["status"].startswith("503") and statuses["headers"]["Retry-After"] == "1"
    assert b"overloaded" in b"".join(out) and not calls
    LoadShedding(app, max_in_flight=4)({}, start)
    assert statuses["status"].startswith("200") and calls


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_listening(port: int, timeout: float = 30.0) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.1)


@pytest.fixture(params=["uec.serving.ShedThreadWorker", "uec.serving.ShedSyncWorker"])
def slow_server(tmp_path, request):
    (tmp_path / "slowapp.py").write_text(SLOW_APP)
    port = _free_port()
    root = Path(__file__).resolve().parents[1]
    env = dict(os.environ, UEC_MAX_QUEUE_MS="100", PYTHONPATH=str(root))
    gunicorn = Path(sys.executable).with_name("gunicorn")
    proc = subprocess.Popen([str(gunicorn), "--bind", f"127.0.0.1:{port}", "--workers", "1", "--threads", "1",
                             "--worker-class", request.param, "--chdir", str(tmp_path), "slowapp:app"],
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True)
    _wait_listening(port)
    yield port
    os.killpg(proc.pid, signal.SIGTERM)
    proc.wait(timeout=20)


def _get(port: int) -> tuple[int, str | None, float]:
    t0 = time.monotonic()
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request("GET", "/")
        resp = conn.getresponse()
        resp.read()
        return resp.status, resp.getheader("Retry-After"), time.monotonic() - t0
    finally:
        conn.close()


def test_saturated_worker_sheds_with_fast_503_instead_of_queueing(slow_server):
    with concurrent.futures.ThreadPoolExecutor(10) as pool:
        results = list(pool.map(lambda _: _get(slow_server), range(10)))
    ok = [r for r in results if r[0] == 200]
    shed = [r for r in results if r[0] == 503]
    assert ok and shed and len(ok) + len(shed) == 10, results
    assert all(r[1] == "1" for r in shed)
    # one thread at 0.4 s a request would queue the last of 10 for 4 s; shedding bounds every answer
    assert max(r[2] for r in results) < 2.5, results


ECHO_APP = '''
def app(environ, start_response):
    n = int(environ.get("CONTENT_LENGTH") or 0)
    read = environ["wsgi.input"].read(n) if environ.get("QUERY_STRING") == "read" else b""
    body = (b"x" * 200_000) + str(len(read)).encode()
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
    return [body]
'''


def _raw(port: int, request: bytes) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        s.sendall(request)
        out = b""
        while chunk := s.recv(65536):
            out += chunk
        return out


def test_closed_connections_answer_whole_and_the_worker_stops_promptly(tmp_path):
    """ShedThreadWorker closes a fully read connection in its own thread (no hand-back to the main
    thread); one with unread request bytes takes gunicorn's lingering close; either way every answer
    arrives whole, and a graceful stop does not wait out its timeout for connections closed this way."""
    (tmp_path / "echoapp.py").write_text(ECHO_APP)
    port = _free_port()
    gunicorn = Path(sys.executable).with_name("gunicorn")
    env = dict(os.environ, PYTHONPATH=str(Path(__file__).resolve().parents[1]))
    proc = subprocess.Popen([str(gunicorn), "--bind", f"127.0.0.1:{port}", "--workers", "1", "--threads", "2",
                             "--worker-class", "uec.serving.ShedThreadWorker", "--graceful-timeout", "20",
                             "--chdir", str(tmp_path), "echoapp:app"],
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True)
    try:
        _wait_listening(port)
        body = b"y" * 50_000
        read_all = (b"POST /?read HTTP/1.1\r\nHost: t\r\nConnection: close\r\nContent-Length: %d\r\n\r\n" % len(body)) + body
        unread = (b"POST / HTTP/1.1\r\nHost: t\r\nConnection: close\r\nContent-Length: %d\r\n\r\n" % len(body)) + body
        with concurrent.futures.ThreadPoolExecutor(8) as pool:
            answers = list(pool.map(lambda req: _raw(port, req), [read_all, unread] * 20))
        for i, answer in enumerate(answers):
            head, _, payload = answer.partition(b"\r\n\r\n")
            assert head.startswith(b"HTTP/1.1 200"), head[:80]
            assert payload == b"x" * 200_000 + (b"50000" if i % 2 == 0 else b"0")
        t0 = time.monotonic()
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=30)
        assert time.monotonic() - t0 < 10  # not the 20 s graceful timeout
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)
