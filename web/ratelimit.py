"""Per-client rate limits (the `limits` library's sliding-window counters): generous for dispatch traffic, a 429 with Retry-After for abuse."""
from __future__ import annotations

import hashlib
import logging
import threading
import time
from dataclasses import dataclass

from flask import Flask, jsonify, request
from limits import RateLimitItem, parse
from limits.storage import MemoryStorage, Storage, storage_from_string
from limits.strategies import SlidingWindowCounterRateLimiter

log = logging.getLogger("uec.ratelimit")

# Endpoints that cost much more than a route call, or that guess passwords, get their own tighter limit
# (on top of the default one every endpoint has), for the methods given (None: every method).
TIGHTER = {
    "api.coverage": ("coverage", None),          # up to 1.5 s of travel-time sums a call
    "admin.login": ("sign_in", frozenset({"POST"})),  # password guessing (lockout per account is in web.auth)
}
COUNTED = "uec.rate_limit"  # WSGI environ key: this request was counted already; its Breach or None
STORAGE_RETRY_S = 10.0  # after a storage error, count per worker this long before trying the storage again


class LeanMemoryStorage(MemoryStorage):
    """limits' per-worker counters, with expired keys swept on the request thread at most once a second.

    limits' MemoryStorage starts a fresh 10 ms timer thread whenever the last one has finished, which
    under steady traffic is nearly once per request (a thread start per call, seen under py-spy), to free
    memory only: counters are already expired lazily when read. `memory://` in UEC_RATELIMIT_STORAGE means
    this storage."""

    STORAGE_SCHEME = ["uec-memory"]
    SWEEP_EVERY_S = 1.0

    def __init__(self, uri: str | None = None, wrap_exceptions: bool = False, **options):
        super().__init__(uri, wrap_exceptions=wrap_exceptions, **options)
        self.timer.cancel()  # the one timer limits starts in its constructor
        self._swept = time.monotonic()
        self._sweeping = threading.Lock()

    def _MemoryStorage__schedule_expiry(self) -> None:  # replaces limits' private per-hit timer start
        now = time.monotonic()
        if now - self._swept >= self.SWEEP_EVERY_S and self._sweeping.acquire(blocking=False):
            try:
                self._swept = now
                self._MemoryStorage__expire_events()
            finally:
                self._sweeping.release()


def storage_uri(configured: str) -> str:
    """The limits storage URI for UEC_RATELIMIT_STORAGE: `memory://` is the lean per-worker storage."""
    return "uec-memory://" if configured.startswith("memory://") else configured


def client_key(authorization: str | None = None, remote_addr: str | None = None, *, app: Flask | None = None) -> str:
    """Who the limit counts against: a valid API token's user when one is sent (a made-up token counts
    against the address, so random tokens buy no fresh allowance), else the client address (the real
    one behind a trusted proxy: see UEC_PROXY_FIX). Without arguments, those of the current request."""
    if authorization is None:
        authorization, remote_addr = request.headers.get("Authorization", ""), request.remote_addr
    if authorization.startswith("Bearer ") and len(authorization) < 600:
        from web.api import token_user  # cached: a known token is not looked up on the request path
        try:
            user = token_user(authorization[7:].strip(), app)
        except Exception:  # accounts unreadable: count by address
            user = None
        if user is not None:
            return "user:" + hashlib.sha256(str(user["username"]).encode()).hexdigest()[:32]
    return "addr:" + (remote_addr or "unknown")


@dataclass(frozen=True)
class Breach:
    limit: RateLimitItem
    retry_after_s: int


class RateLimits:
    """Sliding-window counters per client and endpoint: O(1) work and memory per hit (two counters per
    client and window), within a few per cent of an exact moving window.

    Counted before the view runs, so a refused or failing call still counts. With Redis configured, a
    storage error never stops a request: the counts fall back to this worker's memory for
    STORAGE_RETRY_S, then Redis is tried again. (Flask-Limiter did this job before; its per-request
    resolution of decorators, exemptions and header injection cost more than the route search's own
    opening-hours checks, so the app now drives the `limits` library Flask-Limiter is built on.)"""

    def __init__(self, *, default: str, tighter: dict[str, tuple[str, frozenset[str] | None]],
                 storage: str, enabled: bool = True):
        self.enabled = enabled
        self.default = parse(default)
        self.tighter = {endpoint: (parse(limit), methods) for endpoint, (limit, methods) in tighter.items()}
        uri = storage_uri(storage)
        self.primary = SlidingWindowCounterRateLimiter(storage_from_string(uri))
        self.local = (self.primary if uri.startswith("uec-memory://")
                      else SlidingWindowCounterRateLimiter(LeanMemoryStorage()))
        self._down_until = 0.0
        self._failures = 0

    def _strategy(self) -> SlidingWindowCounterRateLimiter:
        if self.primary is self.local or time.monotonic() >= self._down_until:
            return self.primary
        return self.local

    def _hit(self, limit: RateLimitItem, scope: str, key: str) -> bool:
        strategy = self._strategy()
        try:
            return strategy.hit(limit, "uec", scope, key)
        except Exception:  # the shared storage is down: count per worker meanwhile, never refuse for it
            if strategy is self.local:
                return True
            self._failures += 1
            self._down_until = time.monotonic() + STORAGE_RETRY_S
            log.warning("rate limits: the counter storage failed (%d time(s)); counting per worker for %.0f s",
                        self._failures, STORAGE_RETRY_S, exc_info=self._failures == 1)
            return self.local.hit(limit, "uec", scope, key)

    def _retry_after(self, limit: RateLimitItem, scope: str, key: str) -> int:
        try:
            reset_at = self._strategy().get_window_stats(limit, "uec", scope, key).reset_time
            return max(1, int(reset_at - time.time()) + 1)
        except Exception:  # the storage is down: a short wait is a safe guess
            return 1

    def check(self, endpoint: str | None, method: str, *, key: str | None = None) -> Breach | None:
        """Count this request against its client's limits (`key`: client_key() of the current request
        unless given); the breached limit, if any."""
        if not self.enabled or endpoint == "static":
            return None
        scope = endpoint or "unrouted"
        key = key or client_key()
        checks = [self.default]
        extra = self.tighter.get(scope)
        if extra is not None and (extra[1] is None or method in extra[1]):
            checks.append(extra[0])
        for limit in checks:
            if not self._hit(limit, scope, key):
                return Breach(limit, self._retry_after(limit, scope, key))
        return None


def init_app(app: Flask, settings) -> RateLimits:
    """Install the limits; `settings.ratelimit_*` say the limits and where the counters live."""
    names = {"coverage": settings.ratelimit_coverage, "sign_in": settings.ratelimit_sign_in}
    limits = RateLimits(default=settings.ratelimit_default, storage=settings.ratelimit_storage,
                        tighter={endpoint: (names[which], methods) for endpoint, (which, methods) in TIGHTER.items()},
                        enabled=settings.ratelimit_enabled)

    @app.before_request
    def _rate_limit():
        if COUNTED in request.environ:  # web.fastpath counted it already and passed it on
            breach = request.environ[COUNTED]
        else:
            breach = limits.check(request.endpoint, request.method)
        if breach is None:
            return None
        message = (f"too many requests from this client ({breach.limit}); wait {breach.retry_after_s} s and "
                   "try again. Dispatch systems that need more: ask for an API token, counted on its own.")
        if request.path.startswith("/api/"):
            resp = jsonify({"error": "too many requests", "message": message, "errors": {"rate": message}})
        else:
            resp = app.response_class(f"429 Too many requests: {message}", mimetype="text/plain")
        resp.status_code = 429
        resp.headers["Retry-After"] = str(breach.retry_after_s)
        return resp

    app.extensions["uec_limiter"] = limits
    return limits
