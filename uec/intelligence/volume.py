"""Realistic outcome-log volume for tests and benchmarks: real LSOAs, real routing answers, a year's rhythm."""
from __future__ import annotations

import csv
import io
import secrets
from collections import defaultdict
from datetime import date, datetime, time, timedelta, timezone
from typing import Any, Iterator

import numpy as np
from sqlalchemy import insert
from sqlalchemy.engine import Engine

from directory import tables as t
from directory.opening import LONDON
from directory.search import Need, Origin, Patient, SearchOptions, search
from geodata.areas import PLACE_OF_LAD, Areas
from uec.intelligence.outcomes import AGE_BANDS, ED_CLASSES, ed_reason

#: share of answers by disposition (NHS 111 in England: roughly a third to primary care, one in ten to ED)
MIX = {"AMB_CAT2": 0.05, "AMB_CAT3": 0.05, "AMB_CAT4": 0.01, "ED_1H": 0.04, "ED_4H": 0.07, "SDEC_SAME_DAY": 0.02,
       "UTC_1H": 0.04, "UTC_4H": 0.09, "PC_1H": 0.05, "PC_2H": 0.07, "PC_6H": 0.08, "PC_12H": 0.05, "PC_24H": 0.06,
       "DENTAL_4H": 0.02, "DENTAL_24H": 0.03, "PHARMACY_FIRST": 0.05, "PHARMACY_MEDS": 0.03, "PHARMACY_ADVICE": 0.02,
       "MH_CRISIS_4H": 0.015, "MH_CRISIS_24H": 0.01, "MH_CRISIS_LINE": 0.01, "FALLS_LIFT": 0.03, "UCR_2H": 0.015,
       "SELF_CARE": 0.06}
#: calls by local hour of day (relative): a morning peak, a smaller evening one, quiet nights
HOURS = np.array([2.0, 1.5, 1.2, 1.0, 1.0, 1.2, 2.0, 3.5, 5.5, 6.5, 6.5, 6.0, 5.5, 5.5, 5.2, 5.0, 5.2, 5.8,
                  6.2, 6.0, 5.0, 4.0, 3.2, 2.5])
WEEKDAY = np.array([1.05, 0.95, 0.93, 0.93, 0.97, 1.2, 1.3])  # weekends busier for 111
AGE_SHARE = np.array([0.12, 0.12, 0.03, 0.5, 0.1, 0.13])


def _templates(care: Any, lsoas: list, codes: list[str], *, per_district: int, rng: np.random.Generator) -> dict:
    """Real routing answers for a sample of LSOAs in each district, by day (Wed 14:00) and night (Wed 03:00)."""
    snap = care.snapshot()
    by_lad: dict[str, list] = defaultdict(list)
    for r in lsoas:
        by_lad[r.lad].append(r)
    today = datetime.now(LONDON).date()
    wed = today + timedelta(days=(2 - today.weekday()) % 7)
    slots = {"day": datetime.combine(wed, time(14), tzinfo=LONDON), "night": datetime.combine(wed, time(3), tzinfo=LONDON)}
    out: dict[tuple[str, str, str], list[dict]] = defaultdict(list)
    type_of = {s.id: s.type for s in snap.services}
    for lad, rows in by_lad.items():
        pick = rng.choice(len(rows), size=min(per_district, len(rows)), replace=False)
        for i in pick:
            r = rows[int(i)]
            travel = care.travel_from(snap, care.geo.locate(lat=r.lat, lon=r.lon))
            for code in codes:
                d = care.rules.dispositions[code]
                for slot, at in slots.items():
                    res = search(snap.services, Need(code, d.cls, d.within_minutes, d.label),
                                 Origin(r.lat, r.lon, r.lad, PLACE_OF_LAD.get(r.lad)), at, travel=travel,
                                 rankings=snap.rankings, patient=Patient(40, None), options=SearchOptions())
                    types = [s["type"] for s in res.services]
                    excluded = [{"id": e["id"], "rule": e.get("rule"), "fits": e.get("fits", False)} for e in res.excluded]
                    out[(lad, code, slot)].append({
                        "offered": [s["id"] for s in res.services], "offered_types": types,
                        "first_service": res.services[0]["id"] if res.services else None,
                        "first_type": types[0] if types else None, "catch_all": res.catch_all,
                        "ed_offered": "emergency_department" in types,
                        "ed_reason": ed_reason(d.cls, res.catch_all, types, excluded, type_of.get),
                    })
    return out


def rows(care: Any, *, count: int, end: date, days: int = 365, seed: int = 13, per_district: int = 10,
         complaints: list[str] | None = None) -> Iterator[dict[str, Any]]:
    """`count` outcome rows over the `days` up to `end`, drawn from real routing answers."""
    rng = np.random.default_rng(seed)
    lsoas = Areas.default().lsoas()
    codes = [c for c in MIX if c in care.rules.dispositions]
    weights = np.array([MIX[c] for c in codes])
    weights /= weights.sum()
    templates = _templates(care, lsoas, codes, per_district=per_district, rng=rng)
    pop = np.array([r.population for r in lsoas])
    pop /= pop.sum()
    day_list = [end - timedelta(days=i) for i in range(days)]
    day_w = np.array([WEEKDAY[d.weekday()] for d in day_list])
    day_w /= day_w.sum()
    hour_w = HOURS / HOURS.sum()
    classes = {c: care.rules.dispositions[c].cls for c in codes}
    complaint_ids = complaints or sorted(care.rules.complaints)
    caps = ("green", "green", "green", "amber", "red", "unknown")
    batch = 50_000
    made = 0
    while made < count:
        n = min(batch, count - made)
        li = rng.choice(len(lsoas), size=n, p=pop)
        di = rng.choice(len(day_list), size=n, p=day_w)
        hi = rng.choice(24, size=n, p=hour_w)
        ci = rng.choice(len(codes), size=n, p=weights)
        ai = rng.choice(len(AGE_BANDS), size=n, p=AGE_SHARE / AGE_SHARE.sum())
        kinds = rng.random(n) < 0.7
        capr = rng.integers(0, len(caps), size=n)
        comp = rng.integers(0, len(complaint_ids), size=n)
        for k in range(n):
            r = lsoas[int(li[k])]
            code = codes[int(ci[k])]
            h = int(hi[k])
            local = datetime.combine(day_list[int(di[k])], time(h), tzinfo=LONDON)
            slot = "day" if 8 <= h < 20 else "night"
            options = templates.get((r.lad, code, slot)) or [{"offered": [], "offered_types": [], "first_service": None,
                                                             "first_type": None, "catch_all": True, "ed_offered": False,
                                                             "ed_reason": None}]
            tpl = options[k % len(options)]
            cap = [caps[(int(capr[k]) + j) % len(caps)] for j in range(len(tpl["offered"]))]
            yield {"ref": secrets.token_urlsafe(16), "hour": local.astimezone(timezone.utc), "day": local.date(),
                   "local_hour": h, "kind": "triage" if kinds[k] else "route", "lsoa": r.code, "lad": r.lad,
                   "place": PLACE_OF_LAD.get(r.lad), "age_band": AGE_BANDS[int(ai[k])][0],
                   "complaints": complaint_ids[int(comp[k])] if kinds[k] else None, "disposition": code,
                   "cls": classes[code], "role": "nhs111", **tpl, "capacity": cap, "capacity_red": "red" in cap,
                   "directory_version": 1, "chosen": None, "chosen_at": None}
        made += n


COLUMNS = [c.name for c in t.outcomes.columns if c.name != "id"]


def write(engine: Engine, items: Iterator[dict[str, Any]], *, chunk: int = 20_000) -> int:
    """Insert rows (PostgreSQL COPY, else executemany in chunks), then rebuild the rollups. Returns the count."""
    from uec.intelligence import rollup
    n = _write(engine, items, chunk=chunk)
    with engine.begin() as conn:
        rollup.rebuild(conn)
    return n


def _write(engine: Engine, items: Iterator[dict[str, Any]], *, chunk: int) -> int:
    import json
    n = 0
    if engine.dialect.name == "postgresql":
        raw = engine.raw_connection()
        try:
            cur = raw.cursor()
            with cur.copy(f"COPY outcomes ({', '.join(COLUMNS)}) FROM STDIN") as cp:
                for row in items:
                    cp.write_row([json.dumps(row[c]) if c in ("offered", "offered_types", "capacity") else row[c]
                                  for c in COLUMNS])
                    n += 1
            raw.commit()
        finally:
            raw.close()
        return n
    buf: list[dict] = []
    with engine.begin() as conn:
        for row in items:
            buf.append(row)
            if len(buf) >= chunk:
                conn.execute(insert(t.outcomes), buf)
                n += len(buf)
                buf = []
        if buf:
            conn.execute(insert(t.outcomes), buf)
            n += len(buf)
    return n
