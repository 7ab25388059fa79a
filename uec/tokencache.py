"""Bearer-token look-ups for the read API, cached briefly and refreshed in the background."""
from __future__ import annotations

import hashlib
import logging
import threading
import time
from typing import Any, Callable

log = logging.getLogger("uec.tokencache")
_MISSING = object()


class TokenCache:
    """Maps a bearer token to its user (or None) without touching the database on the request path
    once the token has been seen: an entry older than `ttl_s` is still answered, and re-read by a
    background thread, so a revocation takes effect within about `ttl_s` plus one look-up, and a
    slow or frozen database does not hold requests from callers already known. Only a token never
    seen before is looked up synchronously. Keys are SHA-256 digests, never the tokens."""

    def __init__(self, lookup: Callable[[str], dict[str, Any] | None], *, ttl_s: float = 10.0,
                 max_entries: int = 10_000):
        self._lookup = lookup
        self.ttl_s = ttl_s
        self.max_entries = max_entries
        self._entries: dict[str, tuple[float, dict[str, Any] | None]] = {}
        self._refreshing: set[str] = set()
        self._lock = threading.Lock()

    def user(self, token: str) -> dict[str, Any] | None:
        key = hashlib.sha256(token.encode()).hexdigest()
        hit = self._entries.get(key, _MISSING)
        if hit is _MISSING:
            user = self._lookup(token)
            self._store(key, user)
            return user
        at, user = hit
        if time.monotonic() - at >= self.ttl_s:
            self._refresh(key, token)
        return user

    def _store(self, key: str, user: dict[str, Any] | None) -> None:
        if len(self._entries) >= self.max_entries:
            self._entries.clear()  # bounded: rare, and only costs fresh look-ups
        self._entries[key] = (time.monotonic(), user)

    def _refresh(self, key: str, token: str) -> None:
        with self._lock:
            if key in self._refreshing:
                return
            self._refreshing.add(key)

        def run() -> None:
            try:
                self._store(key, self._lookup(token))
            except Exception as exc:  # database unreachable: keep the last answer, try again later
                log.warning("token look-up failed (%s); using the cached answer", exc.__class__.__name__)
            finally:
                with self._lock:
                    self._refreshing.discard(key)

        threading.Thread(target=run, name="token-refresh", daemon=True).start()
