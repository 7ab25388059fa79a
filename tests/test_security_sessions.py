"""Sign-in and sessions: lockout with back-off, constant time for unknown users, failed sign-ins
audited, logout ends the session server-side, idle and absolute lifetimes, password change, and API
token expiry and revocation (admin page and CLI)."""
from __future__ import annotations

import re
import time
from datetime import timedelta

import pytest

from accounts import store as account_store
from tests.admin_fixtures import PASSWORD, accounts, app, store  # noqa: F401  (fixtures)


def _token(html: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


def _login(client, username, password=PASSWORD):
    html = client.get("/admin/login").get_data(as_text=True)
    return client.post("/admin/login", data={"username": username, "password": password, "csrf_token": _token(html)})


def _audit(app, action):
    from sqlalchemy import select

    from directory.tables import audit
    with app.extensions["uec"].accounts.engine.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(select(audit).where(audit.c.action == action))]


def test_lockout_after_repeated_failures_with_back_off(app):
    accounts = app.extensions["uec"].accounts
    results = [accounts.sign_in("viewer", "wrong password") for _ in range(account_store.LOCK_AFTER + 1)]
    assert [r.locked_for_s for r in results[:account_store.LOCK_AFTER - 1]] == [0] * (account_store.LOCK_AFTER - 1)
    assert results[account_store.LOCK_AFTER - 1].locked_for_s == account_store.LOCK_BASE_S
    assert results[-1].reason == "locked"
    # even the right password is refused while locked
    assert accounts.sign_in("viewer", PASSWORD).reason == "locked"
    # back-off: the next failure after the lock doubles it
    from sqlalchemy import update

    from accounts.tables import accounts as table
    with accounts.engine.begin() as conn:
        conn.execute(update(table).where(table.c.username == "viewer").values(locked_until=None))
    assert accounts.sign_in("viewer", "wrong again").locked_for_s == 2 * account_store.LOCK_BASE_S
    with accounts.engine.begin() as conn:
        conn.execute(update(table).where(table.c.username == "viewer").values(locked_until=None))
    assert accounts.sign_in("viewer", PASSWORD).reason == "ok"  # a success resets the count
    assert accounts.user("viewer")["failed_sign_ins"] == 0


def test_the_page_says_the_same_for_every_failure(app):
    client = app.test_client()
    bad_user = _login(client, "nobody-at-all", "whatever password")
    bad_pass = _login(client, "viewer", "wrong password")
    assert bad_user.status_code == bad_pass.status_code == 401
    text = lambda r: re.sub(r'value="[^"]*"', "", r.get_data(as_text=True))  # noqa: E731
    assert text(bad_user) == text(bad_pass)


def test_failed_sign_ins_are_audited_with_the_reason(app):
    client = app.test_client()
    _login(client, "viewer", "wrong password")
    _login(client, "ghost", "wrong password")
    rows = _audit(app, "sign_in_failed")
    reasons = {(r["user"], r["new"]["reason"]) for r in rows}
    assert ("viewer", "password") in reasons and ("ghost", "unknown_user") in reasons
    assert all("address" in r["new"] for r in rows)


def test_unknown_users_take_as_long_as_known_ones(app):
    """A real password hash is checked for an unknown username too (the time no longer tells which exist)."""
    accounts = app.extensions["uec"].accounts
    calls = []
    real = account_store.check_password_hash
    account_store.check_password_hash = lambda h, p: calls.append(h) or real(h, p)
    try:
        accounts.sign_in("no-such-user", "x" * 12)
        accounts.sign_in("admin", "x" * 12)
    finally:
        account_store.check_password_hash = real
    assert len(calls) == 2
    method = lambda h: h.split("$", 1)[0]  # noqa: E731
    assert method(calls[0]) == method(calls[1])  # the same algorithm and cost


def test_logout_ends_the_session_server_side(app):
    client = app.test_client()
    assert _login(client, "admin").status_code == 302
    stolen = client.get_cookie("session").value  # a copy of the cookie, as an attacker would keep
    assert client.get("/admin/").status_code == 200
    html = client.get("/admin/").get_data(as_text=True)
    client.post("/admin/logout", data={"csrf_token": _token(html)})
    replay = app.test_client()
    replay.set_cookie("session", stolen)
    resp = replay.get("/admin/")
    assert resp.status_code == 302 and "/admin/login" in resp.headers["Location"]
    assert _audit(app, "sign_out")


def test_idle_timeout_and_absolute_lifetime(app):
    settings = app.config["SETTINGS"]
    for key, age in (("seen", settings.session_idle_minutes * 60 + 5), ("iat", settings.session_max_hours * 3600 + 5)):
        client = app.test_client()
        _login(client, "admin")
        assert client.get("/admin/").status_code == 200
        with client.session_transaction() as s:
            s[key] = int(time.time() - age)
        assert client.get("/admin/").status_code == 302, key


def test_session_lifetime_is_not_31_days(app):
    assert app.permanent_session_lifetime <= timedelta(hours=24)
    client = app.test_client()
    resp = _login(client, "admin")
    cookie = "; ".join(resp.headers.getlist("Set-Cookie"))
    assert "Expires=" in cookie  # the browser forgets it too


def test_password_change(app):
    client, other = app.test_client(), app.test_client()
    _login(client, "viewer")
    _login(other, "viewer")
    page = client.get("/admin/password")
    assert page.status_code == 200
    token = _token(page.get_data(as_text=True))
    wrong = client.post("/admin/password", data={"csrf_token": token, "current_password": "nope",
                                                 "new_password": "another good one", "confirm_password": "another good one"})
    assert wrong.status_code == 400 and "is not right" in wrong.get_data(as_text=True)
    short = client.post("/admin/password", data={"csrf_token": token, "current_password": PASSWORD,
                                                 "new_password": "short", "confirm_password": "short"})
    assert short.status_code == 400 and "at least 10" in short.get_data(as_text=True)
    ok = client.post("/admin/password", data={"csrf_token": token, "current_password": PASSWORD,
                                              "new_password": "another good one", "confirm_password": "another good one"})
    assert ok.status_code == 302
    assert client.get("/admin/").status_code == 200  # this session goes on
    assert other.get("/admin/").status_code == 302   # the other one has ended
    accounts = app.extensions["uec"].accounts
    assert accounts.sign_in("viewer", PASSWORD).user is None
    assert accounts.sign_in("viewer", "another good one").user is not None
    assert _audit(app, "change_password")


def test_tokens_expire(app):
    accounts = app.extensions["uec"].accounts
    token = accounts.create_token("admin", days=1)
    assert accounts.user_for_token(token)["username"] == "admin"
    from sqlalchemy import update

    from accounts.tables import account_tokens
    from accounts.store import _now
    with accounts.engine.begin() as conn:
        conn.execute(update(account_tokens).values(expires_at=_now() - timedelta(seconds=1)))
    assert accounts.user_for_token(token) is None
    client = app.test_client()
    resp = client.put("/api/v1/services/rph-ed/capacity", json={"status": "amber"},
                      headers={"Authorization": f"Bearer {token}"})
    assert resp.status_code == 401
    with pytest.raises(account_store.AccountError):
        accounts.create_token("admin", days=0)


def test_tokens_are_revoked_on_the_admin_page(app):
    accounts = app.extensions["uec"].accounts
    token = accounts.create_token("admin", "dispatch")
    client = app.test_client()
    _login(client, "admin")
    page = client.get("/admin/tokens")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "dispatch" in html and token not in html
    tid = accounts.tokens("admin")[-1]["id"]
    client.post("/admin/tokens", data={"csrf_token": _token(html), "token_id": str(tid)})
    assert accounts.user_for_token(token) is None
    assert _audit(app, "revoke_token")
    viewer = app.test_client()
    _login(viewer, "viewer")
    assert viewer.get("/admin/tokens").status_code == 403


def test_cli_create_token_days_and_revoke(app, monkeypatch, capsys):
    from uec import cli
    monkeypatch.setattr(cli, "_accounts", lambda settings: app.extensions["uec"].accounts)
    assert cli.main(["create-token", "admin", "--name", "cli-made", "--days", "7"]) == 0
    token = capsys.readouterr().out.strip()
    accounts = app.extensions["uec"].accounts
    made = [t for t in accounts.tokens("admin") if t["name"] == "cli-made"][0]
    assert timedelta(days=6) < made["expires_at"] - account_store._now() <= timedelta(days=7)
    assert accounts.user_for_token(token) is not None
    assert cli.main(["tokens", "--user", "admin"]) == 0 and "cli-made" in capsys.readouterr().out
    assert cli.main(["revoke-token", "--id", str(made["id"])]) == 0
    assert accounts.user_for_token(token) is None
    other = accounts.create_token("viewer")
    assert cli.main(["revoke-token", "--user", "viewer"]) == 0
    assert accounts.user_for_token(other) is None
    assert cli.main(["revoke-token"]) == 2
