"""Cross-site request forgery protection: a per-session token checked on every form POST outside /api/."""
from __future__ import annotations

import hmac
import secrets

from flask import Flask, abort, request, session

SESSION_KEY = "_csrf"
FORM_FIELD = "csrf_token"
HEADER = "X-CSRF-Token"
UNSAFE = ("POST", "PUT", "PATCH", "DELETE")
MESSAGE = ("The form's security token is missing or out of date (this happens after signing in again "
           "or when a page was open for a long time). Go back, reload the page and submit it again.")


def csrf_token() -> str:
    """This session's token (created on first use); put it in every form as a hidden field."""
    token = session.get(SESSION_KEY)
    if not token:
        token = secrets.token_urlsafe(32)
        session[SESSION_KEY] = token
    return token


def check() -> None:
    """Refuse (400) an unsafe request to a non-API route whose token does not match the session's."""
    if request.method not in UNSAFE or request.path.startswith("/api/"):
        return  # the JSON API authenticates with bearer tokens, which a browser never sends by itself
    expected = session.get(SESSION_KEY)
    sent = request.form.get(FORM_FIELD) or request.headers.get(HEADER) or ""
    if not expected or not hmac.compare_digest(str(expected), str(sent)):
        abort(400, description=MESSAGE)


def init_app(app: Flask) -> None:
    """Install the check and the `csrf_token()` Jinja global once per app."""
    if app.extensions.get("csrf"):
        return
    app.extensions["csrf"] = True
    app.before_request(check)
    app.jinja_env.globals["csrf_token"] = csrf_token
