"""The one place the outcome log picks its background writer (uec.background.BatchWriter when present)."""
from __future__ import annotations

import logging
from typing import Callable, Protocol, TypeVar

log = logging.getLogger("uec.intelligence")
T = TypeVar("T")


class Writer(Protocol):
    def submit(self, item) -> bool: ...
    def flush(self, timeout: float = 5.0) -> bool: ...
    def stats(self) -> dict[str, int]: ...


class _Inline:
    """Fallback used only when no background writer exists: writes at once, never raises."""

    def __init__(self, write: Callable[[list], None]):
        self._write, self.written, self.failures = write, 0, 0

    def submit(self, item) -> bool:
        try:
            self._write([item])
            self.written += 1
            return True
        except Exception:
            self.failures += 1
            log.warning("outcome log: a write failed", exc_info=self.failures == 1)
            return False

    def flush(self, timeout: float = 5.0) -> bool:
        return True

    def stats(self) -> dict[str, int]:
        return {"written": self.written, "failures": self.failures, "dropped": 0, "waiting": 0}


def batch_writer(write: Callable[[list], None], *, name: str, max_queue: int = 20_000,
                 flush_ms: float = 1000.0) -> Writer:
    """A bounded queue + thread that hands `write` batches off the request path."""
    try:
        from uec.background import BatchWriter
    except ImportError:  # pragma: no cover - before the background writer existed
        return _Inline(write)
    return BatchWriter(write, name=name, max_queue=max_queue, max_batch=1000, flush_ms=flush_ms)
