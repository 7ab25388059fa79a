"""SQLAlchemy tables of the accounts (schema changes go through accounts/migrations, not the directory's)."""
from __future__ import annotations

from sqlalchemy import JSON, Boolean, Column, DateTime, ForeignKey, Integer, MetaData, String, Table

metadata = MetaData()

accounts = Table(
    "accounts", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("username", String(80), nullable=False, unique=True),
    Column("password_hash", String(256), nullable=False),
    Column("role", String(20), nullable=False),
    Column("areas", JSON, nullable=False, default=list),
    Column("service_ids", JSON, nullable=False, default=list),
    Column("requester_role", String(20), nullable=False, default="nhs111"),
    Column("active", Boolean, nullable=False, default=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("failed_sign_ins", Integer, nullable=False, default=0, server_default="0"),  # in a row
    Column("locked_until", DateTime(timezone=True), nullable=True),
    Column("session_generation", Integer, nullable=False, default=0, server_default="0"),  # +1 ends all sessions
    Column("password_changed_at", DateTime(timezone=True), nullable=True),
)

account_tokens = Table(
    "account_tokens", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("user_id", Integer, ForeignKey("accounts.id"), nullable=False),
    Column("name", String(80), nullable=False),
    Column("token_hash", String(128), nullable=False, unique=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("revoked", Boolean, nullable=False, default=False),
    Column("expires_at", DateTime(timezone=True), nullable=True),  # None: tokens made before expiry existed
    Column("revoked_at", DateTime(timezone=True), nullable=True),
)
