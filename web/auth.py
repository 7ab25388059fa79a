"""Who may do what in the admin: sign-in sessions, API bearer tokens and every role check in one place."""
from __future__ import annotations

import re
import time
from dataclasses import dataclass
from functools import wraps
from typing import Any, Callable, Iterable, Mapping
from urllib.parse import urlparse

from flask import abort, current_app, g, jsonify, redirect, request, session, url_for

# the user type and the role checks are the application's (uec.permissions); the web layer re-exports them
from uec.permissions import (ROLE_LABELS, User, area_names_of, can_create_at, can_edit_service,  # noqa: F401,E402
                             can_import, can_manage_scenarios, can_manage_users, can_rank, can_set_capacity,
                             can_view, canonical_area, in_user_areas, is_known_area, rankable_areas)


# -- sessions -----------------------------------------------------------------------------
def _accounts():
    return current_app.extensions["uec"].accounts


def sign_in(username: str, password: str) -> User | None:
    """Check the password (lockout, back-off and auditing are the accounts' job) and start a session
    bound to the account's session generation, so signing out or a password change ends it everywhere."""
    result = _accounts().sign_in(username, password, address=request.remote_addr or "")
    row = result.user
    if row is None:
        return None
    session.clear()  # a fresh session (and CSRF token) on every sign-in: no fixation
    now = int(time.time())
    session.update(user=row["username"], gen=int(row.get("session_generation") or 0), iat=now, seen=now)
    session.permanent = True  # the cookie lasts the absolute lifetime at most (checked server-side too)
    _accounts().record(row["username"], "sign_in", new={"address": request.remote_addr or ""})
    return User.from_row(row)


def sign_out() -> None:
    """End this user's sessions server-side (any copy of the cookie stops working), then this one."""
    user = current_user()
    session.clear()
    if user:
        _accounts().end_sessions(user.username, action="sign_out")
    g.admin_user = None


def restart_session(username: str) -> None:
    """After a password change (which ended every session): a new session for the person who changed it."""
    row = _accounts().user(username)
    if row:
        csrf = session.get("_csrf")
        session.clear()
        now = int(time.time())
        session.update(user=username, gen=int(row.get("session_generation") or 0), iat=now, seen=now)
        if csrf:
            session["_csrf"] = csrf
        session.permanent = True
        g.pop("admin_user", None)


def _session_valid(row: Mapping[str, Any]) -> bool:
    """Same generation (not signed out since), within the absolute lifetime and the idle timeout."""
    settings = current_app.config["SETTINGS"]
    now = time.time()
    try:
        gen, iat, seen = int(session.get("gen", -1)), float(session.get("iat", 0)), float(session.get("seen", 0))
    except (TypeError, ValueError):
        return False
    return (row["active"] and gen == int(row.get("session_generation") or 0)
            and now - iat < settings.session_max_hours * 3600
            and now - seen < settings.session_idle_minutes * 60)


def current_user() -> User | None:
    """The signed-in user, re-read each request so a deactivated account or an ended session stops at once."""
    if "admin_user" in g:
        return g.admin_user
    user = None
    name = session.get("user")
    if name:
        row = _accounts().user(name)
        if row and _session_valid(row):
            user = User.from_row(row)
            if time.time() - float(session.get("seen", 0)) > 30:  # refresh the idle clock (not every request)
                session["seen"] = int(time.time())
        else:
            for key in ("user", "gen", "iat", "seen"):
                session.pop(key, None)
    g.admin_user = user
    return user


def safe_next(target: str | None) -> str:
    """Only same-site paths under /admin are followed (after sign-in, or back after a form);
    control characters (CR/LF would split the Location header) and backslashes are refused."""
    if target and len(target) <= 2000 and target.isprintable() and "\\" not in target:
        parts = urlparse(target)
        if not parts.scheme and not parts.netloc and target.startswith("/admin"):
            return target
    return url_for("admin.index")


def login_required(view: Callable) -> Callable:
    @wraps(view)
    def wrapped(*args, **kwargs):
        if current_user() is None:
            return redirect(url_for("admin.login", next=request.full_path.rstrip("?")))
        return view(*args, **kwargs)
    return wrapped


def require(allowed: bool, what: str = "do that") -> None:
    """Stop with 403 unless `allowed`, saying what the role does not permit."""
    if not allowed:
        user = current_user()
        role = user.role if user else "signed-out"
        abort(403, description=f"Your role ({role}) does not allow you to {what}.")


# -- API bearer tokens --------------------------------------------------------------------
def api_user() -> User | None:
    auth = request.headers.get("Authorization", "")
    if not auth.startswith("Bearer "):
        return None
    row = _accounts().user_for_token(auth[7:].strip())
    return User.from_row(row) if row else None


def token_required(view: Callable) -> Callable:
    """JSON endpoints that write: a valid bearer token, else 401 with how to get one."""
    @wraps(view)
    def wrapped(*args, **kwargs):
        user = api_user()
        if user is None:
            resp = jsonify({"error": "unauthorised",
                            "message": "send 'Authorization: Bearer <token>'; an administrator creates tokens "
                                       "with 'uec create-token USERNAME'"})
            resp.status_code = 401
            resp.headers["WWW-Authenticate"] = 'Bearer realm="uec"'
            return resp
        g.api_user = user
        return view(*args, **kwargs)
    return wrapped


def split_list(text: str | Iterable[str] | None, *, words: bool = False) -> list[str]:
    """'a, b' -> ['a', 'b'] for form fields that hold lists (commas, semicolons or new lines;
    also spaces when `words`, for codes and ids). Area names like 'South Cumbria' keep their spaces."""
    if text is None:
        return []
    if not isinstance(text, str):
        return [str(x).strip() for x in text if str(x).strip()]
    parts = re.split(r"[,;\n\s]+" if words else r"[,;\n]+", text)
    return [x.strip() for x in parts if x.strip()]
