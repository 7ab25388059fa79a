"""Keeps a process's routing snapshot current from a daemon thread; requests only read the current one."""
from __future__ import annotations

import atexit
import logging
import os
import threading
import time
from typing import Callable, Generic, Protocol, TypeVar

log = logging.getLogger("uec.refresh")
_exiting = False


@atexit.register
def _quiet_at_exit() -> None:  # pollers of databases already gone must not write after the process's last words
    global _exiting
    _exiting = True


class Versioned(Protocol):
    version: int


S = TypeVar("S", bound=Versioned)
Source = TypeVar("Source")


class Refresher(Generic[S]):
    """Polls `latest()` every `interval_s` seconds off the request path and swaps in a rebuilt snapshot.

    `latest()` returns (version, source, authoritative): `authoritative` is False for a read replica,
    whose version may be behind one already built from the primary; such an older version is ignored.
    While the database is unreachable or slow the old snapshot keeps answering; the failure is logged
    (once per `warn_every_s`) and shown by `status()`.
    """

    def __init__(self, *, latest: Callable[[], tuple[int, object, bool]], build: Callable[[int, object], S],
                 interval_s: float, name: str = "snapshot", warn_every_s: float = 30.0):
        self._latest = latest
        self._build = build
        self.interval_s = max(interval_s, 0.05)
        self.name = name
        self.warn_every_s = warn_every_s
        self.current: S | None = None
        self.checked_at = 0.0      # time.time() of the last successful version check
        self.builds = 0
        self.failures = 0
        self.last_error: str | None = None
        self._last_warn = 0.0
        self._lock = threading.Lock()
        self._start_lock = threading.Lock()
        self._wake = threading.Event()
        self._pid = 0
        self._stopped = False
        self._thread: threading.Thread | None = None

    def get(self) -> S:
        """The current snapshot; only the very first call in a process builds synchronously."""
        snap = self.current
        if snap is None:
            with self._lock:
                if self.current is None:
                    version, source, _ = self._latest()
                    self.checked_at = time.time()
                    self.current = self._build(version, source)
                    self.builds += 1
                snap = self.current
        if self._pid != os.getpid() or self._thread is None:
            self._start()
        return snap

    def refresh_now(self) -> S:
        """Check and rebuild synchronously (CLI, tests); raises if the database cannot be read."""
        with self._lock:
            self._step(raise_errors=True)
        return self.get()

    def kick(self) -> None:
        """Check soon instead of at the next interval (e.g. after this process wrote a change)."""
        self._wake.set()

    def status(self) -> dict[str, object]:
        return {"last_check_age_s": round(time.time() - self.checked_at, 1) if self.checked_at else None,
                "builds": self.builds, "failures": self.failures, "last_error": self.last_error}

    def _start(self) -> None:
        if self._pid != os.getpid():  # forked: the parent's thread is gone and its locks may be held
            self._lock, self._start_lock = threading.Lock(), threading.Lock()
        with self._start_lock:
            if self._pid == os.getpid() and self._thread is not None and self._thread.is_alive():
                return
            self._pid = os.getpid()
            self._thread = threading.Thread(target=self._run, name=f"refresh-{self.name}", daemon=True)
            self._thread.start()

    def _step(self, *, raise_errors: bool = False) -> None:
        try:
            version, source, authoritative = self._latest()
            self.checked_at = time.time()
            cur = self.current
            if cur is None or version > cur.version or (authoritative and version != cur.version):
                snap = self._build(version, source)
                self.current = snap      # one reference swap: a request sees the old or the new, whole
                self.builds += 1
            self.last_error = None
        except Exception as exc:
            self.failures += 1
            self.last_error = f"{exc.__class__.__name__}: {str(exc)[:200]}"
            if raise_errors:
                raise
            now = time.monotonic()
            if now - self._last_warn >= self.warn_every_s and not _exiting:
                self._last_warn = now
                log.warning("%s refresh failed (%s); still answering from directory version %s",
                            self.name, self.last_error, getattr(self.current, "version", None))

    def stop(self, timeout: float = 5.0) -> None:
        """Stop polling (tests, shutdown); the current snapshot keeps answering."""
        self._stopped = True
        self._wake.set()
        if self._thread is not None and self._pid == os.getpid():
            self._thread.join(timeout)

    def _run(self) -> None:
        while not self._stopped:
            self._wake.wait(self.interval_s)
            if self._stopped:
                return
            self._wake.clear()
            with self._lock:
                self._step()
