"""The application service: triage a call, locate the caller, and search the directory by road."""
from __future__ import annotations

import threading
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from functools import cached_property
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from directory.model import REQUESTER_ROLES, SERVICE_TYPES, Service
from directory.rankings import Rankings
from directory.search import Need, Origin, Patient, SearchOptions, search
from accounts import Accounts
from directory.store import Store
from geodata import Geo, Location, LocationError, PostcodeError
from triage import Case, CaseError, Engine, Outcome, load_rules, match_complaints, tied
from uec.config import Settings
from uec.directory_service import DirectoryService
from uec.intelligence.outcomes import outcome_log
from uec.inputs import (InputError, check_unknown, parse_age, parse_at, parse_limit, parse_sex,
                        require_object)

API_VERSION = "1"
MAX_COMPLAINTS = 6
MAX_COMPLAINT_TEXT = 500
_INF = float("inf")


@dataclass(frozen=True)
class _Travel:
    minutes: float
    km: float


@dataclass
class Snapshot:
    """An immutable view of the directory for routing, rebuilt when the database version moves."""
    version: int
    services: tuple[Service, ...]
    by_id: dict[str, Service]
    rankings: Rankings
    fields: Any  # geodata.routing.TravelFields
    built_at: float
    service_targets: tuple[tuple[str, tuple[int, ...]], ...] = ()  # service id -> its targets' indices in fields
    quarantined: tuple[Any, ...] = ()  # directory.store.Quarantined: records left out of routing, with reasons

    @cached_property
    def targets_of(self) -> dict[str, tuple[int, ...]]:
        return dict(self.service_targets)


class _TravelMap(Mapping[str, _Travel]):
    """Road travel from one caller to each service (its quickest base for a mobile team), read from
    the gathered minutes and kilometres only for the services a search asks about."""

    __slots__ = ("_mins", "_kms", "_targets")

    def __init__(self, mins: list[float], kms: list[float], targets: dict[str, tuple[int, ...]]):
        self._mins, self._kms, self._targets = mins, kms, targets

    def get(self, sid: str, default: Any = None) -> Any:
        idxs = self._targets.get(sid)
        if idxs is None:
            return default
        mins = self._mins
        best = None
        for i in idxs:
            m = mins[i]
            if m < _INF and (best is None or m < mins[best]):
                best = i
        return default if best is None else _Travel(mins[best], self._kms[best])

    def __getitem__(self, sid: str) -> _Travel:
        t = self.get(sid)
        if t is None:
            raise KeyError(sid)
        return t

    def __contains__(self, sid: object) -> bool:
        return isinstance(sid, str) and self.get(sid) is not None

    def __iter__(self) -> Iterator[str]:
        return (sid for sid in self._targets if self.get(sid) is not None)

    def __len__(self) -> int:
        return sum(1 for _ in self)


class UrgentCare:
    """Everything the web layer and the CLI call. Knows no HTTP."""

    def __init__(self, settings: Settings, *, store: Store | None = None, geo: Geo | None = None,
                 rules_dir: Path | None = None, accounts: Accounts | None = None):
        self.settings = settings
        self.store = store or Store(settings.database_url)
        self.accounts = accounts or Accounts(self.store.engine)
        self.geo = geo or Geo()
        self.rules = load_rules(rules_dir)
        self.engine = Engine(self.rules)
        self.base_rankings = Rankings.load()
        self.directory = DirectoryService(self.store, geo=self.geo, base_rankings=self.base_rankings)
        self._init_background()
        self.recorder = outcome_log(self)

    # -- directory snapshot ---------------------------------------------------------------
    def initialise(self) -> int:
        """Migrate the accounts and the directory (loading the bundled LSC data into an empty one)."""
        from directory import scenarios as sc
        self.accounts.migrate()
        added = self.store.initialise()
        # the bundled scenarios are seeded once here, at start-up, never by a page read
        self.store.seed_scenarios([(x.name, x.spec()) for x in sc.load_file(dispositions=self.rules.dispositions)])
        return added

    def _init_background(self) -> None:
        """Per-process background machinery: the snapshot poller, the gap-log writer, their engines."""
        from uec.background import make_engine
        from uec.gaplog import GapLog
        from uec.refresh import Refresher
        st = self.settings
        timeouts = dict(connect_timeout_s=st.db_connect_timeout_s, statement_timeout_ms=st.db_statement_timeout_ms)
        self._primary_engine = make_engine(st.database_url, **timeouts)
        read_url = st.database_read_url or st.database_url
        self.read_store = Store(read_url) if st.database_read_url else self.store
        self._read_engine = make_engine(read_url, **timeouts) if st.database_read_url else self._primary_engine
        self._behind_since: float | None = None
        self.gap_log = GapLog(self._primary_engine, retention_days=st.gap_retention_days,
                              near_minutes=st.gap_near_minutes)
        self._refresher: Refresher[Snapshot] = Refresher(latest=self._latest_version, build=self._build,
                                                         interval_s=st.refresh_seconds)

    def stop_background(self, timeout: float = 5.0) -> None:
        """Stop polling, write what the gap log holds, close the background engines (tests, shutdown)."""
        self._refresher.stop(timeout)
        self.gap_log.writer.close(timeout)
        for engine in {self._primary_engine, self._read_engine}:
            engine.dispose()

    def snapshot(self) -> Snapshot:
        """The routing view. Never touches the database after the first build in a process: a
        daemon thread checks the version every `refresh_seconds` and swaps in a rebuilt snapshot,
        while the old one keeps answering (also while the database is frozen or down)."""
        return self._refresher.get()

    def refresh_snapshot(self) -> Snapshot:
        """Check the database version now and rebuild if it moved (CLI, tests, after a local write)."""
        return self._refresher.refresh_now()

    def snapshot_status(self) -> dict[str, Any]:
        snap = self._refresher.current
        return {**self._refresher.status(), "directory_version": snap.version if snap else None,
                "gap_log": self.gap_log.writer.stats(),
                "reads_from": "replica" if self.read_store is not self.store else "primary"}

    @staticmethod
    def _version_on(engine) -> int:
        from sqlalchemy import select
        from directory import tables as t
        with engine.connect() as conn:
            return int(conn.execute(select(t.meta.c.value).where(t.meta.c.key == "directory_version")).scalar() or 0)

    def _latest_version(self) -> tuple[int, Store, bool]:
        """(version, store to build from, authoritative). A replica more than `replica_max_lag_s`
        behind the primary is bypassed, so a lagging replica delays an edit by a bounded time."""
        version = self._version_on(self._read_engine)
        if self.read_store is self.store:
            return version, self.store, True
        try:
            primary = self._version_on(self._primary_engine)
        except Exception:  # primary unreachable: the replica is the best view there is
            return version, self.read_store, False
        if primary <= version:
            self._behind_since = None
            return version, self.read_store, False
        now = time.monotonic()
        self._behind_since = self._behind_since or now
        if now - self._behind_since >= self.settings.replica_max_lag_s:
            return primary, self.store, True
        return version, self.read_store, False

    def _build(self, version: int, store: Store | None = None) -> Snapshot:
        from geodata.routing import TravelFields
        store = store or self.read_store
        usable, quarantined = store.services_and_quarantine()  # a bad record is left out, never fatal
        services = tuple(usable)
        targets, mobile = {}, set()
        for s in services:
            if s.mobile:
                for i, b in enumerate(s.mobile_bases):
                    key = f"{s.id}#base{i}"
                    targets[key] = (b.lat, b.lon)
                    mobile.add(key)
            else:
                targets[s.id] = (s.lat, s.lon)
        fields = TravelFields.build(self.geo.network, targets, mobile=mobile,
                                    cache_dir=self.settings.var_dir / "travel-cache")
        rankings = self.base_rankings.with_local(store.local_rankings())
        service_targets = tuple(
            (s.id, tuple(fields.index_of(f"{s.id}#base{i}") for i in range(len(s.mobile_bases)))
             if s.mobile else (fields.index_of(s.id),)) for s in services)
        return Snapshot(version, services, {s.id: s for s in services}, rankings, fields, time.time(),
                        service_targets, tuple(quarantined))

    def travel_from(self, snap: Snapshot, loc: Location) -> Mapping[str, _Travel]:
        """Road travel to every reachable service from one gathered read of the fields (a mobile team:
        its quickest base); each service's figure is picked out when a search asks for it."""
        minutes, km = snap.fields.travel_arrays(loc.lat, loc.lon)
        return _TravelMap(minutes.tolist(), km.tolist(), snap.targets_of)

    # -- location -------------------------------------------------------------------------
    def locate(self, value: Any, errors: dict[str, str], suggestions: list[str] | None = None) -> Location | None:
        """Resolve a request's location; problems go into `errors`, ranked alternatives into `suggestions`."""
        if value is None:
            return None
        if not isinstance(value, Mapping):
            errors["location"] = "must be an object: {\"postcode\": ...}, {\"place\": ...} or {\"lat\": .., \"lon\": ..}"
            return None
        bad = set(value) - {"postcode", "place", "lat", "lon"}
        if bad:
            errors["location"] = f"unknown keys {sorted(bad)}; use postcode, place, or lat and lon"
            return None
        try:
            return self.geo.locate(postcode=value.get("postcode"), place=value.get("place"),
                                   lat=value.get("lat"), lon=value.get("lon"))
        except (LocationError, PostcodeError) as exc:
            errors[exc.field] = str(exc)
            if suggestions is not None:
                suggestions.extend(getattr(exc, "suggestions", None) or [])
            return None

    # -- triage ---------------------------------------------------------------------------
    def triage(self, body: Any) -> dict[str, Any]:
        body = require_object(body)
        errors: dict[str, str] = {}
        check_unknown(body, {"age", "sex", "complaint", "complaints", "answers", "vitals", "location", "at",
                             "requester_role", "limit"}, errors)
        age = parse_age(body.get("age"), errors, required=True)
        sex = parse_sex(body.get("sex"), errors, required=True)
        at = parse_at(body.get("at"), errors)
        limit = parse_limit(body.get("limit"), errors)
        role = self._role(body.get("requester_role"), errors)
        answers = body.get("answers") or {}
        vitals = body.get("vitals") or {}
        if not isinstance(answers, Mapping):
            errors["answers"] = "must be an object of question id to answer"
            answers = {}
        if not isinstance(vitals, Mapping):
            errors["vitals"] = "must be an object of vital sign to value"
            vitals = {}
        texts = self._complaint_texts(body, errors)
        errors.update(self.engine._vital_errors(vitals))  # every bad field in one answer
        suggestions: list[str] = []
        location = self.locate(body.get("location"), errors, suggestions)
        if errors:
            raise InputError(errors, extra={"suggestions": suggestions} if suggestions else None)
        ids, matched_from = self._match(texts, age, sex)
        try:
            result = self.engine.evaluate(Case(complaints=tuple(ids), age=age, sex=sex, answers=dict(answers),
                                               vitals=dict(vitals)))
        except CaseError as exc:
            raise InputError(exc.errors) from None
        complaint = self.rules.complaints[ids[0]]
        head = {"api_version": API_VERSION, "complaint": complaint.as_dict(),
                "complaints": [self.rules.complaints[i].as_dict() | matched_from.get(i, {}) for i in ids]}
        head["complaint"].update(matched_from.get(ids[0], {}))
        if not isinstance(result, Outcome):
            return {**head, "status": "question", "question": result.as_dict(),
                    "answered": len(answers)}
        out = {**head, "status": "complete", "outcome": result.as_dict()}
        if location is not None:
            out.update(self._route(result.disposition.code, location, at, Patient(age, sex), role, limit))
            self.recorder.outcome("triage", out, age=age)
        else:
            out["services"] = []
            out["note"] = "give a location to get the nearest appropriate open services"
        return out

    @staticmethod
    def _complaint_texts(body: Mapping[str, Any], errors: dict[str, str]) -> list[str]:
        """The caller's complaint(s): `complaints` (a list of ids or words) and/or `complaint`."""
        texts: list[str] = []
        many = body.get("complaints")
        if many is not None:
            if not isinstance(many, list) or not 1 <= len(many) <= MAX_COMPLAINTS or not all(
                    isinstance(t, str) and t.strip() and len(t) <= MAX_COMPLAINT_TEXT for t in many):
                errors["complaints"] = (f"must be a list of 1 to {MAX_COMPLAINTS} complaint ids or caller's words "
                                        f"(each up to {MAX_COMPLAINT_TEXT} characters)")
            else:
                texts += many
        one = body.get("complaint")
        if one is not None or many is None:
            if not isinstance(one, str) or not one.strip():
                errors["complaint"] = ("is required (or send complaints): a complaint id (GET /api/v1/complaints) "
                                       "or the caller's words")
            elif len(one) > MAX_COMPLAINT_TEXT:
                errors["complaint"] = f"must be at most {MAX_COMPLAINT_TEXT} characters"
            else:
                texts.insert(0, one)
        return texts

    def _match(self, texts: list[str], age: float, sex: str) -> tuple[list[str], dict[str, dict[str, Any]]]:
        """Complaint ids for the caller's words; a tie is an InputError offering the candidates to send all."""
        ids: list[str] = []
        matched_from: dict[str, dict[str, Any]] = {}
        ties: list[tuple[str, list]] = []
        for text in texts:
            found, candidates = match_complaints(text, self.rules, age=age, sex=sex)
            if not found:
                ties.append((text, candidates))
            for m in found:
                if m.id not in ids:
                    ids.append(m.id)
                    if m.id != text:
                        matched_from[m.id] = {"matched_from": text, "match_score": m.score}
        if ties:
            text, candidates = ties[0]
            send = list(dict.fromkeys(ids + [c.id for _, cs in ties for c in tied(cs)]))[:MAX_COMPLAINTS]
            raise InputError({"complaint": f"{text!r} does not clearly match one complaint; choose one or more of "
                                           "the candidates, or send them all as `complaints`"},
                             extra={"candidates": [{"id": c.id, "title": c.title, "score": c.score}
                                                   for c in candidates],
                                    "send_all": {"complaints": send}})
        return ids[:MAX_COMPLAINTS], matched_from

    # -- route ----------------------------------------------------------------------------
    def route(self, body: Any, *, default_role: str = "nhs111", trusted: bool = False) -> dict[str, Any]:
        body = require_object(body)
        errors: dict[str, str] = {}
        check_unknown(body, {"disposition", "location", "age", "sex", "at", "limit", "requester_role",
                             "include_geometry"}, errors)
        geometry = body.get("include_geometry", False)
        if not isinstance(geometry, bool):
            errors["include_geometry"] = "must be true or false"
        code = body.get("disposition")
        if not isinstance(code, str) or code not in self.rules.dispositions:
            errors["disposition"] = "must be a disposition code from GET /api/v1/dispositions"
        age = parse_age(body.get("age"), errors, required=False)
        sex = parse_sex(body.get("sex"), errors, required=False)
        at = parse_at(body.get("at"), errors)
        limit = parse_limit(body.get("limit"), errors)
        role = self._role(body.get("requester_role", default_role), errors)
        if body.get("location") is None:
            errors["location"] = "is required: {\"postcode\": \"PR1 8XJ\"} or {\"lat\": .., \"lon\": ..}"
        suggestions: list[str] = []
        location = self.locate(body.get("location"), errors, suggestions)
        if errors:
            raise InputError(errors, extra={"suggestions": suggestions} if suggestions else None)
        out = self._route(code, location, at, Patient(age, sex), role, limit, trusted=trusted)
        self.recorder.outcome("route", out, age=age)
        if geometry:
            for svc in out["services"]:
                if svc.get("travel_direction") != "phone":
                    svc["geometry"] = [[round(a, 5), round(b, 5)] for a, b in self.route_geometry(svc["id"], location)]
        return {"api_version": API_VERSION, **out}

    @staticmethod
    def _role(value: Any, errors: dict[str, str]) -> str:
        if value is None:
            return "nhs111"
        if not isinstance(value, str) or value not in REQUESTER_ROLES:
            errors["requester_role"] = f"must be one of {', '.join(sorted(REQUESTER_ROLES))}"
            return "nhs111"
        return value

    def _route(self, code: str, location: Location, at: datetime, patient: Patient, role: str,
               limit: int, *, trusted: bool = False) -> dict[str, Any]:
        d = self.rules.dispositions[code]
        snap = self.snapshot()
        travel = self.travel_from(snap, location)
        result = search(snap.services, Need(code, d.cls, d.within_minutes, d.label), 
                        Origin(location.lat, location.lon, location.lad_code, location.place), at,
                        travel=travel, rankings=snap.rankings, patient=patient, requester_role=role,
                        options=SearchOptions(limit=limit,
                                              capacity_stale_after=timedelta(hours=self.settings.capacity_stale_hours)))
        self.gap_log.record(result.gaps, disposition=code, at=at, trusted=trusted)  # queued, never blocks
        out: dict[str, Any] = {
            "location": location.as_dict(),
            "at": at.isoformat(),
            "disposition": d.as_dict(),
            "requester_role": role,
            "services": result.services,
            "excluded": result.excluded,
            "ranking": result.ranking.as_dict(),
            "catch_all": result.catch_all,
            "directory_version": snap.version,
        }
        if result.escalation:
            out["escalation"] = result.escalation
        if result.notes:
            out["notes"] = result.notes
        if not location.in_lsc:
            out.setdefault("notes", []).append("The caller is outside Lancashire and South Cumbria: "
                                               "services shown are the nearest LSC and border options.")
        return out

    # -- shared intelligence ---------------------------------------------------------------
    def coverage(self, service_type: str, *, at: datetime | None = None,
                 thresholds: tuple[float, ...] = (15, 30, 45, 60)) -> dict[str, Any]:
        """Share of people (and of the most deprived fifth) within N minutes by road of a service
        of `service_type` that is open when they would arrive at `at`."""
        from uec.intelligence.coverage import coverage_figures  # cached per directory version and slot
        return coverage_figures(self, service_type, at=at or utcnow(), thresholds=thresholds)

    # -- catalogues -----------------------------------------------------------------------
    def complaints(self) -> list[dict[str, Any]]:
        return [c.as_dict() | {"synonyms": list(c.synonyms), "sources": list(c.sources)}
                for c in sorted(self.rules.complaints.values(), key=lambda c: c.title)]

    def dispositions(self) -> list[dict[str, Any]]:
        return [d.as_dict() for d in sorted(self.rules.dispositions.values(), key=lambda d: d.urgency)]

    def service_types(self) -> dict[str, str]:
        return dict(SERVICE_TYPES)

    def route_geometry(self, service_id: str, location: Location) -> list[tuple[float, float]]:
        snap = self.snapshot()
        s = snap.by_id[service_id]
        if s.remote:
            return []
        keys = [f"{s.id}#base{i}" for i in range(len(s.mobile_bases))] if s.mobile else [s.id]
        if len(keys) > 1:  # the base the team comes from: the quickest one
            times = snap.fields.travel(location.lat, location.lon, ids=keys)
            keys = sorted(times, key=lambda k: times[k].minutes)[:1] or keys[:1]
        line = snap.fields.route(location.lat, location.lon, keys[0])
        point = (location.lat, location.lon)
        return list(line) if line else [point]


def utcnow() -> datetime:
    return datetime.now(timezone.utc)
