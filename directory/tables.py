"""SQLAlchemy table definitions of the directory database (schema changes go through Alembic)."""
from __future__ import annotations

from sqlalchemy import (JSON, Boolean, Column, DateTime, Float, ForeignKey, Index, Integer, MetaData,
                        String, Table, Text)

metadata = MetaData()

services = Table(
    "services", metadata,
    Column("id", String(64), primary_key=True),
    Column("version", Integer, nullable=False, default=1),
    Column("name", String(200), nullable=False),
    Column("type", String(40), nullable=False, index=True),
    Column("postcode", String(10), nullable=False),
    Column("lat", Float, nullable=False),
    Column("lon", Float, nullable=False),
    Column("status", String(20), nullable=False, default="active"),
    Column("data", JSON, nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Column("updated_by", String(80), nullable=False),
)

capacity = Table(
    "capacity", metadata,
    Column("service_id", String(64), ForeignKey("services.id"), primary_key=True),
    Column("status", String(10), nullable=False),
    Column("set_at", DateTime(timezone=True), nullable=False),
    Column("set_by", String(80), nullable=False),
    Column("reset_minutes", Integer, nullable=False, default=240),
)

audit = Table(
    "audit", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("at", DateTime(timezone=True), nullable=False, index=True),
    Column("user", String(80), nullable=False),
    Column("service_id", String(64), nullable=True, index=True),
    Column("action", String(40), nullable=False),
    Column("old", JSON, nullable=True),
    Column("new", JSON, nullable=True),
)

meta = Table(
    "meta", metadata,
    Column("key", String(40), primary_key=True),
    Column("value", Integer, nullable=False),
)

rankings = Table(
    "rankings", metadata,
    Column("area", String(40), primary_key=True),
    Column("key", String(40), primary_key=True),
    Column("types", JSON, nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Column("updated_by", String(80), nullable=False),
)

gaps = Table(
    "gaps", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("day", String(10), nullable=False),
    Column("service_id", String(64), nullable=False),
    Column("rule", String(40), nullable=False),
    Column("text", Text, nullable=False),
    Column("disposition", String(40), nullable=False),
    Index("ix_gaps_day_service", "day", "service_id"),
)

scenarios = Table(
    "scenarios", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("name", String(120), nullable=False, unique=True),
    Column("spec", JSON, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("created_by", String(80), nullable=False),
)
