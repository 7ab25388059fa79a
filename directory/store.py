"""The directory database: services with versions, audit, capacity, rankings, gaps, scenarios."""
from __future__ import annotations

from contextlib import contextmanager
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Iterator, Mapping, Sequence

import math

import yaml
from alembic import command
from alembic.config import Config
from sqlalchemy import create_engine, delete, event, func, insert, select, text, update
from sqlalchemy.engine import Connection, Engine

from directory import tables as t
from directory.model import CAPACITY, Capacity, Service, ServiceError, service_from_dict, utcnow

HERE = Path(__file__).resolve().parent
BUNDLED = HERE / "data" / "lsc_services.yaml"
_MIGRATE_LOCK = 727401  # PostgreSQL advisory lock id for first-start migration


class ConflictError(Exception):
    """Someone else changed the record first: carries the current version to show both."""

    def __init__(self, current: Service | None):
        self.current = current
        super().__init__("the service was changed by someone else; reload and apply your change again")


class NotFound(KeyError):
    pass


class Quarantined(LookupError):
    """A stored record that routing and every read leave out, because it fails today's checks.

    It stays in the database (nothing is lost) until someone edits or re-imports it; `reasons`
    maps each bad field to what is wrong, as the write path would have said."""

    def __init__(self, service_id: str, *, name: str, version: int, lat: float | None, lon: float | None,
                 reasons: Mapping[str, str], data: Any):
        self.id, self.name, self.version, self.lat, self.lon = service_id, name, version, lat, lon
        self.reasons = dict(reasons)
        self.data = data
        super().__init__(f"{service_id} is quarantined: " + "; ".join(f"{k}: {v}" for k, v in self.reasons.items()))

    def as_dict(self) -> dict[str, Any]:
        return {"id": self.id, "name": self.name, "version": self.version, "reasons": self.reasons}


def _aware(dt: datetime | None) -> datetime | None:
    if dt is not None and dt.tzinfo is None:  # SQLite returns naive datetimes
        return dt.replace(tzinfo=timezone.utc)
    return dt


def default_url(var_dir: Path) -> str:
    var_dir.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{var_dir / 'directory.sqlite'}"


class Store:
    """All reads and writes of the directory database, through SQLAlchemy Core."""

    def __init__(self, url: str):
        self.url = url
        kwargs: dict[str, Any] = {"future": True}
        if url.startswith("sqlite"):
            kwargs["connect_args"] = {"timeout": 30, "check_same_thread": False}
            db_path = url.split("///", 1)[-1]
            if db_path and db_path != ":memory:":
                Path(db_path).parent.mkdir(parents=True, exist_ok=True)  # first start on a fresh checkout
        else:
            kwargs.update(pool_pre_ping=True, pool_size=5, max_overflow=5)
        self.engine: Engine = create_engine(url, **kwargs)
        if url.startswith("sqlite"):
            @event.listens_for(self.engine, "connect")
            def _sqlite_pragmas(dbapi_conn, _):  # pragma: no cover - trivial
                cur = dbapi_conn.cursor()
                cur.execute("PRAGMA journal_mode=WAL")
                cur.execute("PRAGMA foreign_keys=ON")
                cur.close()

    # -- schema and first start -----------------------------------------------------------
    def migrate(self) -> None:
        """Bring the schema to the newest Alembic revision (safe with several workers at once)."""
        cfg = Config(str(HERE / "alembic.ini"))
        with self.engine.begin() as conn:
            if conn.dialect.name == "postgresql":
                conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _MIGRATE_LOCK})
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, "head")

    def initialise(self, *, seed_file: Path = BUNDLED) -> int:
        """Migrate, then load the bundled LSC directory into an empty database. Returns services added."""
        self.migrate()
        with self.engine.begin() as conn:
            if conn.dialect.name == "postgresql":
                conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _MIGRATE_LOCK})
            if conn.execute(select(func.count()).select_from(t.services)).scalar():
                return 0
            doc = yaml.safe_load(seed_file.read_text(encoding="utf-8"))
            now = utcnow()
            n = 0
            for raw in doc["services"]:
                svc = service_from_dict(raw)
                self._insert(conn, svc, "bundled-data", now)
                n += 1
            conn.execute(insert(t.meta).values(key="directory_version", value=1))
            return n

    @staticmethod
    def _insert(conn: Connection, svc: Service, user: str, now: datetime) -> None:
        conn.execute(insert(t.services).values(
            id=svc.id, version=1, name=svc.name, type=svc.type, postcode=svc.postcode, lat=svc.lat,
            lon=svc.lon, status=svc.status, data=svc.to_dict(), updated_at=now, updated_by=user))

    # -- change detection -----------------------------------------------------------------
    def directory_version(self) -> int:
        with self.engine.connect() as conn:
            return int(conn.execute(select(t.meta.c.value).where(t.meta.c.key == "directory_version")).scalar() or 0)

    @staticmethod
    def _bump(conn: Connection) -> None:
        res = conn.execute(update(t.meta).where(t.meta.c.key == "directory_version").values(value=t.meta.c.value + 1))
        if not res.rowcount:
            conn.execute(insert(t.meta).values(key="directory_version", value=1))

    # -- services -------------------------------------------------------------------------
    def _caps(self, conn: Connection) -> dict[str, Capacity]:
        return {r.service_id: Capacity(r.status, _aware(r.set_at), r.set_by, r.reset_minutes)
                for r in conn.execute(select(t.capacity))}

    def services(self) -> list[Service]:
        """Every usable service, by name; quarantined records are left out (see services_and_quarantine)."""
        return self.services_and_quarantine()[0]

    def services_and_quarantine(self) -> tuple[list[Service], list[Quarantined]]:
        """(usable services, records that fail the checks): one bad row never stops the others being read."""
        with self.engine.connect() as conn:
            caps = self._caps(conn)
            rows = conn.execute(select(t.services).order_by(t.services.c.name)).all()
        good: list[Service] = []
        bad: list[Quarantined] = []
        for r in rows:
            try:
                good.append(self._service(r, caps.get(r.id)))
            except Quarantined as q:
                bad.append(q)
        return good, bad

    @staticmethod
    def _service(row: Any, capacity: Capacity | None) -> Service:
        try:
            return service_from_dict(row.data, version=row.version, capacity=capacity)
        except ServiceError as exc:
            reasons = exc.errors
        except Exception as exc:  # a row no check foresaw: still isolated, never a crash of the whole read
            reasons = {"record": f"cannot be read ({exc.__class__.__name__}); edit or re-import it"}
        lat = row.lat if isinstance(row.lat, float) and math.isfinite(row.lat) else None
        lon = row.lon if isinstance(row.lon, float) and math.isfinite(row.lon) else None
        raise Quarantined(row.id, name=str(row.name)[:200], version=row.version, lat=lat, lon=lon, reasons=reasons,
                          data=row.data)

    def get(self, service_id: str) -> Service:
        with self.engine.connect() as conn:
            return self._get(conn, service_id)

    def _get(self, conn: Connection, service_id: str) -> Service:
        row = conn.execute(select(t.services).where(t.services.c.id == service_id)).first()
        if row is None:
            raise NotFound(service_id)
        cap = conn.execute(select(t.capacity).where(t.capacity.c.service_id == service_id)).first()
        capacity = Capacity(cap.status, _aware(cap.set_at), cap.set_by, cap.reset_minutes) if cap else None
        return self._service(row, capacity)

    def create(self, data: Mapping[str, Any], *, user: str) -> Service:
        svc = service_from_dict(data)
        with self.engine.begin() as conn:
            if conn.execute(select(t.services.c.id).where(t.services.c.id == svc.id)).first():
                raise ServiceError({"id": f"{svc.id!r} is already used by another service"})
            self._insert(conn, svc, user, utcnow())
            self._audit(conn, user, svc.id, "create", None, svc.to_dict())
            self._bump(conn)
        return self.get(svc.id)

    def update(self, service_id: str, data: Mapping[str, Any], *, expected_version: int, user: str,
               action: str = "update") -> Service:
        """Replace a service if nobody changed it since `expected_version`; else ConflictError."""
        merged = dict(data)
        merged["id"] = service_id
        svc = service_from_dict(merged)
        with self.engine.begin() as conn:
            old = conn.execute(select(t.services).where(t.services.c.id == service_id)).first()
            if old is None:
                raise NotFound(service_id)
            res = conn.execute(
                update(t.services)
                .where(t.services.c.id == service_id, t.services.c.version == expected_version)
                .values(version=t.services.c.version + 1, name=svc.name, type=svc.type, postcode=svc.postcode,
                        lat=svc.lat, lon=svc.lon, status=svc.status, data=svc.to_dict(),
                        updated_at=utcnow(), updated_by=user))
            if res.rowcount != 1:
                try:
                    current = self._get(conn, service_id)
                except Quarantined:
                    raise ServiceError({"version": "the record was changed by someone else; reload it and apply "
                                                   "your change again"}) from None
                raise ConflictError(current)
            new = svc.to_dict()
            changed_old = {k: v for k, v in old.data.items() if new.get(k) != v}
            changed_new = {k: new[k] for k in new if old.data.get(k) != new[k]}
            self._audit(conn, user, service_id, action, changed_old, changed_new)
            self._bump(conn)
        return self.get(service_id)

    def set_capacity(self, service_id: str, status: str, *, user: str, reset_minutes: int = 240,
                     at: datetime | None = None) -> Service:
        if status not in CAPACITY:
            raise ServiceError({"capacity": f"must be one of {', '.join(CAPACITY)}"})
        if not 15 <= int(reset_minutes) <= 24 * 60:
            raise ServiceError({"reset_minutes": "must be 15-1440 minutes"})
        at = at or utcnow()
        with self.engine.begin() as conn:
            old = self._get(conn, service_id).capacity
            conn.execute(delete(t.capacity).where(t.capacity.c.service_id == service_id))
            conn.execute(insert(t.capacity).values(service_id=service_id, status=status, set_at=at, set_by=user,
                                                   reset_minutes=int(reset_minutes)))
            self._audit(conn, user, service_id, "capacity", {"capacity": old.status},
                        {"capacity": status, "reset_minutes": int(reset_minutes)})
            self._bump(conn)
        return self.get(service_id)

    def confirm_verified(self, service_id: str, *, user: str, on: date | None = None) -> Service:
        svc = self.get(service_id)
        data = svc.to_dict()
        data["verified_on"] = (on or utcnow().date()).isoformat()
        return self.update(service_id, data, expected_version=svc.version, user=user, action="verify")

    # -- audit ----------------------------------------------------------------------------
    @staticmethod
    def _audit(conn: Connection, user: str, service_id: str | None, action: str, old: Any, new: Any) -> None:
        conn.execute(insert(t.audit).values(at=utcnow(), user=user, service_id=service_id, action=action,
                                            old=old, new=new))

    def audit_log(self, *, service_id: str | None = None, limit: int = 200) -> list[dict[str, Any]]:
        q = select(t.audit).order_by(t.audit.c.id.desc()).limit(limit)
        if service_id:
            q = q.where(t.audit.c.service_id == service_id)
        with self.engine.connect() as conn:
            return [dict(r._mapping, at=_aware(r.at)) for r in conn.execute(q)]

    def record(self, user: str, action: str, *, service_id: str | None = None, old: Any = None, new: Any = None) -> None:
        with self.engine.begin() as conn:
            self._audit(conn, user, service_id, action, old, new)

    # -- commissioner rankings ------------------------------------------------------------
    def local_rankings(self) -> dict[tuple[str, str], list[str]]:
        with self.engine.connect() as conn:
            return {(r.area, r.key): list(r.types) for r in conn.execute(select(t.rankings))}

    def set_ranking(self, area: str, key: str, types: Sequence[str], *, user: str) -> None:
        with self.engine.begin() as conn:
            old = conn.execute(select(t.rankings).where(t.rankings.c.area == area, t.rankings.c.key == key)).first()
            conn.execute(delete(t.rankings).where(t.rankings.c.area == area, t.rankings.c.key == key))
            if types:
                conn.execute(insert(t.rankings).values(area=area, key=key, types=list(types), updated_at=utcnow(),
                                                       updated_by=user))
            self._audit(conn, user, None, "ranking", {"area": area, "key": key, "types": list(old.types) if old else None},
                        {"area": area, "key": key, "types": list(types) or None})
            self._bump(conn)

    # -- gap log --------------------------------------------------------------------------
    def log_gaps(self, gaps: Sequence[tuple[str, str, str]], *, disposition: str, at: datetime | None = None) -> None:
        if not gaps:
            return
        at = at or utcnow()
        with self.engine.begin() as conn:
            conn.execute(insert(t.gaps), [{"at": at, "day": at.date().isoformat(), "service_id": s, "rule": r,
                                           "text": txt, "disposition": disposition} for s, r, txt in gaps])

    def gap_summary(self, *, days: int = 30) -> list[dict[str, Any]]:
        since = (utcnow() - timedelta(days=days)).date().isoformat()
        q = (select(t.gaps.c.day, t.gaps.c.service_id, t.gaps.c.rule, func.min(t.gaps.c.text).label("text"),
                    func.count().label("count"))
             .where(t.gaps.c.day >= since)
             .group_by(t.gaps.c.day, t.gaps.c.service_id, t.gaps.c.rule)
             .order_by(t.gaps.c.day.desc(), func.count().desc()))
        with self.engine.connect() as conn:
            return [dict(r._mapping) for r in conn.execute(q)]

    # -- scenarios ------------------------------------------------------------------------
    def scenarios(self) -> list[dict[str, Any]]:
        with self.engine.connect() as conn:
            return [dict(r._mapping) for r in conn.execute(select(t.scenarios).order_by(t.scenarios.c.name))]

    def save_scenario(self, name: str, spec: Mapping[str, Any], *, user: str) -> None:
        with self.engine.begin() as conn:
            conn.execute(delete(t.scenarios).where(t.scenarios.c.name == name))
            conn.execute(insert(t.scenarios).values(name=name, spec=dict(spec), created_at=utcnow(), created_by=user))
            self._audit(conn, user, None, "scenario", None, {"name": name, **dict(spec)})

    @contextmanager
    def connect(self) -> Iterator[Connection]:
        with self.engine.connect() as conn:
            yield conn

    def apply_import(self, services: Sequence[tuple[Service, int | None]], *, user: str, source: str) -> dict[str, int]:
        """Create or replace many services in ONE transaction: any version conflict rolls all back.

        Each item is (service, expected version or None); a given version must equal the stored
        one. Raises ServiceError keyed 'row N.version' naming every conflicting row."""
        created = updated = 0
        with self.engine.begin() as conn:
            errors: dict[str, str] = {}
            for n, (svc, expected) in enumerate(services, start=1):
                row = conn.execute(select(t.services.c.version).where(t.services.c.id == svc.id)).first()
                if row is not None and expected is not None and row.version != expected:
                    errors[f"row {n}.version"] = (f"{svc.id!r} was changed since this file was exported "
                                                  f"(version {expected}, now {row.version}); export again and re-apply")
            if errors:
                raise ServiceError(errors)
            now = utcnow()
            for svc, _ in services:
                old = conn.execute(select(t.services).where(t.services.c.id == svc.id)).first()
                new = svc.to_dict()
                if old is None:
                    self._insert(conn, svc, user, now)
                    self._audit(conn, user, svc.id, "import_create", None, new)
                    created += 1
                    continue
                if old.data == new:
                    continue
                conn.execute(update(t.services).where(t.services.c.id == svc.id).values(
                    version=t.services.c.version + 1, name=svc.name, type=svc.type, postcode=svc.postcode,
                    lat=svc.lat, lon=svc.lon, status=svc.status, data=new, updated_at=now, updated_by=user))
                self._audit(conn, user, svc.id, "import_update",
                            {k: v for k, v in old.data.items() if new.get(k) != v},
                            {k: new[k] for k in new if old.data.get(k) != new[k]})
                updated += 1
            self._audit(conn, user, None, "import", None, {"source": source, "rows": len(services),
                                                           "created": created, "updated": updated})
            if created or updated:
                self._bump(conn)
        return {"rows": len(services), "created": created, "updated": updated,
                "unchanged": len(services) - created - updated}

    def save_whatif(self, name: str, spec: Mapping[str, Any], result: Mapping[str, Any], *, user: str) -> int:
        """Save (or replace) a named what-if and its result, audited in the same transaction."""
        with self.engine.begin() as conn:
            replaced = conn.execute(delete(t.whatif_scenarios).where(t.whatif_scenarios.c.name == name)).rowcount
            new_id = int(conn.execute(insert(t.whatif_scenarios).values(
                name=name, spec=dict(spec), result=dict(result), created_at=utcnow(), created_by=user))
                .inserted_primary_key[0])
            self._audit(conn, user, None, "whatif_save", {"name": name} if replaced else None,
                        {"name": name, "id": new_id, "changes": spec.get("changes")})
        return new_id

    def whatifs(self) -> list[dict[str, Any]]:
        with self.engine.connect() as conn:
            return [dict(r._mapping) for r in
                    conn.execute(select(t.whatif_scenarios).order_by(t.whatif_scenarios.c.id.desc()))]

    def delete_scenario(self, name: str, *, user: str) -> None:
        with self.engine.begin() as conn:
            conn.execute(delete(t.scenarios).where(t.scenarios.c.name == name))
            self._audit(conn, user, None, "scenario_delete", {"name": name}, None)

    def seed_scenarios(self, specs: Sequence[tuple[str, Mapping[str, Any]]], *, user: str = "bundled-data") -> int:
        """Load the bundled scenarios once per database (deleted ones are not brought back)."""
        from sqlalchemy.exc import IntegrityError
        try:
            with self.engine.begin() as conn:
                if conn.execute(select(t.meta.c.value).where(t.meta.c.key == "scenarios_seeded")).first():
                    return 0
                conn.execute(insert(t.meta).values(key="scenarios_seeded", value=1))
                now = utcnow()
                have = {r.name for r in conn.execute(select(t.scenarios.c.name))}
                n = 0
                for name, spec in specs:
                    if name not in have:
                        conn.execute(insert(t.scenarios).values(name=name, spec=dict(spec), created_at=now,
                                                               created_by=user))
                        n += 1
                return n
        except IntegrityError:  # another worker seeded them at the same moment
            return 0
