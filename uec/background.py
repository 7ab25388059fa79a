"""Bounded background batch writer and timeout-guarded database engines, so requests never wait on a database."""
from __future__ import annotations

import atexit
import logging
import os
import queue
import threading
import time
import weakref
from typing import Any, Callable, Generic, Iterable, TypeVar

from sqlalchemy import create_engine, event
from sqlalchemy.engine import Engine

__all__ = ["BatchWriter", "make_engine"]

log = logging.getLogger("uec.background")
T = TypeVar("T")


def make_engine(url: str, *, connect_timeout_s: float = 3.0, statement_timeout_ms: int = 5000,
                pool_size: int = 2) -> Engine:
    """An engine for background work that gives up instead of hanging: connect and statement timeouts.

    PostgreSQL: libpq `connect_timeout` and a per-session `statement_timeout`; SQLite: the busy
    timeout. A stopped (SIGSTOPped) server still blocks a query already sent, which is why only
    background threads use the database: the request path reads in-memory snapshots.
    """
    kwargs: dict[str, Any] = {"future": True, "pool_pre_ping": True}
    if url.startswith("sqlite"):
        kwargs["connect_args"] = {"timeout": max(statement_timeout_ms / 1000.0, 0.1), "check_same_thread": False}
    else:
        kwargs.update(pool_size=pool_size, max_overflow=0, pool_timeout=connect_timeout_s,
                      connect_args={"connect_timeout": max(1, int(round(connect_timeout_s)))})
    engine = create_engine(url, **kwargs)
    if url.startswith("postgresql"):
        @event.listens_for(engine, "connect")
        def _timeouts(dbapi_conn, _):  # pragma: no cover - exercised against PostgreSQL
            autocommit = dbapi_conn.autocommit
            dbapi_conn.autocommit = True
            cur = dbapi_conn.cursor()
            cur.execute(f"SET statement_timeout = {int(statement_timeout_ms)}")
            cur.execute(f"SET lock_timeout = {int(statement_timeout_ms)}")
            cur.close()
            dbapi_conn.autocommit = autocommit
    else:
        @event.listens_for(engine, "connect")
        def _wal(dbapi_conn, _):  # pragma: no cover - trivial
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.close()
    return engine


_live: "weakref.WeakSet[BatchWriter]" = weakref.WeakSet()


@atexit.register
def _flush_all_at_exit() -> None:  # a gunicorn worker exiting normally flushes what it queued
    for writer in list(_live):
        if writer.stats()["waiting"]:
            writer.close(timeout=3.0)


class BatchWriter(Generic[T]):
    """Queue items from request threads; a daemon thread hands them to `write` in batches.

    `submit` never blocks: when the queue is full the item is dropped, counted in `dropped`, and a
    warning is logged (at most once per `warn_every_s`, with the running count). A batch whose write
    fails is retried with back-off (it is kept, not lost); meanwhile new items queue up to the bound.
    Batches go out every `flush_ms` milliseconds or as soon as `max_batch` items are waiting.
    """

    def __init__(self, write: Callable[[list[T]], None], *, name: str, max_queue: int = 10_000,
                 max_batch: int = 500, flush_ms: float = 200.0, retry_max_s: float = 30.0,
                 warn_every_s: float = 10.0):
        if max_queue < 1 or max_batch < 1 or flush_ms <= 0:
            raise ValueError("max_queue and max_batch must be >= 1 and flush_ms > 0")
        self.name = name
        self._write = write
        self._queue: queue.Queue[T] = queue.Queue(maxsize=max_queue)
        self.max_batch = max_batch
        self.flush_s = flush_ms / 1000.0
        self.retry_max_s = retry_max_s
        self.warn_every_s = warn_every_s
        self.submitted = self.written = self.dropped = self.failures = 0
        self._last_warn = 0.0
        self._pending: list[T] = []      # a batch taken off the queue and not yet written
        self._stop = threading.Event()
        self._wake = threading.Event()   # a full batch is waiting, or flush()/close() is waiting
        self._idle = threading.Condition()
        self._pid = os.getpid()
        self._thread: threading.Thread | None = None
        self._start_lock = threading.Lock()
        _live.add(self)

    # -- request side ---------------------------------------------------------------------
    def submit(self, item: T) -> bool:
        """Queue one item without blocking; False (counted and logged) if the queue is full."""
        self._ensure_thread()
        try:
            self._queue.put_nowait(item)
            if self._queue.qsize() >= self.max_batch:
                self._wake.set()
        except queue.Full:
            self.dropped += 1
            now = time.monotonic()
            if now - self._last_warn >= self.warn_every_s:
                self._last_warn = now
                log.warning("%s: queue full (%d waiting), dropped %d item(s) so far; the database is slow "
                            "or unreachable", self.name, self._queue.qsize(), self.dropped)
            return False
        self.submitted += 1
        return True

    def submit_many(self, items: Iterable[T]) -> int:
        """Queue several items; returns how many were accepted."""
        return sum(self.submit(i) for i in items)

    def stats(self) -> dict[str, int]:
        return {"submitted": self.submitted, "written": self.written, "dropped": self.dropped,
                "failures": self.failures, "waiting": self._queue.qsize() + len(self._pending)}

    # -- lifecycle ------------------------------------------------------------------------
    def _ensure_thread(self) -> None:
        if self._thread is not None and self._pid == os.getpid() and self._thread.is_alive():
            return
        with self._start_lock:
            if self._pid != os.getpid():  # forked: the parent's thread does not exist here
                self._pid, self._pending = os.getpid(), []
                self._queue = queue.Queue(maxsize=self._queue.maxsize)
                self._wake = threading.Event()
                self._thread = None
            if self._thread is None or not self._thread.is_alive():
                self._stop.clear()
                self._thread = threading.Thread(target=self._run, name=f"batch-writer-{self.name}", daemon=True)
                self._thread.start()

    def flush(self, timeout: float = 5.0) -> bool:
        """Wait until everything submitted so far is written (or dropped); False on timeout."""
        deadline = time.monotonic() + timeout
        self._wake.set()
        with self._idle:
            while self._queue.qsize() or self._pending:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._wake.set()
                self._idle.wait(min(left, 0.05))
        return True

    def close(self, timeout: float = 5.0) -> None:
        """Stop the thread after writing what is queued (bounded by `timeout`)."""
        if self._thread is None or self._pid != os.getpid():
            return
        self._stop.set()
        self._wake.set()
        self._thread.join(timeout)
        if self._thread.is_alive():
            left = self._queue.qsize() + len(self._pending)
            if left:
                log.warning("%s: %d item(s) not written at shutdown (database unreachable)", self.name, left)

    # -- writer thread --------------------------------------------------------------------
    def _take(self) -> None:
        """Sleep one flush period (woken early by a full batch, flush() or close()), then fill `_pending`
        up to max_batch from what is queued: one wake of this thread per period, not one per item (a
        route request queues about ten gap rows; waking per row cost the workers measurable CPU)."""
        if self._queue.qsize() < self.max_batch and not self._stop.is_set():
            self._wake.wait(self.flush_s)
        self._wake.clear()
        while len(self._pending) < self.max_batch:
            try:
                self._pending.append(self._queue.get_nowait())
            except queue.Empty:
                return

    def _run(self) -> None:
        backoff = 0.0
        while True:
            stopping = self._stop.is_set()
            if not self._pending:
                self._take()
            if self._pending:
                try:
                    self._write(list(self._pending))
                except Exception:  # kept and retried: never lost silently
                    self.failures += 1
                    if stopping:
                        log.warning("%s: %d item(s) not written at shutdown (the write failed)", self.name,
                                    len(self._pending), exc_info=self.failures == 1)
                        return
                    backoff = min(max(backoff * 2, 0.5), self.retry_max_s)
                    log.warning("%s: writing a batch of %d failed (retrying in %.1fs)", self.name,
                                len(self._pending), backoff, exc_info=self.failures == 1)
                    self._stop.wait(backoff)
                    continue
                backoff = 0.0
                self.written += len(self._pending)
                self._pending = []
            with self._idle:
                self._idle.notify_all()
            if stopping and self._queue.empty():
                return
