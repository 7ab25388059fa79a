"""Security headers on every answer, and the client's real scheme and address behind a TLS proxy."""
from __future__ import annotations

from typing import Any, Callable, Iterable

from flask import Flask
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
    app.wsgi_app = SecurityHeaders(app.wsgi_app, hsts_seconds=hsts_seconds)
    if proxy_hops > 0:  # outermost, so the headers below see the client's real scheme
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=proxy_hops, x_proto=proxy_hops, x_host=proxy_hops,
                                x_port=proxy_hops, x_prefix=proxy_hops)


class SecurityHeaders:
    """WSGI middleware that adds the security headers to every answer the app gives, error pages
    included: the fixed set unless the view set its own, no-store on answers about patients and on
    the admin, and HSTS over TLS. At the WSGI layer the headers are plain tuples appended once, not
    validated one by one through a Flask response's header object (every API answer pays this)."""

    def __init__(self, app: Callable, *, hsts_seconds: int):
        self.app = app
        self.hsts = (f"max-age={hsts_seconds}; includeSubDomains",) if hsts_seconds else ()

    def __call__(self, environ: dict[str, Any], start_response: Callable) -> Iterable[bytes]:
        path = environ.get("PATH_INFO") or "/"
        no_store = not path.startswith("/static/") and (
            environ.get("REQUEST_METHOD") != "GET" or path.startswith(NO_STORE_PREFIXES) or path == "/")
        hsts = self.hsts if environ.get("wsgi.url_scheme") in ("https", "wss") else ()

        def with_headers(status: str, headers: list[tuple[str, str]], exc_info: Any = None):
            present = {name.lower() for name, _ in headers}
            if no_store and "cache-control" in present:
                headers = [(k, v) for k, v in headers if k.lower() != "cache-control"]
            out = list(headers)
            out.extend((name, value) for name, value, low in _ALWAYS_LOWER if low not in present)
            if no_store:
                out.append(("Cache-Control", "no-store"))
                if "pragma" not in present:
                    out.append(("Pragma", "no-cache"))
            if hsts and "strict-transport-security" not in present:
                out.append(("Strict-Transport-Security", hsts[0]))
            return start_response(status, out, exc_info) if exc_info is not None else start_response(status, out)

        return self.app(environ, with_headers)
