"""Security headers on every answer, and the client's real scheme and address behind a TLS proxy."""
from __future__ import annotations

from flask import Flask, request
from werkzeug.middleware.proxy_fix import ProxyFix

# No inline script anywhere (the NHS.UK page template's one line is a file: web/static/uec/js-enabled.js).
# Inline style attributes stay allowed: the NHS.UK components, the map library and matplotlib's SVG use them,
# and they cannot run code.
CSP = ("default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
       "font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'self'; form-action 'self'; "
       "frame-ancestors 'none'")
PERMISSIONS = "camera=(), microphone=(), geolocation=(), payment=(), usb=(), interest-cohort=()"
ALWAYS = (("Content-Security-Policy", CSP), ("X-Content-Type-Options", "nosniff"), ("X-Frame-Options", "DENY"),
          ("Referrer-Policy", "same-origin"), ("Permissions-Policy", PERMISSIONS),
          ("Cross-Origin-Opener-Policy", "same-origin"))  # unless the view set its own
_ALWAYS_LOWER = tuple((name, value, name.lower()) for name, value in ALWAYS)
NO_STORE_PREFIXES = ("/admin", "/api/")  # the admin, and API answers about patients
# The call-handler pages under "/" carry a patient's details once posted: never stored either.


def init_app(app: Flask, *, proxy_hops: int, hsts_seconds: int) -> None:
    """`proxy_hops`: how many reverse proxies in front set X-Forwarded-For/-Proto/-Host (0: trust none)."""
    if proxy_hops > 0:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=proxy_hops, x_proto=proxy_hops, x_host=proxy_hops,
                                x_port=proxy_hops, x_prefix=proxy_hops)

    @app.after_request
    def _security_headers(resp):
        h = resp.headers
        present = {k.lower() for k in h.keys()}  # one pass, not a scan per header (every answer pays this)
        for name, value, low in _ALWAYS_LOWER:
            if low not in present:
                h.add(name, value)
        if not request.path.startswith("/static/"):
            if request.method != "GET" or request.path.startswith(NO_STORE_PREFIXES) or request.path == "/":
                h["Cache-Control"] = "no-store"
                h.setdefault("Pragma", "no-cache")
        if hsts_seconds and request.is_secure:  # only over TLS (directly, or as the trusted proxy says)
            h.setdefault("Strict-Transport-Security", f"max-age={hsts_seconds}; includeSubDomains")
        return resp
