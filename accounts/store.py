"""Accounts, passwords and API tokens in the application's database, with their own migrations."""
from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Mapping, Sequence

from alembic import command
from alembic.config import Config
from sqlalchemy import insert, select, text, update
from sqlalchemy.engine import Connection, Engine
from werkzeug.security import check_password_hash, generate_password_hash

from accounts import tables as t
from directory.tables import audit as audit_table

HERE = Path(__file__).resolve().parent
ROLES = ("viewer", "capacity_updater", "commissioner", "administrator")
_MIGRATE_LOCK = 727402  # PostgreSQL advisory lock id for the accounts' first-start migration
MAX_USERNAME = 80
MAX_PASSWORD = 1024


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
        u = self.user(username)
        if u and u["active"] and check_password_hash(u["password_hash"], password or ""):
            return u
        return None

    # -- API tokens -----------------------------------------------------------------------
    def create_token(self, username: str, name: str = "api", *, by: str = "cli") -> str:
        """A new bearer token for `username`, returned once; only its hash is kept."""
        u = self.user(username)
        if not u:
            raise AccountError({"username": f"no user {username!r}"})
        token = "uec_" + secrets.token_urlsafe(32)
        with self.engine.begin() as conn:
            conn.execute(insert(t.account_tokens).values(user_id=u["id"], name=name, token_hash=_hash_token(token),
                                                         created_at=_now(), revoked=False))
            self._audit(conn, by, "create_token", None, {"username": username, "name": name})
        return token

    def user_for_token(self, token: str) -> dict[str, Any] | None:
        with self.engine.connect() as conn:
            row = conn.execute(select(t.accounts).join(t.account_tokens, t.account_tokens.c.user_id == t.accounts.c.id)
                               .where(t.account_tokens.c.token_hash == _hash_token(token),
                                      t.account_tokens.c.revoked.is_(False),
                                      t.accounts.c.active.is_(True))).first()
        return dict(row._mapping) if row else None
