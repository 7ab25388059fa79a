"""Dashboard figures over the outcome log, gap log, audit and directory: SQL aggregates, never row loops."""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone
from typing import Any, Callable, Iterable, Mapping, Sequence

from sqlalchemy import and_, case, func, select
from sqlalchemy.engine import Engine

from directory import tables as t
from directory.model import SERVICE_TYPES, Service
from directory.opening import LONDON
from geodata.areas import LAD_NAMES, PLACES
from uec.inputs import InputError
from uec.intelligence.outcomes import ED_CLASSES

o = t.outcomes
MAX_DAYS = 3 * 366


@dataclass(frozen=True)
class Filters:
    """What the dashboard is narrowed to: local dates (inclusive), a place or district, a service type."""
    start: date
    end: date
    place: str | None = None
    service_type: str | None = None

    @classmethod
    def parse(cls, args: Mapping[str, Any], *, today: date | None = None, default_days: int = 28) -> "Filters":
        """From query arguments from=YYYY-MM-DD, to=YYYY-MM-DD, place=, type=; errors name the field."""
        today = today or datetime.now(LONDON).date()
        errors: dict[str, str] = {}

        def day(key: str, default: date) -> date:
            raw = (args.get(key) or "").strip()
            if not raw:
                return default
            try:
                d = date.fromisoformat(raw)
                if not 2000 <= d.year <= 2100:
                    raise ValueError
                return d
            except ValueError:
                errors[key] = "must be a date like 2026-11-30 (years 2000-2100)"
                return default
        end = day("to", today)
        start = day("from", end - timedelta(days=default_days - 1))
        if start > end and not errors:
            errors["from"] = "must be on or before 'to'"
        elif (end - start).days > MAX_DAYS and not errors:
            errors["from"] = f"the range may be at most {MAX_DAYS} days"
        place = (args.get("place") or "").strip() or None
        if place and place not in PLACES and place not in LAD_NAMES:
            names = {v.lower(): k for k, v in LAD_NAMES.items()}
            if place.lower() in names:
                place = names[place.lower()]
            else:
                errors["place"] = f"must be one of {', '.join(PLACES)} or a district code such as E07000123"
        stype = (args.get("type") or "").strip() or None
        if stype and stype not in SERVICE_TYPES:
            errors["type"] = f"must be a service type: {', '.join(SERVICE_TYPES)}"
        if errors:
            raise InputError(errors)
        return cls(start, end, place, stype)

    def as_args(self) -> dict[str, str]:
        out = {"from": self.start.isoformat(), "to": self.end.isoformat()}
        if self.place:
            out["place"] = self.place
        if self.service_type:
            out["type"] = self.service_type
        return out

    def outcome_where(self, *, by_type: bool = True, table=None) -> list:
        """Conditions on the outcome log or one of its rollups (same column names)."""
        tb = o if table is None else table
        w = [tb.c.day >= self.start, tb.c.day <= self.end]
        if self.place in PLACES:
            w.append(tb.c.place == self.place)
        elif self.place:
            w.append(tb.c.lad == self.place)
        if by_type and self.service_type:
            w.append(tb.c.first_type == self.service_type)
        return w


@dataclass
class Figure:
    """One dashboard figure: a table (columns, rows) and how to chart it."""
    name: str
    title: str
    columns: list[str]
    rows: list[list[Any]]
    chart: str = "hbar"  # hbar | vbar | none
    value_col: int = 1
    note: str = ""
    totals: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {"name": self.name, "title": self.title, "columns": self.columns, "rows": self.rows,
                "note": self.note, **({"totals": self.totals} if self.totals else {})}


def _share(n: float, d: float) -> float | None:
    return round(n / d, 4) if d else None


D = t.outcome_daily
CALLS = func.sum(D.c.calls)


def _away():
    """An answer streamed away from ED: its class is not ambulance or ED and its first service is not an ED."""
    return and_(D.c.cls.notin_(ED_CLASSES), D.c.first_type != "emergency_department")


class Figures:
    """Every dashboard figure, computed in the database; `services` gives the live directory for names."""

    def __init__(self, engine: Engine, services: Callable[[], Sequence[Service]]):
        self.engine = engine
        self.services = services

    NAMES = ("classes", "places", "days", "hours", "ed_reasons", "falls", "mental_health", "gaps", "capacity",
             "verification")

    def figure(self, name: str, f: Filters) -> Figure:
        if name not in self.NAMES:
            raise InputError({"figure": f"must be one of {', '.join(self.NAMES)}"})
        return getattr(self, name)(f)

    def _rows(self, q) -> list:
        from decimal import Decimal
        with self.engine.connect() as conn:  # PostgreSQL sums are numeric: counts are whole numbers
            return [tuple(int(v) if isinstance(v, Decimal) else v for v in r) for r in conn.execute(q).all()]

    # -- the outcome log ------------------------------------------------------------------
    def classes(self, f: Filters) -> Figure:
        rows = self._rows(select(D.c.cls, CALLS).where(*f.outcome_where(table=D)).group_by(D.c.cls)
                          .order_by(CALLS.desc()))
        total = sum(r[1] for r in rows)
        return Figure("classes", "Calls by disposition class", ["class", "calls", "share"],
                      [[r[0], r[1], _share(r[1], total)] for r in rows], totals={"calls": total})

    def places(self, f: Filters) -> Figure:
        away = func.sum(case((_away(), D.c.calls), else_=0))
        rows = self._rows(select(D.c.place, CALLS, away).where(*f.outcome_where(table=D))
                          .group_by(D.c.place).order_by(CALLS.desc()))
        total, total_away = sum(int(r[1]) for r in rows), sum(int(r[2] or 0) for r in rows)
        return Figure("places", "Calls by place, and the share streamed away from ED",
                      ["place", "calls", "streamed_away_from_ed", "share_streamed_away"],
                      [[r[0] or "outside LSC", int(r[1]), int(r[2] or 0), _share(int(r[2] or 0), int(r[1]))] for r in rows],
                      note="Streamed away: the disposition class is not ambulance or ED and the first service "
                           "offered is not an emergency department.",
                      totals={"calls": total, "streamed_away_from_ed": total_away,
                              "share_streamed_away": _share(total_away, total)})

    def days(self, f: Filters) -> Figure:
        away = func.sum(case((_away(), D.c.calls), else_=0))
        rows = self._rows(select(D.c.day, CALLS, away).where(*f.outcome_where(table=D)).group_by(D.c.day)
                          .order_by(D.c.day))
        return Figure("days", "Calls by day", ["day", "calls", "streamed_away_from_ed"],
                      [[r[0].isoformat() if hasattr(r[0], "isoformat") else str(r[0]), r[1], int(r[2] or 0)]
                       for r in rows], chart="vbar")

    def hours(self, f: Filters) -> Figure:
        if f.service_type:  # the hourly rollup has no service type: count the log itself
            got = dict(self._rows(select(o.c.local_hour, func.count()).where(*f.outcome_where())
                                  .group_by(o.c.local_hour)))
        else:
            h = t.outcome_hourly
            got = dict(self._rows(select(h.c.local_hour, func.sum(h.c.calls)).where(*f.outcome_where(table=h))
                                  .group_by(h.c.local_hour)))
        return Figure("hours", "Calls by hour of day (UK time)", ["hour", "calls"],
                      [[f"{h:02d}:00", int(got.get(h, 0))] for h in range(24)], chart="vbar")

    def ed_reasons(self, f: Filters) -> Figure:
        rows = self._rows(select(D.c.ed_reason, CALLS).where(*f.outcome_where(table=D), D.c.ed_reason != "")
                          .group_by(D.c.ed_reason).order_by(CALLS.desc()))
        total = sum(r[1] for r in rows)
        labels = {"disposition": "ED or ambulance disposition", "catch_all": "catch-all: nothing else fitted",
                  "capacity_red": "an alternative was at capacity red", "no_open_utc": "no UTC/MIU open within the timeframe",
                  "ranked": "offered beside alternatives (ranking)"}
        return Figure("ed_reasons", "Why an emergency department was offered", ["reason", "answers", "share"],
                      [[labels.get(r[0], r[0] or "unknown"), r[1], _share(r[1], total)] for r in rows],
                      totals={"answers_offering_ed": total})

    def falls(self, f: Filters) -> Figure:
        rows = self._rows(select(D.c.first_type, D.c.catch_all, CALLS)
                          .where(*f.outcome_where(by_type=False, table=D), D.c.cls == "falls_response")
                          .group_by(D.c.first_type, D.c.catch_all))
        acc: dict[str, int] = defaultdict(int)
        for ftype, catch_all, n in rows:
            n = int(n)
            if ftype == "falls_lifting":
                acc["lifting service offered"] += n
            elif catch_all or ftype in (None, "", "emergency_department"):
                acc["ambulance (no lifting service available)"] += n
            else:
                acc[f"other: {SERVICE_TYPES.get(ftype, ftype)}"] += n
        total = sum(acc.values())
        return Figure("falls", "Falls: lifting service offered vs ambulance", ["answer", "calls", "share"],
                      [[k, v, _share(v, total)] for k, v in sorted(acc.items(), key=lambda kv: -kv[1])],
                      totals={"falls_calls": total})

    def mental_health(self, f: Filters) -> Figure:
        rows = self._rows(select(D.c.first_type, CALLS)
                          .where(*f.outcome_where(by_type=False, table=D), D.c.cls == "mental_health_crisis")
                          .group_by(D.c.first_type).order_by(CALLS.desc()))
        total = sum(r[1] for r in rows)
        return Figure("mental_health", "Mental-health crisis: where people were sent first",
                      ["service type", "calls", "share"],
                      [[SERVICE_TYPES.get(r[0], r[0] or "none"), r[1], _share(r[1], total)] for r in rows],
                      totals={"crisis_calls": total})

    # -- the directory side ---------------------------------------------------------------
    def _service_ids(self, f: Filters) -> dict[str, Service] | None:
        """Services matching the place/type filters (None: no filter)."""
        if not f.place and not f.service_type:
            return None
        from geodata.areas import Areas
        areas = Areas.default()
        out = {}
        for s in self.services():
            if f.service_type and s.type != f.service_type:
                continue
            if f.place:
                hit = areas.area_of(s.lat, s.lon)
                if hit is None or f.place not in (hit.place, hit.lad_code):
                    continue
            out[s.id] = s
        return out

    def gaps(self, f: Filters) -> Figure:
        g = t.gaps
        q = (select(g.c.day, g.c.rule, func.count()).where(g.c.day >= f.start.isoformat(), g.c.day <= f.end.isoformat())
             .group_by(g.c.day, g.c.rule))
        wanted = self._service_ids(f)
        if wanted is not None:
            q = q.where(g.c.service_id.in_(list(wanted) or [""]))
        acc: dict[tuple[str, str], int] = defaultdict(int)
        for day, rule, n in self._rows(q):
            d = date.fromisoformat(day)
            monday = d - timedelta(days=d.weekday())
            acc[(monday.isoformat(), rule)] += n
        rows = [[wk, rule, n] for (wk, rule), n in sorted(acc.items())]
        return Figure("gaps", "Gaps: services failing exactly one rule, by rule and week",
                      ["week_starting", "rule", "near_misses"], rows, value_col=2,
                      totals={"near_misses": sum(r[2] for r in rows)})

    def capacity(self, f: Filters) -> Figure:
        a = t.audit
        start = datetime.combine(f.start, time(0), tzinfo=LONDON).astimezone(timezone.utc)
        end = datetime.combine(f.end + timedelta(days=1), time(0), tzinfo=LONDON).astimezone(timezone.utc)
        q = select(a.c.service_id, a.c.at, a.c.new).where(a.c.action == "capacity", a.c.at >= start, a.c.at < end)
        wanted = self._service_ids(f)
        if wanted is not None:
            q = q.where(a.c.service_id.in_(list(wanted) or [""]))
        names = {s.id: s.name for s in self.services()}
        acc: dict[str, dict[str, Any]] = {}
        for sid, at, new in self._rows(q.order_by(a.c.at)):
            status = (new or {}).get("capacity", "unknown")
            row = acc.setdefault(sid, {"green": 0, "amber": 0, "red": 0, "last": None, "last_at": None})
            row[status] = row.get(status, 0) + 1
            row["last"], row["last_at"] = status, at
        rows = [[names.get(sid, sid), r["green"], r["amber"], r["red"], r["last"],
                 (r["last_at"].replace(tzinfo=timezone.utc) if r["last_at"].tzinfo is None else r["last_at"])
                 .astimezone(LONDON).isoformat(timespec="minutes")]
                for sid, r in sorted(acc.items(), key=lambda kv: (-kv[1]["red"], -kv[1]["amber"], kv[0]))]
        return Figure("capacity", "Capacity history per service (changes set in the period)",
                      ["service", "set_green", "set_amber", "set_red", "latest", "latest_at"], rows, value_col=3)

    def verification(self, f: Filters) -> Figure:
        today = datetime.now(LONDON).date()
        wanted = self._service_ids(f)
        rows = []
        for s in self.services():
            if wanted is not None and s.id not in wanted:
                continue
            due = s.verification_due()
            if due is None or due < today:
                rows.append([s.name, SERVICE_TYPES.get(s.type, s.type), s.verified_on.isoformat() if s.verified_on else "never",
                             due.isoformat() if due else "", (today - due).days if due else None])
        rows.sort(key=lambda r: -(r[4] if r[4] is not None else 10**6))
        return Figure("verification", "Verification overdue", ["service", "type", "verified_on", "due", "days_overdue"],
                      rows, value_col=4)

    # -- the JSON summary for other systems -----------------------------------------------
    def summary(self, f: Filters) -> dict[str, Any]:
        places = self.places(f)
        return {"from": f.start.isoformat(), "to": f.end.isoformat(), "place": f.place, "type": f.service_type,
                "calls": places.totals.get("calls", 0),
                "streamed_away_from_ed": places.totals.get("streamed_away_from_ed", 0),
                "share_streamed_away_from_ed": places.totals.get("share_streamed_away"),
                "by_class": {r[0]: r[1] for r in self.classes(f).rows},
                "by_place": {r[0]: {"calls": r[1], "streamed_away_from_ed": r[2], "share_streamed_away": r[3]}
                             for r in places.rows},
                "by_hour": {r[0]: r[1] for r in self.hours(f).rows},
                "ed_reasons": {r[0]: r[1] for r in self.ed_reasons(f).rows}}
