"""SQLAlchemy table definitions of the directory database (schema changes go through Alembic)."""
from __future__ import annotations

from sqlalchemy import (JSON, BigInteger, Boolean, Column, Date, DateTime, Float, ForeignKey, Index, Integer,
                        MetaData, SmallInteger, String, Table, Text)

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

# -- intelligence: the outcome log (no patient details) and saved what-if scenarios ------------------
outcomes = Table(
    "outcomes", metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
    Column("ref", String(32), nullable=False, unique=True),  # opaque random reference, not patient data
    Column("hour", DateTime(timezone=True), nullable=False),  # UTC, truncated to the hour
    Column("day", Date, nullable=False),  # UK local date of `hour`
    Column("local_hour", SmallInteger, nullable=False),  # UK local hour 0-23
    Column("kind", String(8), nullable=False),  # triage | route
    Column("lsoa", String(9), nullable=True),
    Column("lad", String(9), nullable=True),
    Column("place", String(40), nullable=True),
    Column("age_band", String(8), nullable=False),
    Column("complaints", String(200), nullable=True),
    Column("disposition", String(40), nullable=False),
    Column("cls", String(40), nullable=False),
    Column("role", String(20), nullable=False),
    Column("offered", JSON, nullable=False),  # service ids in the order offered
    Column("offered_types", JSON, nullable=False),
    Column("first_service", String(64), nullable=True),
    Column("first_type", String(40), nullable=True),
    Column("ed_offered", Boolean, nullable=False),
    Column("ed_reason", String(20), nullable=True),  # why ED was offered: disposition, catch_all, capacity_red, no_open_utc, ranked
    Column("catch_all", Boolean, nullable=False),
    Column("capacity", JSON, nullable=False),  # capacity state of each offered service, in order
    Column("capacity_red", Boolean, nullable=False),  # a red service was seen (offered or left out for it)
    Column("directory_version", Integer, nullable=False),
    Column("chosen", String(64), nullable=True),
    Column("chosen_at", DateTime(timezone=True), nullable=True),
    Index("ix_outcomes_hour", "hour"),
    Index("ix_outcomes_day_place", "day", "place"),
    Index("ix_outcomes_cls_day", "cls", "day"),
    Index("ix_outcomes_type_day_hour", "first_type", "day", "local_hour"),
)

whatif_scenarios = Table(
    "whatif_scenarios", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("name", String(120), nullable=False, unique=True),
    Column("spec", JSON, nullable=False),
    Column("result", JSON, nullable=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("created_by", String(80), nullable=False),
)

#: daily rollup of the outcome log that the dashboard reads (keys use '' rather than NULL so upserts match)
outcome_daily = Table(
    "outcome_daily", metadata,
    Column("day", Date, primary_key=True),
    Column("lad", String(9), primary_key=True),
    Column("place", String(40), primary_key=True),
    Column("cls", String(40), primary_key=True),
    Column("first_type", String(40), primary_key=True),
    Column("ed_reason", String(20), primary_key=True),
    Column("catch_all", Boolean, primary_key=True),
    Column("calls", Integer, nullable=False),
)

#: calls by day, district and UK local hour (the hour-of-day figure)
outcome_hourly = Table(
    "outcome_hourly", metadata,
    Column("day", Date, primary_key=True),
    Column("lad", String(9), primary_key=True),
    Column("place", String(40), primary_key=True),
    Column("local_hour", SmallInteger, primary_key=True),
    Column("calls", Integer, nullable=False),
)
