"""The gap log: services that failed exactly one rule for a request, written in batches off the request path."""
from __future__ import annotations

import logging
import time
from datetime import datetime, timedelta, timezone
from typing import Sequence

from sqlalchemy import delete, insert
from sqlalchemy.engine import Engine

from directory import tables as t
from uec.background import BatchWriter

log = logging.getLogger("uec.gaplog")


class GapLog:
    """Records gaps for trusted callers, or for anyone asking about (about) now; prunes old rows.

    An anonymous request about a far date (a planning query, or abuse) writes nothing: otherwise
    anyone could fill the table or put future days on the commissioners' chart.
    """

    def __init__(self, engine: Engine, *, retention_days: float = 90.0, near_minutes: float = 30.0,
                 max_queue: int = 20_000, flush_ms: float = 1000.0, prune_every_s: float = 3600.0):
        self.engine = engine
        self.retention = timedelta(days=retention_days)
        self.near = timedelta(minutes=near_minutes)
        self.prune_every_s = prune_every_s
        self._pruned_at = 0.0
        self.skipped = 0
        # one queued item per request (its list of rows): one queue operation per request, not per row
        self.writer: BatchWriter[list[dict]] = BatchWriter(self._write, name="gap-log", max_queue=max_queue,
                                                           max_batch=200, flush_ms=flush_ms)

    def wanted(self, at: datetime, *, trusted: bool, now: datetime | None = None) -> bool:
        now = now or datetime.now(timezone.utc)
        return trusted or abs(at - now) <= self.near

    def record(self, gaps: Sequence[tuple[str, str, str]], *, disposition: str, at: datetime,
               trusted: bool = False) -> int:
        """Queue a row per gap, as one item (never blocks); returns how many rows were queued."""
        if not gaps:
            return 0
        if not self.wanted(at, trusted=trusted):
            self.skipped += 1
            return 0
        day = at.date().isoformat()
        rows = [{"at": at, "day": day, "service_id": s, "rule": r, "text": txt[:500], "disposition": disposition}
                for s, r, txt in gaps]
        return len(rows) if self.writer.submit(rows) else 0

    def prune(self, *, now: datetime | None = None) -> int:
        """Delete rows older than the retention period; returns how many went."""
        cutoff = (now or datetime.now(timezone.utc)) - self.retention
        with self.engine.begin() as conn:
            n = conn.execute(delete(t.gaps).where(t.gaps.c.day < cutoff.date().isoformat())).rowcount or 0
        self._pruned_at = time.monotonic()
        if n:
            log.info("gap log: pruned %d row(s) older than %s", n, cutoff.date())
        return n

    def _write(self, batches: list[list[dict]]) -> None:
        rows = [row for batch in batches for row in batch]
        with self.engine.begin() as conn:
            conn.execute(insert(t.gaps), rows)
        if time.monotonic() - self._pruned_at >= self.prune_every_s or not self._pruned_at:
            try:
                self.prune()
            except Exception:  # retention is housekeeping: retried at the next batch
                log.warning("gap log: pruning failed", exc_info=True)
                self._pruned_at = time.monotonic()

    def flush(self, timeout: float = 5.0) -> bool:
        return self.writer.flush(timeout)
