"""Per-client rate limits (Flask-Limiter): generous for dispatch traffic, a 429 with Retry-After for abuse."""
from __future__ import annotations

import hashlib

from flask import Flask, jsonify, request
from flask_limiter import Limiter
from flask_limiter.errors import RateLimitExceeded

# Endpoints that cost much more than a route call, or that guess passwords, get their own tighter limit
# (on top of the default one every endpoint has).
TIGHTER = {
    "api.coverage": "coverage",      # up to 1.5 s of travel-time sums a call
    "admin.login": "sign_in",         # password guessing (lockout per account is in web.auth)
}


def client_key() -> str:
    """Who the limit counts against: a valid API token's user when one is sent (a made-up token counts
    against the address, so random tokens buy no fresh allowance), else the client address (the real
    one behind a trusted proxy: see UEC_PROXY_FIX)."""
    auth = request.headers.get("Authorization", "")
    if auth.startswith("Bearer ") and len(auth) < 600:
        from web.api import token_user  # cached: a known token is not looked up on the request path
        try:
            user = token_user(auth[7:].strip())
        except Exception:  # accounts unreadable: count by address
            user = None
        if user is not None:
            return "user:" + hashlib.sha256(str(user["username"]).encode()).hexdigest()[:32]
    return "addr:" + (request.remote_addr or "unknown")


def init_app(app: Flask, settings) -> Limiter:
    """Install the limiter; `settings.ratelimit_*` say the limits and where the counters live."""
    limiter = Limiter(
        client_key, app=app,
        default_limits=[settings.ratelimit_default],
        storage_uri=settings.ratelimit_storage,
        strategy="moving-window",
        headers_enabled=True,               # X-RateLimit-* on every answer, Retry-After on a 429
        swallow_errors=True,                # a storage outage must never stop routing...
        in_memory_fallback_enabled=True,    # ...the limits fall back to per-worker counters meanwhile
        enabled=settings.ratelimit_enabled,
        key_prefix="uec",
    )
    limits = {"coverage": settings.ratelimit_coverage, "sign_in": settings.ratelimit_sign_in}
    for endpoint, which in TIGHTER.items():
        view = app.view_functions.get(endpoint)
        if view is not None:
            # sign-in counts only the attempts (POST), not loading the page; the default limit applies too
            app.view_functions[endpoint] = limiter.limit(
                limits[which], methods=["POST"] if which == "sign_in" else None, override_defaults=False)(view)
    if "static" in app.view_functions:
        limiter.exempt(app.view_functions["static"])

    @app.errorhandler(RateLimitExceeded)
    def _too_many(exc: RateLimitExceeded):
        retry = _retry_after(limiter)
        message = (f"too many requests from this client ({exc.description}); wait {retry} s and try again. "
                   "Dispatch systems that need more: ask for an API token, counted on its own.")
        if request.path.startswith("/api/"):
            resp = jsonify({"error": "too many requests", "message": message, "errors": {"rate": message}})
        else:
            resp = app.response_class(f"429 Too many requests: {message}", mimetype="text/plain")
        resp.status_code = 429
        resp.headers["Retry-After"] = str(retry)
        return resp

    app.extensions["uec_limiter"] = limiter
    return limiter


def _retry_after(limiter: Limiter) -> int:
    """Seconds until the breached window lets this client in again (at least 1)."""
    import time
    try:
        limit = limiter.current_limit
        if limit is not None:
            return max(1, int(limit.reset_at - time.time()) + 1)
    except Exception:  # the storage is down: a short wait is a safe guess
        pass
    return 1
