"""Load shedding under gunicorn: a request that waited too long for a thread gets a fast 503, not a queue."""
from __future__ import annotations

import json
import logging
import os
import threading
import time
from typing import Any, Callable, Iterable

import select
import socket
import struct

from gunicorn.workers.gthread import ThreadWorker
from gunicorn.workers.sync import SyncWorker

log = logging.getLogger("uec.serving")
_waited = threading.local()
_REFUSAL_BODY = json.dumps({"error": "overloaded", "message": "the service is at capacity; retry after 1 s "
                                                              "(another node may answer sooner)"}).encode()
_REFUSAL = (b"HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\nRetry-After: 1\r\n"
            b"Connection: close\r\nContent-Length: " + str(len(_REFUSAL_BODY)).encode() + b"\r\n\r\n" + _REFUSAL_BODY)


_TCPI_LAST_DATA_RECV = 52  # byte offset of tcpi_last_data_recv (ms) in Linux's struct tcp_info


def _ms_since_request(sock: socket.socket) -> int | None:
    """Milliseconds since the kernel last received data on this just-accepted connection: how long
    the request waited in the listen backlog. None where TCP_INFO is not available."""
    try:
        info = sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, 104)
        return struct.unpack_from("I", info, _TCPI_LAST_DATA_RECV)[0]
    except (OSError, AttributeError, struct.error):
        return None


def _send_refusal(sock: socket.socket) -> None:
    try:
        sock.setblocking(False)
        try:
            while sock.recv(65536):  # drain the request so closing does not reset the answer
                pass
        except (BlockingIOError, InterruptedError):
            pass
        sock.settimeout(1.0)
        sock.sendall(_REFUSAL)
    except OSError:
        pass


class _Hold:
    """Stands in for the socket while gunicorn writes a response's head and first body bytes."""

    __slots__ = ("parts",)

    def __init__(self) -> None:
        self.parts: list[bytes] = []

    def sendall(self, data: bytes) -> None:
        self.parts.append(bytes(data))


def one_write_responses() -> None:
    """Make gunicorn send a response's head and its (first) body bytes with one sendall, not two.

    gunicorn writes the status line and headers, then the body: two syscalls and two TCP segments per
    answer, each waking the client. Only the plain case is changed (a bytes body, not chunked, a status
    that has a body); everything else goes through gunicorn's own code. Installed by the workers below,
    in their own processes only."""
    from gunicorn.http import wsgi as gwsgi
    response = gwsgi.Response
    if getattr(response, "_uec_one_write", False):
        return
    original = response.write

    def write(self, arg):
        if (getattr(self, "headers_sent", True) or getattr(self, "chunked", True)
                or getattr(self, "_omits_body", True) or not isinstance(arg, bytes)):
            return original(self, arg)
        sock, hold = self.sock, _Hold()
        self.sock = hold
        try:
            original(self, arg)  # gunicorn's bookkeeping (length cap, counters), written into `hold`
        finally:
            self.sock = sock
        sock.sendall(b"".join(hold.parts))

    response.write = write
    response._uec_one_write = True


def _has_data(sock: socket.socket) -> bool:
    """Whether request bytes are already waiting on a new connection (one non-blocking peek)."""
    try:
        return bool(sock.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT))
    except (BlockingIOError, InterruptedError, OSError, AttributeError):
        return False


class ShedSyncWorker(SyncWorker):
    """gunicorn's sync worker (the cheapest per request) that answers 503 + Retry-After, without
    parsing, to a connection whose request waited in the listen backlog longer than
    UEC_MAX_QUEUE_MS (read from the kernel's TCP_INFO), so a saturated node drains its backlog at
    the cost of a refusal instead of serving requests whose callers have waited seconds."""

    max_wait_ms = float(os.environ.get("UEC_MAX_QUEUE_MS", "250"))
    shed = 0

    def init_process(self):
        one_write_responses()
        super().init_process()

    def wait(self, timeout):
        """Wait for a connection like gunicorn's sync worker, but on an epoll set where the listening
        socket is registered EPOLLEXCLUSIVE: the kernel wakes one idle worker per connection, not every
        worker (gunicorn's select() wakes them all, and all but one find nothing to accept: a wasted
        wake-up per idle worker per request). Falls back to gunicorn's select() where epoll is missing."""
        epoll = getattr(self, "_uec_epoll", None)
        if epoll is None:
            if not hasattr(select, "epoll") or not hasattr(select, "EPOLLEXCLUSIVE"):
                return super().wait(timeout)
            epoll = self._uec_epoll = select.epoll()
            self._uec_fds = {}
            for sock in self.sockets:
                epoll.register(sock.fileno(), select.EPOLLIN | select.EPOLLEXCLUSIVE)
                self._uec_fds[sock.fileno()] = sock
            epoll.register(self.PIPE[0], select.EPOLLIN)
            self._uec_fds[self.PIPE[0]] = self.PIPE[0]
        try:
            self.notify()
            events = epoll.poll(timeout)
        except InterruptedError:
            return self.sockets
        ready = [self._uec_fds[fd] for fd, _ in events if fd in self._uec_fds]
        if self.PIPE[0] in ready:
            try:
                os.read(self.PIPE[0], 1)
            except BlockingIOError:
                pass
        return ready or None

    def handle(self, listener, client, addr):
        waited = _ms_since_request(client)
        if waited is not None and waited > self.max_wait_ms:
            self.shed += 1
            if self.shed == 1 or self.shed % 1000 == 0:
                self.log.warning("overloaded: shed %d connection(s) with 503 (request waited %d ms)", self.shed, waited)
            _send_refusal(client)
            try:
                client.close()
            except OSError:
                pass
            return
        return super().handle(listener, client, addr)


def _fully_read(conn: Any) -> bool:
    """Whether every byte the client sent on this connection has been read: the request's body to its
    declared length, nothing buffered behind it, and nothing waiting in the kernel. Anything unknown
    (another body reader, TLS, HTTP/2) counts as not."""
    try:
        from gunicorn.http.body import LengthReader
        parser = conn.parser
        body = parser.mesg.body
        if (conn.is_http2 or type(conn.sock) is not socket.socket
                or not isinstance(body.reader, LengthReader) or body.reader.length != 0
                or body.buf.getbuffer().nbytes or parser.unreader.buf.getbuffer().nbytes):
            return False
    except (AttributeError, TypeError, ValueError):
        return False
    return not _has_data(conn.sock)  # nothing waiting in the kernel (or the client has closed)


_CLOSED = object()  # the connection was closed in its thread (see ShedThreadWorker._serve)


def _exclusive_listeners(poller: Any, sockets: Iterable[Any]) -> None:
    """Register the listening sockets in a gthread worker's epoll set with EPOLLEXCLUSIVE, as
    ShedSyncWorker.wait does: the kernel then wakes one idle worker per new connection instead of
    all of them (the others find nothing to accept: strace showed one failed accept per two
    requests). Python's selectors cannot pass the flag, so the listener is re-added to the selector's
    own epoll object, leaving its key map as it is; where that is not possible nothing changes."""
    ep = getattr(poller, "_selector", None)
    flag = getattr(select, "EPOLLEXCLUSIVE", None)
    if flag is None or not isinstance(ep, select.epoll):
        return
    for sock in sockets:
        fd = sock.fileno()
        try:
            ep.unregister(fd)
            ep.register(fd, select.EPOLLIN | flag)
        except OSError:
            try:
                ep.register(fd, select.EPOLLIN)  # as the selector had it
            except OSError:
                pass


class ShedThreadWorker(ThreadWorker):
    """gunicorn's gthread worker that stamps each connection when it is queued for a thread, so the
    app can tell how long a request waited (`queued_seconds()`) and shed it when the worker is
    saturated. (A sync worker's queue is the kernel's listen backlog, invisible to the app.)

    A connection that is not kept alive is closed by the thread that served it when its request was
    read to the last byte: gunicorn would hand it back to the main thread (a pipe write and a wake-up)
    for a lingering close, whose point (RFC 9112 section 9.6: not resetting an answer while unread
    request bytes remain) does not arise then. Any other connection takes gunicorn's own path."""

    max_wait_s = float(os.environ.get("UEC_MAX_QUEUE_MS", "250")) / 1000.0
    shed = 0

    def init_process(self):
        one_write_responses()
        self._uec_closed = 0  # closed in their threads, not yet taken off nr_conns by the main thread
        self._uec_closed_lock = threading.Lock()
        super().init_process()

    def set_accept_enabled(self, enabled):
        was = self._accepting
        super().set_accept_enabled(enabled)
        if enabled and not was:
            _exclusive_listeners(self.poller, self.sockets)

    def enqueue_req(self, conn):
        conn.uec_queued_at = time.monotonic()
        fs = self.tpool.submit(self._serve, conn)
        fs.add_done_callback(lambda fut: self._served(conn, fut))

    def _serve(self, conn):
        result = self.handle(conn)
        if result is False and _fully_read(conn):
            try:
                conn.sock.close()  # a plain FIN: there is nothing unread for a reset to lose
            except OSError:
                pass
            return _CLOSED
        return result

    def _served(self, conn, fut) -> None:
        """Done callback (in the serving thread): gunicorn's finish_request on the main thread, except
        for a connection already closed, which is only counted."""
        if fut.cancelled() or fut.exception() is not None or fut.result() is not _CLOSED:
            self.method_queue.defer(self.finish_request, conn, fut)
            return
        with self._uec_closed_lock:
            self._uec_closed += 1
        if not self.alive:  # shutting down: wake the main thread, which waits for nr_conns to reach 0
            self.method_queue.defer(lambda: None)

    def wait_for_and_dispatch_events(self, timeout):
        super().wait_for_and_dispatch_events(timeout)
        if self._uec_closed:
            with self._uec_closed_lock:
                closed, self._uec_closed = self._uec_closed, 0
            self.nr_conns -= closed  # only the main thread writes nr_conns

    def handle(self, conn):
        queued = getattr(conn, "uec_queued_at", None)
        waited = 0.0 if queued is None else time.monotonic() - queued
        if waited > self.max_wait_s and not conn.initialized:
            return self._refuse(conn, waited)  # before parsing: a refusal costs almost nothing
        if not conn.initialized and not getattr(conn, "data_ready", True) and _has_data(conn.sock):
            conn.data_ready = True  # gunicorn would build, use and close an epoll set to learn this
        _waited.value = waited
        try:
            return super().handle(conn)
        finally:
            _waited.value = 0.0

    def _refuse(self, conn, waited: float) -> bool:
        """Answer 503 + Retry-After on a new connection that waited too long, without running the app."""
        self.shed += 1
        if self.shed == 1 or self.shed % 1000 == 0:
            self.log.warning("overloaded: shed %d connection(s) with 503 (waited %.0f ms for a thread)",
                             self.shed, waited * 1000)
        _send_refusal(conn.sock)
        return False  # gunicorn closes the connection


def queued_seconds() -> float:
    """How long the current request waited for a worker thread (0 outside ShedThreadWorker)."""
    return getattr(_waited, "value", 0.0)


class LoadShedding:
    """WSGI middleware: a request that waited more than `max_wait_ms` for a thread, or arrives while
    `max_in_flight` requests are already being served by this worker, is answered at once with 503
    and Retry-After, so overload shows as fast refusals that a client or HAProxy can retry elsewhere
    instead of a queue of seconds. Sheds are counted and logged (at most every 10 s)."""

    def __init__(self, app: Callable, *, max_wait_ms: float | None = None, max_in_flight: int | None = None,
                 retry_after_s: int = 1):
        self.app = app
        self.max_wait = (max_wait_ms if max_wait_ms is not None
                         else float(os.environ.get("UEC_MAX_QUEUE_MS", "250"))) / 1000.0
        self.max_in_flight = max_in_flight if max_in_flight is not None else int(os.environ.get("UEC_MAX_IN_FLIGHT", "64"))
        self.retry_after = str(retry_after_s)
        self.in_flight = 0
        self.shed = 0
        self._lock = threading.Lock()
        self._last_warn = 0.0
        self._body = json.dumps({"error": "overloaded", "message": "the service is at capacity; retry after "
                                 f"{retry_after_s} s (another node may answer sooner)"}).encode()

    def __call__(self, environ: dict[str, Any], start_response: Callable) -> Iterable[bytes]:
        with self._lock:
            busy = self.in_flight >= self.max_in_flight
            if not busy:
                self.in_flight += 1
        if busy or queued_seconds() > self.max_wait:
            if not busy:
                with self._lock:
                    self.in_flight -= 1
            return self._refuse(environ, start_response)
        try:
            return self.app(environ, start_response)
        finally:
            with self._lock:
                self.in_flight -= 1

    def _refuse(self, environ: dict[str, Any], start_response: Callable) -> Iterable[bytes]:
        self.shed += 1
        now = time.monotonic()
        if now - self._last_warn >= 10.0:
            self._last_warn = now
            log.warning("overloaded: shed %d request(s) so far with 503 (waited %.0f ms for a thread)",
                        self.shed, queued_seconds() * 1000)
        try:  # read the (small) body so closing the connection does not reset it before the answer
            length = int(environ.get("CONTENT_LENGTH") or 0)
            if 0 < length <= 65536:
                environ["wsgi.input"].read(length)
        except (ValueError, OSError):
            pass
        start_response("503 Service Unavailable", [("Content-Type", "application/json"),
                                                   ("Retry-After", self.retry_after),
                                                   ("Content-Length", str(len(self._body))),
                                                   ("Connection", "close")])
        return [self._body]
