"""What-if scenarios: close, open or re-time a service or add a site, on a copy of the directory, never the live one."""
from __future__ import annotations

import math
import time as _time
from collections import defaultdict
from dataclasses import replace
from datetime import date, datetime, time, timedelta, timezone
from typing import Any, Mapping, Sequence

import numpy as np
from sqlalchemy import extract, func, select

from directory import tables as t
from directory.model import SERVICE_TYPES, Service, ServiceError, service_from_dict
from directory.opening import DAYS, LONDON, OpeningError, OpeningTimes, is_bank_holiday
from directory.search import Need, Origin, Patient, SearchOptions, accepts, search
from geodata.areas import PLACE_OF_LAD, PLACES, Areas
from uec.inputs import InputError
from uec.intelligence import coverage as cov
from uec.intelligence.outcomes import band_age

MAX_CHANGES = 10
MAX_WEEKS = 12
SLOTS = {"day": time(14), "night": time(3)}


def _hours(value: Any, field: str) -> OpeningTimes:
    """Opening hours from {"always": true}, a weekly dict, or text like 'daily 08:00-20:00' / 'closed'."""
    if isinstance(value, str):
        text = value.strip().lower()
        if text in ("24/7", "always"):
            value = {"always": True}
        elif text == "closed":
            value = {"weekly": {}}
        else:
            day, _, sessions = text.partition(" ")
            value = {"weekly": {day: [x.strip() for x in sessions.split(",") if x.strip()]}}
    try:
        return OpeningTimes.from_dict(value, field=field)
    except OpeningError as exc:
        raise InputError({field: str(exc)}) from None


class Scenario:
    """A parsed scenario: the changed copy of the directory and of the travel fields."""

    def __init__(self, care: Any, changes: Any):
        self.care = care
        self.snap = care.snapshot()
        if not isinstance(changes, list) or not changes:
            raise InputError({"changes": "must be a non-empty list like [{\"service\": \"rph-utc\", \"close\": true}]"})
        if len(changes) > MAX_CHANGES:
            raise InputError({"changes": f"at most {MAX_CHANGES} changes in one scenario"})
        services = {s.id: s for s in self.snap.services}
        errors: dict[str, str] = {}
        self.changed: list[str] = []
        self.added: list[Service] = []
        self.described: list[dict[str, Any]] = []
        for i, ch in enumerate(changes):
            key = f"changes[{i}]"
            if not isinstance(ch, Mapping):
                errors[key] = "must be an object"
                continue
            if "add" in ch:
                svc = self._added(ch["add"], i, errors)
                if svc:
                    self.added.append(svc)
                    services[svc.id] = svc
                    self.described.append({"add": {"id": svc.id, "type": svc.type, "postcode": svc.postcode,
                                                   "name": svc.name, "hours": svc.opening.to_dict()}})
                continue
            sid = ch.get("service")
            if not isinstance(sid, str) or sid not in services:
                errors[f"{key}.service"] = "must be the id of a service in the directory (GET /api/v1/services)"
                continue
            unknown = set(ch) - {"service", "close", "open", "hours"}
            if unknown or not (set(ch) & {"close", "open", "hours"}):
                errors[key] = "give the service and one of close: true, open: true or hours: {...}"
                continue
            s = services[sid]
            if ch.get("close") is True:
                s = replace(s, status="closed", closed_reason="what-if")
            if ch.get("open") is True:
                s = replace(s, status="active", closed_from=None, closed_until=None, closed_reason=None)
            if "hours" in ch:
                try:
                    s = replace(s, opening=_hours(ch["hours"], f"{key}.hours"))
                except InputError as exc:
                    errors.update(exc.errors)
                    continue
            services[sid] = s
            self.changed.append(sid)
            self.described.append({k: v for k, v in ch.items()})
        if errors:
            raise InputError(errors)
        self.services = tuple(services.values())
        self.fields = self._fields() if self.added else self.snap.fields
        self.types = sorted({services[sid].type for sid in self.changed} | {s.type for s in self.added})

    def _added(self, raw: Any, i: int, errors: dict[str, str]) -> Service | None:
        key = f"changes[{i}].add"
        if not isinstance(raw, Mapping):
            errors[key] = "must be an object like {\"type\": \"urgent_treatment_centre\", \"postcode\": \"FY8 2AN\"}"
            return None
        stype = raw.get("type")
        if stype not in SERVICE_TYPES:
            errors[f"{key}.type"] = f"must be one of {', '.join(SERVICE_TYPES)}"
            return None
        try:
            loc = self.care.geo.locate(postcode=raw.get("postcode"))
        except Exception as exc:
            errors[f"{key}.postcode"] = f"{exc} (a postcode in or near LSC)"
            return None
        try:
            opening = _hours(raw.get("hours", {"always": True}), f"{key}.hours")
            return service_from_dict({
                "id": f"whatif-new-{i + 1}", "name": str(raw.get("name") or f"New {SERVICE_TYPES[stype]} ({loc.postcode})")[:200],
                "type": stype, "provider": "what-if scenario", "address": loc.label or "", "postcode": loc.postcode,
                "lat": round(loc.lat, 6), "lon": round(loc.lon, 6), "opening": opening.to_dict(), "verified_on": date.today().isoformat()})
        except InputError as exc:
            errors.update(exc.errors)
        except ServiceError as exc:
            errors.update({f"{key}.{k}": v for k, v in exc.errors.items()})
        return None

    def _fields(self):
        """The live travel fields plus one for each added site (computed once, then cached on disk)."""
        from geodata.routing import TravelFields
        live = self.snap.fields
        targets = dict(live.targets)
        for s in self.added:
            targets[s.id] = (s.lat, s.lon)
        return TravelFields.build(live.network, targets, mobile=live.mobile, cache_dir=live.cache_dir)


# -- who gains and who loses ---------------------------------------------------------------------
def _next(day_index: int, clock: time) -> datetime:
    d = datetime.now(LONDON).date() + timedelta(days=1)
    while d.weekday() != day_index or is_bank_holiday(d):
        d += timedelta(days=1)
    return datetime.combine(d, clock, tzinfo=LONDON)


def access(sc: Scenario, *, threshold: float) -> dict[str, Any]:
    """Per changed type, day (Wed 14:00) and night (Wed 03:00): people who come within or fall outside
    `threshold` road minutes of an open service, and whose nearest one gets nearer or further, per place."""
    rows = Areas.default().lsoas()
    pop = np.array([r.population for r in rows])
    dep = np.array([r.imd_income_rank <= 6569 for r in rows])
    places = np.array([r.place for r in rows])
    out: dict[str, Any] = {}
    for stype in sc.types:
        out[stype] = {}
        for slot, clock in SLOTS.items():
            at = _next(2, clock)
            codes, before, _ = cov.minutes_now(sc.care, stype, at)
            after = cov.lsoa_minutes(sc.services, sc.fields, stype, cov.slot_of(at))
            b = np.where(np.isnan(before), np.inf, before)
            a = np.where(np.isnan(after), np.inf, after)
            gain = (b > threshold) & (a <= threshold)
            lose = (b <= threshold) & (a > threshold)
            nearer = a < b - 1.0
            further = a > b + 1.0

            def summary(mask) -> dict[str, Any]:
                return {"gain_population": round(float(pop[mask & gain].sum())),
                        "gain_deprived_population": round(float(pop[mask & gain & dep].sum())),
                        "lose_population": round(float(pop[mask & lose].sum())),
                        "lose_deprived_population": round(float(pop[mask & lose & dep].sum())),
                        "nearer_population": round(float(pop[mask & nearer].sum())),
                        "further_population": round(float(pop[mask & further].sum())),
                        "lsoas_changed": int((mask & (nearer | further)).sum())}
            everyone = np.ones(len(rows), dtype=bool)
            out[stype][slot] = {"at": at.isoformat(), "overall": summary(everyone),
                                "places": {p: summary(places == p) for p in PLACES}}
    return out


# -- replaying the outcome log -------------------------------------------------------------------
def _affected_dispositions(sc: Scenario) -> list[str]:
    """Disposition codes whose answers a changed or added service could enter (EDs: every code, via the catch-all)."""
    if "emergency_department" in sc.types:
        return sorted(sc.care.rules.dispositions)
    ids = set(sc.changed) | {s.id for s in sc.added}
    svcs = [s for s in sc.services if s.id in ids]
    out = []
    for code, d in sc.care.rules.dispositions.items():
        need = Need(code, d.cls, d.within_minutes, d.label)
        for place in (None, *PLACES):
            ranking = sc.snap.rankings.applied(code, d.cls, (place,) if place else ())
            if any(accepts(s, need, ranking) is not None for s in svcs):
                out.append(code)
                break
    return out


def _affected_lsoas(sc: Scenario, *, reach_minutes: float = 120.0) -> list[str]:
    """LSOAs within `reach_minutes` by road of a changed or added site (phone services: all)."""
    pts = cov._points_for(sc.fields.network)
    mask = np.zeros(len(pts.codes), dtype=bool)
    ids = set(sc.changed) | {s.id for s in sc.added}
    for s in sc.services:
        if s.id not in ids:
            continue
        if s.remote:
            return list(pts.codes)
        keys = [f"{s.id}#base{i}" for i in range(len(s.mobile_bases))] if s.mobile else [s.id]
        for k in keys:
            f = sc.fields._fields.get(k)
            if f is not None:
                secs = np.asarray(f[pts.nodes, 0], dtype=np.float64)
                mask |= np.isfinite(secs) & (secs / 60.0 <= reach_minutes)
    return [c for c, m in zip(pts.codes, mask) if m]


def _touched_times(sc: Scenario) -> set[tuple[int, int]] | None:
    """(weekday, hour) pairs at which a re-timed service's opening differs in the next 4 hours;
    None when any change (a close, an opening, a new site) can matter at every time."""
    if sc.added or any(set(ch) != {"service", "hours"} for ch in sc.described):
        return None
    live = {s.id: s for s in sc.snap.services}
    new = {s.id: s for s in sc.services}
    out = set()
    for dow in range(7):
        for hour in range(24):
            at = _next(dow, time(hour))
            steps = [at + timedelta(minutes=15 * k) for k in range(17)]
            if any(live[sid].opening.is_open(x) != new[sid].opening.is_open(x) for sid in sc.changed for x in steps):
                out.add((dow, hour))
    return out


def replay(sc: Scenario, *, weeks: int, now: datetime | None = None, max_groups: int = 1000) -> dict[str, Any]:
    """Re-run the last `weeks` of logged answers that the change could touch, on the live directory and on
    the scenario (from each LSOA's centroid at the same weekday and hour), and count what would change."""
    started = _time.perf_counter()
    now = now or datetime.now(timezone.utc)
    since = now - timedelta(weeks=weeks)
    o = t.outcomes
    codes = _affected_dispositions(sc)
    lsoas = _affected_lsoas(sc)
    where = [o.c.hour >= since, o.c.disposition.in_(codes or [""]), o.c.lsoa.in_(lsoas or [""])]
    closes_only = not sc.added and all(ch.get("close") is True and set(ch) == {"service", "close"}
                                       for ch in sc.described)
    if closes_only:  # closing a service changes only answers that offered it
        from sqlalchemy import String, or_
        where.append(or_(*[o.c.offered.cast(String).like(f'%"{sid}"%') for sid in sc.changed]))
    with sc.care.store.engine.connect() as conn:
        total = conn.execute(select(func.count()).select_from(o).where(o.c.hour >= since)).scalar() or 0
        dow = extract("dow", o.c.day)  # 0 = Sunday, in PostgreSQL and SQLite alike
        rows = conn.execute(
            select(o.c.lsoa, o.c.lad, o.c.disposition, o.c.age_band, o.c.role, dow, o.c.local_hour, func.count())
            .where(*where)
            .group_by(o.c.lsoa, o.c.lad, o.c.disposition, o.c.age_band, o.c.role, dow, o.c.local_hour)).all()
    touched = _touched_times(sc)
    groups: dict[tuple, int] = defaultdict(int)  # the weekday and hour decide opening: fold the days
    for lsoa, lad, disp, band, role, sunday0, hour, n in rows:
        dow = (int(sunday0) + 6) % 7  # Python's Monday = 0
        if touched is None or (dow, hour) in touched:
            groups[(lsoa, lad, disp, band, role, dow, hour)] += n
    candidates = sum(groups.values())
    sampled = len(groups) > max_groups
    if sampled:  # a uniform random sample of the distinct answers, scaled up: an estimate, said so
        import random
        keys = sorted(groups)
        random.Random(13).shuffle(keys)
        groups = {k: groups[k] for k in keys[:max_groups]}
    scale = candidates / max(sum(groups.values()), 1) if sampled else 1.0
    centroids = {r.code: r for r in Areas.default().lsoas()}
    used = sorted({k[0] for k in groups if k[0] in centroids})
    live_travel = cov.travel_by_lsoa(sc.snap.fields, used)
    new_travel = live_travel if sc.fields is sc.snap.fields else cov.travel_by_lsoa(sc.fields, used)
    when: dict[tuple[int, int], datetime] = {}
    changed = first_changed = more_ed = fewer_ed = replayed = 0
    by_place: dict[str, dict[str, int]] = defaultdict(lambda: {"replayed": 0, "changed": 0, "more_to_ed": 0, "fewer_to_ed": 0})
    moves: dict[tuple, int] = defaultdict(int)
    added_ids = {s.id for s in sc.added}
    closed_ids = set(sc.changed) if closes_only else set()
    for (lsoa, lad, disp, band, role, dow, hour), n in groups.items():
        r = centroids.get(lsoa)
        if r is None:
            continue
        at = when.get((dow, hour)) or when.setdefault((dow, hour), _next(dow, time(hour)))
        d = sc.care.rules.dispositions[disp]
        need = Need(disp, d.cls, d.within_minutes, d.label)
        origin = Origin(r.lat, r.lon, lad, PLACE_OF_LAD.get(lad or ""))
        patient = Patient(band_age(band), None)
        role = role if role in ("public", "walk_in", "nhs111", "call_handler", "nwas", "nwas_clinician", "gp", "professional") else "nhs111"
        kw = dict(rankings=sc.snap.rankings, patient=patient, requester_role=role, options=SearchOptions())
        # a new site the scenario answer does not offer leaves it as it was, and so does closing a
        # service the live answer does not offer: one search is enough then
        if added_ids and not sc.changed:
            after = search(sc.services, need, origin, at, travel=new_travel[lsoa], **kw)
            before = after if not added_ids & {x["id"] for x in after.services} else \
                search(sc.snap.services, need, origin, at, travel=live_travel[lsoa], **kw)
        else:
            before = search(sc.snap.services, need, origin, at, travel=live_travel[lsoa], **kw)
            after = before if closed_ids and not closed_ids & {x["id"] for x in before.services} else \
                search(sc.services, need, origin, at, travel=new_travel[lsoa], **kw)
        replayed += n
        place = PLACE_OF_LAD.get(lad or "", "outside LSC")
        bp = by_place[place]
        bp["replayed"] += n
        b_ids = [s["id"] for s in before.services]
        a_ids = [s["id"] for s in after.services]
        if b_ids != a_ids:
            changed += n
            bp["changed"] += n
        b_first = before.services[0] if before.services else None
        a_first = after.services[0] if after.services else None
        if (b_first or {}).get("id") != (a_first or {}).get("id"):
            first_changed += n
            moves[(disp, (b_first or {}).get("name", "nothing"), (a_first or {}).get("name", "nothing"))] += n
        b_ed = (b_first or {}).get("type") == "emergency_department"
        a_ed = (a_first or {}).get("type") == "emergency_department"
        if a_ed and not b_ed:
            more_ed += n
            bp["more_to_ed"] += n
        elif b_ed and not a_ed:
            fewer_ed += n
            bp["fewer_to_ed"] += n
    top = sorted(moves.items(), key=lambda kv: -kv[1])[:15]
    sc_ = (lambda v: round(v * scale))
    return {"weeks": weeks, "since": since.isoformat(timespec="hours"), "answers_in_period": int(total),
            "answers_the_change_could_touch": candidates, "replayed": replayed, "distinct_replays": len(groups),
            "sampled": sampled, "answers_changed": sc_(changed), "first_service_changed": sc_(first_changed),
            "more_to_ed": sc_(more_ed), "fewer_to_ed": sc_(fewer_ed), "net_more_to_ed": sc_(more_ed - fewer_ed),
            "by_place": {p: {k: sc_(v) for k, v in d.items()} for p, d in by_place.items()},
            "top_moves": [{"disposition": k[0], "from": k[1], "to": k[2], "answers": sc_(v)} for k, v in top],
            "seconds": round(_time.perf_counter() - started, 2),
            "method": "each logged answer the change could touch is re-run from its LSOA's centroid, at the same "
                      "weekday and hour, on the live directory and on the scenario; answers it cannot touch are unchanged"
                      + ("; more distinct answers than the budget, so a random sample was replayed and scaled up"
                         if sampled else "")}


def _travel(fields: Any, lat: float, lon: float) -> dict:
    out: dict = {}
    for key, tr in fields.travel(lat, lon).items():
        sid = key.split("#", 1)[0]
        if sid not in out or tr.minutes < out[sid].minutes:
            out[sid] = tr
    return out


def run(care: Any, body: Any) -> dict[str, Any]:
    """Run a what-if: {"changes": [...], "weeks": 4, "threshold_minutes": 30}."""
    if not isinstance(body, Mapping):
        raise InputError({"body": "must be a JSON object like {\"changes\": [{\"service\": \"rph-utc\", \"close\": true}]}"})
    errors = {}
    unknown = set(body) - {"changes", "weeks", "threshold_minutes", "name"}
    if unknown:
        errors["body"] = f"unknown keys {sorted(unknown)}; use changes, weeks, threshold_minutes, name"
    weeks = body.get("weeks", 4)
    if isinstance(weeks, bool) or not isinstance(weeks, int) or not 0 <= weeks <= MAX_WEEKS:
        errors["weeks"] = f"must be a whole number of weeks from 0 to {MAX_WEEKS}"
    if "name" in body:
        from uec.directory_service import whatif_name
        try:
            whatif_name(body["name"])
        except InputError as exc:
            errors.update(exc.errors)
    thr = body.get("threshold_minutes", 30)
    if isinstance(thr, bool) or not isinstance(thr, (int, float)) or not math.isfinite(thr) or not 5 <= thr <= 180:
        errors["threshold_minutes"] = "must be minutes from 5 to 180"
    if errors:
        raise InputError(errors)
    sc = Scenario(care, body.get("changes"))
    result = {"changes": sc.described, "types": sc.types, "threshold_minutes": thr,
              "access": access(sc, threshold=float(thr))}
    if weeks:
        result["replay"] = replay(sc, weeks=weeks)
    return result
