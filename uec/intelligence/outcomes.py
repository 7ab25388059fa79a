"""The outcome log: what each completed triage and route answer was, with no patient details."""
from __future__ import annotations

import logging
import os
import re
import secrets
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any, Callable, Mapping

from sqlalchemy import delete, insert, select, update
from sqlalchemy.engine import Engine

from directory import tables as t
from directory.opening import LONDON
from uec.inputs import InputError
from uec.intelligence import rollup
from uec.intelligence.writer import Writer, batch_writer

log = logging.getLogger("uec.intelligence")

#: (label, lowest age, representative age for replays); bands break where services' age limits do
AGE_BANDS: tuple[tuple[str, float, float], ...] = (
    ("0-4", 0, 2), ("5-15", 5, 10), ("16-17", 16, 16.5), ("18-64", 18, 40), ("65-74", 65, 70), ("75+", 75, 82))
ED_CLASSES = ("ambulance", "emergency_department")
UTC_TYPES = ("urgent_treatment_centre", "minor_injuries_unit")
_REF = re.compile(r"^[A-Za-z0-9_-]{16,32}$")


def age_band(age: Any) -> str:
    if not isinstance(age, (int, float)) or age != age:
        return "unknown"
    label = "unknown"
    for name, low, _ in AGE_BANDS:
        if age >= low:
            label = name
    return label


def band_age(band: str) -> float | None:
    """The age a replay uses for a band (None: unknown)."""
    return next((rep for name, _, rep in AGE_BANDS if name == band), None)


@dataclass(frozen=True)
class OutcomeSettings:
    enabled: bool = True
    retention_days: float = 400.0
    near_minutes: float = 30.0  # answers about other times (planning, scenario runs) are not calls
    prune_every_s: float = 3600.0

    @classmethod
    def from_env(cls) -> "OutcomeSettings":
        return cls(enabled=os.environ.get("UEC_OUTCOME_LOG", "1") not in ("0", "false", "no"),
                   retention_days=float(os.environ.get("UEC_OUTCOME_RETENTION_DAYS", "400")),
                   near_minutes=float(os.environ.get("UEC_OUTCOME_NEAR_MINUTES", "30")))


def ed_reason(cls: str, catch_all: bool, offered_types: list[str], excluded: list[Mapping[str, Any]],
              type_of: Callable[[str], str | None]) -> str | None:
    """Why an emergency department was offered, or None when none was."""
    if "emergency_department" not in offered_types:
        return None
    if cls in ED_CLASSES:
        return "disposition"
    if catch_all:
        return "catch_all"
    if any(e.get("rule") == "capacity_red" and type_of(e.get("id", "")) != "emergency_department" for e in excluded):
        return "capacity_red"
    utc_failed = [e for e in excluded if type_of(e.get("id", "")) in UTC_TYPES and not e.get("fits")]
    if utc_failed and not any(tp in UTC_TYPES for tp in offered_types):
        return "no_open_utc"
    return "ranked"


class OutcomeLog:
    """Builds one row per answer on the request path (cheap), writes them in batches off it."""

    def __init__(self, engine: Engine, *, classes: Mapping[str, str], type_of: Callable[[str], str | None],
                 settings: OutcomeSettings | None = None, writer: Writer | None = None,
                 clock: Callable[[], datetime] = lambda: datetime.now(timezone.utc)):
        self.engine = engine
        self.classes = dict(classes)  # disposition code -> class
        self.type_of = type_of
        self.settings = settings or OutcomeSettings.from_env()
        self.clock = clock
        self.writer = writer or batch_writer(self._write, name="outcome-log")
        self._pruned_at = 0.0
        self._prune_lock = threading.Lock()
        self._recent: "OrderedDict[tuple, tuple[float, str]]" = OrderedDict()  # in memory only, never stored
        self._recent_lock = threading.Lock()

    def _seen(self, key: tuple) -> str | None:
        """The reference of the same answer shown again (the handler re-rendering a call) within 30 min."""
        now = time.monotonic()
        with self._recent_lock:
            hit = self._recent.get(key)
            if hit and now - hit[0] < 1800:
                self._recent.move_to_end(key)
                return hit[1]
        return None

    def _remember(self, key: tuple, ref: str) -> None:
        with self._recent_lock:
            self._recent[key] = (time.monotonic(), ref)
            while len(self._recent) > 5000:
                self._recent.popitem(last=False)

    # -- request side ---------------------------------------------------------------------
    def outcome(self, kind: str, answer: Mapping[str, Any], *, age: Any = None) -> str | None:
        """Queue the answer's row; returns its reference (for the service chosen), or None when not logged."""
        try:
            return self._outcome(kind, answer, age)
        except Exception:  # the log must never stop an answer
            log.warning("outcome log: could not record an answer", exc_info=True)
            return None

    def _outcome(self, kind: str, answer: Mapping[str, Any], age: Any) -> str | None:
        if not self.settings.enabled or "services" not in answer or "location" not in answer:
            return None
        now = self.clock()
        at = datetime.fromisoformat(answer["at"]) if answer.get("at") else now
        if abs(at - now) > timedelta(minutes=self.settings.near_minutes):
            return None  # a planning query or scenario run, not a call happening now
        code = (answer.get("disposition") or (answer.get("outcome") or {}).get("disposition") or {}).get("code")
        if not code:
            return None
        services = list(answer.get("services") or [])
        loc = answer["location"]
        ids = [c.get("id") for c in (answer.get("complaints") or [answer.get("complaint") or {}]) if c.get("id")]
        complaint = ",".join(ids)[:200] or None  # complaint ids only, never the caller's words
        key = (kind, code, complaint, loc.get("lat"), loc.get("lon"), age_band(age), str(answer.get("requester_role")),
               tuple(s["id"] for s in services), now.replace(minute=0, second=0, microsecond=0))
        again = self._seen(key)
        if again:  # the same call's outcome page shown again: one row per answer
            answer["outcome_ref"] = again  # type: ignore[index]
            return again
        hour = now.replace(minute=0, second=0, microsecond=0)
        local = hour.astimezone(LONDON)
        ref = secrets.token_urlsafe(16)
        row = {
            "ref": ref, "hour": hour, "day": local.date(), "local_hour": local.hour, "kind": kind[:8],
            "lad": loc.get("lad_code"), "place": loc.get("place"), "age_band": age_band(age),
            "complaints": complaint, "disposition": code, "cls": self.classes.get(code, "unknown"),
            "role": str(answer.get("requester_role") or "nhs111")[:20],
            "offered": [s["id"] for s in services], "offered_types": [s["type"] for s in services],
            "first_service": services[0]["id"] if services else None,
            "first_type": services[0]["type"] if services else None,
            "catch_all": bool(answer.get("catch_all")),
            "capacity": [(s.get("capacity") or {}).get("status", "unknown") for s in services],
            "directory_version": int(answer.get("directory_version") or 0),
            # used in the writer thread only, never stored:
            "_point": (loc.get("lat"), loc.get("lon")) if loc.get("lat") is not None else None,
            "_excluded": [{"id": e.get("id"), "rule": e.get("rule"), "fits": e.get("fits", False)}
                          for e in answer.get("excluded") or []],
        }
        self.writer.submit(row)
        self._remember(key, ref)
        answer["outcome_ref"] = ref  # type: ignore[index]  # the handler records the service chosen with it
        return ref

    def chosen(self, ref: str, service_id: Any) -> dict[str, Any]:
        """Record which offered service the caller was given; InputError names a bad field, LookupError
        an unknown reference."""
        errors = {}
        if not isinstance(ref, str) or not _REF.match(ref):
            errors["ref"] = "must be the outcome_ref given with the answer"
        if not isinstance(service_id, str) or not service_id.strip() or len(service_id) > 64:
            errors["service"] = "must be the id of one of the services offered with that answer"
        if errors:
            raise InputError(errors)
        self.writer.flush(1.0)  # this worker's row for `ref` may still be queued
        with self.engine.begin() as conn:
            offered = conn.execute(select(t.outcomes.c.offered).where(t.outcomes.c.ref == ref)).scalar()
            if offered is None:
                raise LookupError(f"no logged answer has the reference {ref!r} (or it is past the retention period)")
            if service_id not in offered:
                raise InputError({"service": f"must be one of the services offered with that answer: {', '.join(offered)}"})
            conn.execute(update(t.outcomes).where(t.outcomes.c.ref == ref).values(
                chosen=service_id, chosen_at=self.clock().replace(minute=0, second=0, microsecond=0)))
        return {"ref": ref, "chosen": service_id}

    def record_chosen(self, answer: Mapping[str, Any], service_id: str) -> bool:
        """For the handler page: record the service chosen for an answer; never raises."""
        ref = answer.get("outcome_ref")
        if not ref or not service_id:
            return False
        try:
            self.chosen(ref, service_id)
            return True
        except Exception:
            log.info("outcome log: the chosen service was not recorded", exc_info=True)
            return False

    # -- writer thread --------------------------------------------------------------------
    def _finish(self, row: dict[str, Any]) -> dict[str, Any]:
        from geodata.lsoas import LsoaMap
        point = row.pop("_point")
        excluded = row.pop("_excluded")
        row["lsoa"] = LsoaMap.default().lsoa_of(*point) if point and row.get("lad") else None
        row["ed_offered"] = "emergency_department" in row["offered_types"]
        row["ed_reason"] = ed_reason(row["cls"], row["catch_all"], row["offered_types"], excluded, self.type_of)
        row["capacity_red"] = "red" in row["capacity"] or any(e["rule"] == "capacity_red" for e in excluded)
        return row

    def _write(self, batch: list[tuple]) -> None:
        rows = [self._finish(dict(item)) for item in batch]
        if rows:
            with self.engine.begin() as conn:
                conn.execute(insert(t.outcomes), rows)
                rollup.add(conn, rows)
        if time.monotonic() - self._pruned_at > self.settings.prune_every_s:
            self.purge()

    def flush(self, timeout: float = 5.0) -> bool:
        return self.writer.flush(timeout)

    # -- retention ------------------------------------------------------------------------
    def purge(self, *, now: datetime | None = None) -> int:
        """Delete rows older than the retention period; returns how many went."""
        with self._prune_lock:
            cutoff = (now or self.clock()) - timedelta(days=self.settings.retention_days)
            with self.engine.begin() as conn:
                n = conn.execute(delete(t.outcomes).where(t.outcomes.c.hour < cutoff)).rowcount or 0
                rollup.purge(conn, cutoff.astimezone(LONDON).date())
            self._pruned_at = time.monotonic()
        if n:
            log.info("outcome log: purged %d row(s) older than %s", n, cutoff.date())
        return n


def outcome_log(care: Any) -> OutcomeLog:
    """The outcome log of an UrgentCare application service (its own timeout-guarded engine when available)."""
    try:
        from uec.background import make_engine
        engine = make_engine(care.settings.database_url)
    except ImportError:  # pragma: no cover - before the background module existed
        engine = care.store.engine

    def type_of(service_id: str) -> str | None:
        s = care.snapshot().by_id.get(service_id)
        return s.type if s else None

    return OutcomeLog(engine, classes={c: d.cls for c, d in care.rules.dispositions.items()}, type_of=type_of)
