"""Accounts, passwords and API tokens in the application's database, with their own migrations."""
from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Mapping, Sequence

from alembic import command
from alembic.config import Config
from sqlalchemy import and_, insert, or_, select, text, update
from sqlalchemy.engine import Connection, Engine
from werkzeug.security import check_password_hash, generate_password_hash

from accounts import tables as t
from directory.tables import audit as audit_table

HERE = Path(__file__).resolve().parent
ROLES = ("viewer", "capacity_updater", "commissioner", "administrator")
_MIGRATE_LOCK = 727402  # PostgreSQL advisory lock id for the accounts' first-start migration
MAX_USERNAME = 80
MAX_PASSWORD = 1024
LOCK_AFTER = 5            # failed sign-ins in a row before the account locks
LOCK_BASE_S = 30          # the first lock; each further failure doubles it...
LOCK_MAX_S = 3600         # ...up to an hour. A success resets the count.
DEFAULT_TOKEN_DAYS = 90   # API tokens expire; `uec create-token --days N` for another lifetime


@dataclass(frozen=True)
class SignIn:
    """The result of a sign-in attempt: the account when it succeeded, else why not (for the audit only:
    the person is told the same thing whatever the reason, so usernames cannot be probed)."""
    user: dict[str, Any] | None
    reason: str  # ok, unknown_user, password, inactive, locked
    locked_for_s: int = 0


def _aware(dt: datetime | None) -> datetime | None:
    """SQLite hands back naive datetimes: they were stored as UTC."""
    if dt is None or dt.tzinfo is not None:
        return dt
    return dt.replace(tzinfo=timezone.utc)


class AccountError(ValueError):
    """Account input that cannot be accepted: `errors` maps each bad field to what to fix."""

    def __init__(self, errors: Mapping[str, str]):
        self.errors = dict(errors)
        super().__init__("; ".join(f"{k}: {v}" for k, v in self.errors.items()))


def _now() -> datetime:
    return datetime.now(timezone.utc)


def _hash_token(token: str) -> str:
    return hashlib.sha256((token or "").encode()).hexdigest()


class Accounts:
    """Users (people and API clients), their password hashes and API tokens; every change audited."""

    def __init__(self, engine: Engine):
        self.engine = engine

    def migrate(self) -> None:
        """Bring the accounts' tables to their newest revision (safe with several workers at once)."""
        cfg = Config(str(HERE / "alembic.ini"))
        with self.engine.begin() as conn:
            if conn.dialect.name == "postgresql":
                conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _MIGRATE_LOCK})
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, "head")

    @staticmethod
    def _audit(conn: Connection, user: str, action: str, old: Any, new: Any) -> None:
        conn.execute(insert(audit_table).values(at=_now(), user=user, service_id=None, action=action, old=old, new=new))

    def record(self, user: str, action: str, *, old: Any = None, new: Any = None) -> None:
        """An audit entry about an account (sign-in, sign-out)."""
        with self.engine.begin() as conn:
            self._audit(conn, user, action, old, new)

    # -- users ----------------------------------------------------------------------------
    def create_user(self, username: str, password: str, role: str, *, areas: Sequence[str] = (),
                    service_ids: Sequence[str] = (), requester_role: str = "nhs111", by: str = "cli") -> int:
        errors = {}
        if role not in ROLES:
            errors["role"] = f"must be one of {', '.join(ROLES)}"
        if not isinstance(password, str) or len(password) < 10:
            errors["password"] = "must be at least 10 characters"
        elif len(password) > MAX_PASSWORD:
            errors["password"] = f"must be at most {MAX_PASSWORD} characters"
        if not isinstance(username, str) or not username.strip():
            errors["username"] = "is required"
        elif len(username) > MAX_USERNAME:
            errors["username"] = f"must be at most {MAX_USERNAME} characters"
        if errors:
            raise AccountError(errors)
        with self.engine.begin() as conn:
            if conn.execute(select(t.accounts.c.id).where(t.accounts.c.username == username)).first():
                raise AccountError({"username": f"{username!r} already exists"})
            uid = conn.execute(insert(t.accounts).values(
                username=username, password_hash=generate_password_hash(password), role=role, areas=list(areas),
                service_ids=list(service_ids), requester_role=requester_role, active=True,
                created_at=_now())).inserted_primary_key[0]
            self._audit(conn, by, "create_user", None, {"username": username, "role": role,
                                                        "areas": list(areas), "service_ids": list(service_ids)})
        return int(uid)

    def update_user(self, username: str, *, role: str, areas: Sequence[str] = (), service_ids: Sequence[str] = (),
                    active: bool = True, by: str) -> None:
        """Change a user's role, areas, services or active flag (audited)."""
        if role not in ROLES:
            raise AccountError({"role": f"must be one of {', '.join(ROLES)}"})
        with self.engine.begin() as conn:
            old = conn.execute(select(t.accounts).where(t.accounts.c.username == username)).first()
            if old is None:
                raise AccountError({"username": f"no user {username!r}"})
            new = {"role": role, "areas": list(areas), "service_ids": list(service_ids), "active": bool(active)}
            conn.execute(update(t.accounts).where(t.accounts.c.username == username).values(**new))
            self._audit(conn, by, "update_user",
                        {"username": username, "role": old.role, "areas": list(old.areas or []),
                         "service_ids": list(old.service_ids or []), "active": bool(old.active)},
                        {"username": username, **new})

    def user(self, username: str) -> dict[str, Any] | None:
        with self.engine.connect() as conn:
            row = conn.execute(select(t.accounts).where(t.accounts.c.username == username)).first()
        return dict(row._mapping) if row else None

    def users(self) -> list[dict[str, Any]]:
        with self.engine.connect() as conn:
            return [dict(r._mapping) for r in conn.execute(select(t.accounts).order_by(t.accounts.c.username))]

    def authenticate(self, username: str, password: str) -> dict[str, Any] | None:
        return self.sign_in(username, password).user

    def _dummy_hash(self) -> str:
        """A hash made the way real ones are, checked for unknown users so they take as long as known ones."""
        if getattr(self, "_dummy", None) is None:
            self._dummy = generate_password_hash(secrets.token_urlsafe(16))
        return self._dummy

    def sign_in(self, username: str, password: str, *, address: str = "") -> SignIn:
        """Check a password with lockout and back-off; every failure is audited with its reason."""
        password = password if isinstance(password, str) else ""
        name = username if isinstance(username, str) else ""
        u = self.user(name) if 0 < len(name) <= MAX_USERNAME else None
        now = _now()
        if u is None:
            check_password_hash(self._dummy_hash(), password)  # the same time as a real check
            return self._failed(name[:MAX_USERNAME], "unknown_user", address)
        locked = _aware(u.get("locked_until"))
        if locked is not None and locked > now:
            check_password_hash(self._dummy_hash(), password)
            return self._failed(name, "locked", address, locked_for_s=int((locked - now).total_seconds()) + 1)
        if not check_password_hash(u["password_hash"], password):
            return self._count_failure(u, address)
        if not u["active"]:
            return self._failed(name, "inactive", address)
        if u.get("failed_sign_ins") or u.get("locked_until"):
            with self.engine.begin() as conn:
                conn.execute(update(t.accounts).where(t.accounts.c.id == u["id"])
                             .values(failed_sign_ins=0, locked_until=None))
        return SignIn(u, "ok")

    def _count_failure(self, u: dict[str, Any], address: str) -> SignIn:
        with self.engine.begin() as conn:
            conn.execute(update(t.accounts).where(t.accounts.c.id == u["id"])
                         .values(failed_sign_ins=t.accounts.c.failed_sign_ins + 1))
            failures = conn.execute(select(t.accounts.c.failed_sign_ins).where(t.accounts.c.id == u["id"])).scalar()
            lock_s = 0
            if failures >= LOCK_AFTER:
                lock_s = min(LOCK_MAX_S, LOCK_BASE_S * 2 ** min(failures - LOCK_AFTER, 16))
                conn.execute(update(t.accounts).where(t.accounts.c.id == u["id"])
                             .values(locked_until=_now() + timedelta(seconds=lock_s)))
            self._audit(conn, u["username"], "sign_in_failed", None,
                        {"reason": "password", "failures": failures, "locked_for_s": lock_s, "address": address})
        return SignIn(None, "password", lock_s)

    def _failed(self, username: str, reason: str, address: str, *, locked_for_s: int = 0) -> SignIn:
        self.record(username or "(empty)", "sign_in_failed",
                    new={"reason": reason, "locked_for_s": locked_for_s, "address": address})
        return SignIn(None, reason, locked_for_s)

    def end_sessions(self, username: str, *, action: str = "sign_out") -> None:
        """End every session of `username` server-side (their generation no longer matches); audited."""
        with self.engine.begin() as conn:
            conn.execute(update(t.accounts).where(t.accounts.c.username == username)
                         .values(session_generation=t.accounts.c.session_generation + 1))
            self._audit(conn, username, action, None, None)

    def change_password(self, username: str, current: str, new: str, *, confirm: str | None = None) -> None:
        """Change a password after checking the current one; ends the user's other sessions."""
        u = self.user(username)
        errors: dict[str, str] = {}
        if u is None or not check_password_hash(u["password_hash"], current if isinstance(current, str) else ""):
            errors["current_password"] = "is not right: enter the password you signed in with"
        if not isinstance(new, str) or len(new) < 10:
            errors["new_password"] = "must be at least 10 characters"
        elif len(new) > MAX_PASSWORD:
            errors["new_password"] = f"must be at most {MAX_PASSWORD} characters"
        elif new == current:
            errors["new_password"] = "must differ from the current password"
        elif confirm is not None and confirm != new:
            errors["confirm_password"] = "does not match the new password: type it again"
        if errors:
            raise AccountError(errors)
        with self.engine.begin() as conn:
            conn.execute(update(t.accounts).where(t.accounts.c.username == username).values(
                password_hash=generate_password_hash(new), password_changed_at=_now(), failed_sign_ins=0,
                locked_until=None, session_generation=t.accounts.c.session_generation + 1))
            self._audit(conn, username, "change_password", None, None)

    # -- API tokens -----------------------------------------------------------------------
    def create_token(self, username: str, name: str = "api", *, by: str = "cli",
                     days: float = DEFAULT_TOKEN_DAYS) -> str:
        """A new bearer token for `username` that expires after `days`, returned once; only its hash is kept."""
        u = self.user(username)
        if not u:
            raise AccountError({"username": f"no user {username!r}"})
        if isinstance(days, bool) or not isinstance(days, (int, float)) or not 0 < days <= 3660:
            raise AccountError({"days": "must be a number of days from 1 to 3660"})
        token = "uec_" + secrets.token_urlsafe(32)
        expires = _now() + timedelta(days=days)
        with self.engine.begin() as conn:
            conn.execute(insert(t.account_tokens).values(user_id=u["id"], name=name, token_hash=_hash_token(token),
                                                         created_at=_now(), revoked=False, expires_at=expires))
            self._audit(conn, by, "create_token", None, {"username": username, "name": name,
                                                         "expires_at": expires.isoformat()})
        return token

    def tokens(self, username: str | None = None) -> list[dict[str, Any]]:
        """Every token (never the secret): id, username, name, created_at, expires_at, revoked."""
        q = (select(t.account_tokens.c.id, t.accounts.c.username, t.account_tokens.c.name,
                    t.account_tokens.c.created_at, t.account_tokens.c.expires_at, t.account_tokens.c.revoked,
                    t.account_tokens.c.revoked_at)
             .join(t.accounts, t.account_tokens.c.user_id == t.accounts.c.id).order_by(t.account_tokens.c.id))
        if username is not None:
            q = q.where(t.accounts.c.username == username)
        with self.engine.connect() as conn:
            rows = [dict(r._mapping) for r in conn.execute(q)]
        for r in rows:
            r["expires_at"] = _aware(r["expires_at"]) or (_aware(r["created_at"]) + timedelta(days=DEFAULT_TOKEN_DAYS))
            r["expired"] = r["expires_at"] <= _now()
        return rows

    def revoke_token(self, token_id: int, *, by: str) -> dict[str, Any]:
        """Revoke one token by its id (from `tokens()`); audited."""
        found = [r for r in self.tokens() if r["id"] == token_id]
        if not found:
            raise AccountError({"token": f"no token with id {token_id}"})
        with self.engine.begin() as conn:
            conn.execute(update(t.account_tokens).where(t.account_tokens.c.id == token_id)
                         .values(revoked=True, revoked_at=_now()))
            self._audit(conn, by, "revoke_token", None, {"id": token_id, "username": found[0]["username"],
                                                         "name": found[0]["name"]})
        return found[0]

    def revoke_tokens(self, username: str, *, by: str) -> int:
        """Revoke every live token of `username`; returns how many."""
        ids = [r["id"] for r in self.tokens(username) if not r["revoked"]]
        for token_id in ids:
            self.revoke_token(token_id, by=by)
        return len(ids)

    def user_for_token(self, token: str) -> dict[str, Any] | None:
        with self.engine.connect() as conn:
            row = conn.execute(select(t.accounts).join(t.account_tokens, t.account_tokens.c.user_id == t.accounts.c.id)
                               .where(t.account_tokens.c.token_hash == _hash_token(token),
                                      t.account_tokens.c.revoked.is_(False),
                                      t.accounts.c.active.is_(True),
                                      or_(t.account_tokens.c.expires_at > _now(),
                                          and_(t.account_tokens.c.expires_at.is_(None),  # made before expiry
                                               t.account_tokens.c.created_at
                                               > _now() - timedelta(days=DEFAULT_TOKEN_DAYS))))).first()
        return dict(row._mapping) if row else None
