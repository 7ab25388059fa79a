"""Daily and hourly rollups of the outcome log, kept up to date with each batch, so figures read few rows."""
from __future__ import annotations

from collections import Counter
from datetime import date
from typing import Any, Iterable, Mapping

from sqlalchemy import delete, func, insert, literal, select
from sqlalchemy.engine import Connection

from directory import tables as t

DAILY_KEYS = ("day", "lad", "place", "cls", "first_type", "ed_reason", "catch_all")
HOURLY_KEYS = ("day", "lad", "place", "local_hour")


def _key(row: Mapping[str, Any], keys: tuple[str, ...]) -> tuple:
    return tuple(row[k] if k in ("day", "catch_all", "local_hour") else (row.get(k) or "") for k in keys)


def _upsert(conn: Connection, table, keys: tuple[str, ...], counts: Counter) -> None:
    if not counts:
        return
    values = [dict(zip(keys, k), calls=n) for k, n in counts.items()]
    if conn.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as upsert
    else:
        from sqlalchemy.dialects.sqlite import insert as upsert
    stmt = upsert(table)
    stmt = stmt.on_conflict_do_update(index_elements=list(keys), set_={"calls": table.c.calls + stmt.excluded.calls})
    conn.execute(stmt, values)


def add(conn: Connection, rows: Iterable[Mapping[str, Any]]) -> None:
    """Count a batch of new outcome rows into the rollups (same transaction as the rows)."""
    rows = list(rows)
    _upsert(conn, t.outcome_daily, DAILY_KEYS, Counter(_key(r, DAILY_KEYS) for r in rows))
    _upsert(conn, t.outcome_hourly, HOURLY_KEYS, Counter(_key(r, HOURLY_KEYS) for r in rows))


def purge(conn: Connection, before: date) -> None:
    conn.execute(delete(t.outcome_daily).where(t.outcome_daily.c.day < before))
    conn.execute(delete(t.outcome_hourly).where(t.outcome_hourly.c.day < before))


def rebuild(conn: Connection) -> None:
    """Recompute both rollups from the log in SQL (after a bulk load or the migration)."""
    o = t.outcomes
    conn.execute(delete(t.outcome_daily))
    conn.execute(delete(t.outcome_hourly))
    cols = [o.c.day, func.coalesce(o.c.lad, ""), func.coalesce(o.c.place, ""), o.c.cls,
            func.coalesce(o.c.first_type, ""), func.coalesce(o.c.ed_reason, ""), o.c.catch_all]
    conn.execute(insert(t.outcome_daily).from_select(list(DAILY_KEYS) + ["calls"],
                                                     select(*cols, func.count()).group_by(*cols)))
    hcols = [o.c.day, func.coalesce(o.c.lad, ""), func.coalesce(o.c.place, ""), o.c.local_hour]
    conn.execute(insert(t.outcome_hourly).from_select(list(HOURLY_KEYS) + ["calls"],
                                                      select(*hcols, func.count()).group_by(*hcols)))
