"""The Flask app: call-handler pages, the JSON routing API and the commissioners' admin."""
from __future__ import annotations

import os
import secrets
from pathlib import Path

from flask import Flask, jsonify, request
from flask.sessions import SecureCookieSessionInterface
from werkzeug.exceptions import HTTPException

from uec.config import Settings
from uec.core import UrgentCare
from uec.inputs import InputError
from web.error_pages import error_page


def create_app(settings: Settings | None = None, *, care: UrgentCare | None = None) -> Flask:
    """Build the app; on first start the database is created and loaded with the bundled LSC data."""
    settings = settings or Settings.from_env()
    app = Flask(__name__)
    app.config["SETTINGS"] = settings
    app.secret_key = settings.secret_key or _secret_from_file(settings.var_dir)
    from datetime import timedelta
    app.config.update(SESSION_COOKIE_HTTPONLY=True, SESSION_COOKIE_SAMESITE="Lax",
                      SESSION_COOKIE_SECURE=settings.secure_cookies,
                      PERMANENT_SESSION_LIFETIME=timedelta(hours=settings.session_max_hours))
    # Every template is HTML: escape everywhere, including inside the NHS.UK component macros
    # (`.jinja` files, which Flask would otherwise render unescaped: reflected XSS).
    app.jinja_options = {**app.jinja_options, "autoescape": True}
    app.session_interface = _CookieSessions()
    care = care or UrgentCare(settings)
    care.initialise()
    app.extensions["uec"] = care

    from web import admin, admin_api, api, compression, csrf, handler, intelligence, limits
    limits.init_app(app, max_body=settings.max_body_bytes, max_upload=settings.max_upload_bytes)
    csrf.init_app(app)  # a CSRF token on every form POST in the app; the bearer-token JSON API is exempt
    compression.init_app(app)  # brotli/gzip responses (web/compression.py says why)
    app.register_blueprint(api.bp)
    app.register_blueprint(handler.bp)
    app.register_blueprint(admin.bp)
    app.register_blueprint(admin_api.bp)
    app.register_blueprint(intelligence.bp)
    from web import account
    app.register_blueprint(account.bp)

    @app.errorhandler(InputError)
    def _input_error(exc: InputError):
        return jsonify({"error": "invalid input", "errors": exc.errors, **exc.extra}), 400

    from uec.disclosure import RoleError

    @app.errorhandler(RoleError)
    def _role_error(exc: RoleError):
        return jsonify({"error": "forbidden", "errors": exc.errors}), 403

    @app.errorhandler(HTTPException)
    def _http_error(exc: HTTPException):
        if request.path.startswith("/api/"):
            return jsonify({"error": exc.name, "message": exc.description}), exc.code
        if exc.code is None or exc.code < 400:
            return exc
        resp = exc.get_response()  # keep the exception's headers (Allow, Retry-After)
        body, code = error_page(exc.code, exc.description)
        resp.set_data(body)
        resp.status_code = code
        resp.mimetype = "text/html"
        return resp

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception):  # never a bare 500 page; logged for the operators
        app.logger.exception("unexpected error")
        if request.path.startswith("/api/"):
            return jsonify({"error": "internal error", "message": "the request could not be completed; "
                                     "it has been logged"}), 500
        return error_page(500)

    from web import fastpath, headers
    fastpath.init_app(app, max_body=settings.max_body_bytes, enabled=settings.api_fast_path)
    headers.init_app(app, proxy_hops=settings.proxy_hops, hsts_seconds=settings.hsts_seconds)  # around it

    from web import ratelimit
    ratelimit.init_app(app, settings)  # last: it limits every endpoint registered above
    return app


class _CookieSessions(SecureCookieSessionInterface):
    """Flask's signed-cookie sessions, but a request without the cookie (every dispatch API call) gets
    its empty session without first building the cookie signer, which Flask does on every request."""

    def open_session(self, app, request):
        if self.get_cookie_name(app) not in request.cookies and app.secret_key:
            return self.session_class()
        return super().open_session(app, request)


def _secret_from_file(var_dir: Path) -> str:
    """A per-installation secret kept beside the database, shared by every worker."""
    var_dir.mkdir(parents=True, exist_ok=True)
    path = var_dir / "secret_key"
    if not path.exists():
        tmp = path.with_suffix(f".{os.getpid()}")
        tmp.write_text(secrets.token_hex(32))
        try:
            os.link(tmp, path)  # atomic: the first worker wins
        except FileExistsError:
            pass
        tmp.unlink()
    return path.read_text().strip()


def care_of(app: Flask) -> UrgentCare:
    return app.extensions["uec"]
