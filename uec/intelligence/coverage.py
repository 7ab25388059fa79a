"""Road minutes from every LSC LSOA to the nearest open service of a type, cached per directory version and slot."""
from __future__ import annotations

import math
import threading
from functools import lru_cache
from collections import OrderedDict
from datetime import datetime, timedelta, timezone
from typing import Any, Mapping, Sequence

import numpy as np

from directory.model import SERVICE_TYPES, Service
from directory.opening import LONDON
from geodata.areas import Areas
from uec.inputs import InputError

SLOT_MINUTES = 15


def slot_of(at: datetime) -> datetime:
    """`at` floored to its 15-minute slot (the cache key's time part)."""
    at = at.astimezone(timezone.utc)
    return at.replace(minute=at.minute - at.minute % SLOT_MINUTES, second=0, microsecond=0)


class _Points:
    """The LSOA centroids snapped to the road network once."""

    def __init__(self, network: Any):
        rows = Areas.default().lsoas()
        self.rows = rows
        self.codes = [r.code for r in rows]
        lat = np.array([r.lat for r in rows])
        lon = np.array([r.lon for r in rows])
        self.nodes, gap = network.snap_many(lat, lon)
        from geodata.routing import _access
        access = np.array([_access(float(g)) for g in gap])
        self.access_s, self.access_m = access[:, 0], access[:, 1]
        self.index = {c: i for i, c in enumerate(self.codes)}


_points: dict[int, _Points] = {}
_points_lock = threading.Lock()


def _points_for(network: Any) -> _Points:
    with _points_lock:
        p = _points.get(id(network))
        if p is None:
            p = _points[id(network)] = _Points(network)
        return p


def lsoa_minutes(services: Sequence[Service], fields: Any, service_type: str, at: datetime) -> np.ndarray:
    """Minutes by road from each LSOA centroid (Areas.lsoas() order) to the nearest service of the type
    that is active that day and open on arrival (mobile teams: open now, travel is theirs); NaN: none."""
    pts = _points_for(fields.network)
    best = np.full(len(pts.codes), np.inf)
    today = at.astimezone(LONDON).date()
    for s in services:
        if s.type != service_type or s.status_at(today) != "active":
            continue
        keys = [f"{s.id}#base{i}" for i in range(len(s.mobile_bases))] if s.mobile else [s.id]
        for key in keys:
            f = fields._fields.get(key)  # the precomputed field: seconds and metres from every node
            if f is None:
                continue
            secs = np.asarray(f[pts.nodes, 0], dtype=np.float64)
            minutes = (secs + pts.access_s + fields._access[key][0]) / 60.0
            ok = np.isfinite(minutes)
            if s.mobile or s.opening.always:
                open_ = ok if (s.opening.always or s.opening.is_open(at)) else np.zeros_like(ok)
            else:  # open on arrival: one check per whole minute of travel
                ceil = np.where(ok, np.ceil(np.where(ok, minutes, 0)), -1).astype(int)
                states = {m: s.opening.is_open(at + timedelta(minutes=int(m))) for m in np.unique(ceil[ceil >= 0])}
                open_ = np.array([states.get(int(m), False) for m in ceil])
            best = np.where(open_ & (minutes < best), minutes, best)
    return np.where(np.isfinite(best), best, np.nan)


class _LsoaTravel(Mapping):
    """Service id -> Travel from one LSOA centroid, read on demand from precomputed matrices."""

    def __init__(self, table: "_TravelTable", j: int):
        self._t, self._j = table, j

    def get(self, sid, default=None):
        rows = self._t.rows.get(sid)
        if not rows:
            return default
        best = None
        for r in rows:
            m = self._t.minutes[r, self._j]
            if np.isfinite(m) and (best is None or m < self._t.minutes[best, self._j]):
                best = r
        if best is None:
            return default
        from geodata.routing import Travel
        return Travel(minutes=float(self._t.minutes[best, self._j]), km=float(self._t.km[best, self._j]))

    def __getitem__(self, sid):
        v = self.get(sid)
        if v is None:
            raise KeyError(sid)
        return v

    def __iter__(self):
        return (sid for sid in self._t.rows if self.get(sid) is not None)

    def __len__(self):
        return sum(1 for _ in self)


class _TravelTable:
    def __init__(self, fields: Any, codes: Sequence[str]):
        pts = _points_for(fields.network)
        idx = np.array([pts.index[c] for c in codes], dtype=int)
        nodes = pts.nodes[idx]
        keys = fields.ids
        self.minutes = np.empty((len(keys), len(codes)))
        self.km = np.empty((len(keys), len(codes)))
        self.rows: dict[str, list[int]] = {}
        for r, key in enumerate(keys):
            acc_s, acc_m = fields._access[key]
            block = np.asarray(fields._fields[key][nodes], dtype=np.float64)
            self.minutes[r] = (block[:, 0] + pts.access_s[idx] + acc_s) / 60.0
            self.km[r] = (block[:, 1] + pts.access_m[idx] + acc_m) / 1000.0
            self.rows.setdefault(key.split("#", 1)[0], []).append(r)


def travel_by_lsoa(fields: Any, codes: Sequence[str]) -> dict[str, Mapping[str, Any]]:
    """For each LSOA code: service id -> Travel from its centroid (the quickest base of a mobile team),
    as TravelFields.travel gives for that point, read from matrices computed for all LSOAs at once."""
    table = _TravelTable(fields, codes)
    return {c: _LsoaTravel(table, j) for j, c in enumerate(codes)}


class CoverageCache:
    """LRU of LSOA minutes keyed by (directory version, type, 15-minute slot); scenarios use their own keys."""

    def __init__(self, maxsize: int = 128):
        self.maxsize = maxsize
        self._items: OrderedDict[tuple, np.ndarray] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = self.misses = 0

    def get(self, key: tuple, compute) -> np.ndarray:
        with self._lock:
            if key in self._items:
                self._items.move_to_end(key)
                self.hits += 1
                return self._items[key]
        value = compute()
        with self._lock:
            self.misses += 1
            self._items[key] = value
            while len(self._items) > self.maxsize:
                self._items.popitem(last=False)
        return value


CACHE = CoverageCache()


def check_type(service_type: str) -> None:
    if service_type not in SERVICE_TYPES:
        raise InputError({"type": f"must be one of {', '.join(SERVICE_TYPES)}"})


def minutes_now(care: Any, service_type: str, at: datetime) -> tuple[list[str], np.ndarray, Any]:
    """(LSOA codes, minutes, snapshot) for the live directory, from the cache when it has them."""
    check_type(service_type)
    snap = care.snapshot()
    slot = slot_of(at)
    values = CACHE.get((snap.version, service_type, slot.isoformat()),
                       lambda: lsoa_minutes(snap.services, snap.fields, service_type, slot))
    return _points_for(snap.fields.network).codes, values, snap


def figures(codes: Sequence[str], minutes: np.ndarray, *, thresholds: Sequence[float] = (15, 30, 45, 60)) -> dict[str, Any]:
    """Population and most-deprived-fifth within each threshold, overall and per place."""
    from geodata.coverage import coverage
    by_code = dict(zip(codes, minutes))
    rows = Areas.default().lsoas()
    lookup = {(r.lat, r.lon): by_code.get(r.code) for r in rows}

    def nearest(lat: float, lon: float) -> float | None:
        m = lookup.get((lat, lon))
        return None if m is None or math.isnan(m) else float(m)
    return coverage(nearest, thresholds=thresholds, lsoas=rows)


def coverage_figures(care: Any, service_type: str, *, at: datetime,
                     thresholds: tuple[float, ...] = (15, 30, 45, 60)) -> dict[str, Any]:
    """The /api/v1/coverage answer, from cached LSOA minutes."""
    codes, minutes, snap = minutes_now(care, service_type, at)
    today = at.astimezone(LONDON).date()
    count = sum(1 for s in snap.services if s.type == service_type and s.status_at(today) == "active")
    return {"type": service_type, "at": at.isoformat(), "services": count,
            **figures(codes, minutes, thresholds=thresholds)}


@lru_cache(maxsize=32)
def _map_paths(place: str | None) -> tuple[list[str], list[str], Any]:
    """The projected LSOA paths of a place or district (or all LSC), computed once."""
    import shapely
    from geodata.areas import PLACE_OF_LAD
    from geodata.lsoas import LsoaMap
    from uec.intelligence.svg import Projection
    lmap = LsoaMap.default()
    keep = [i for i, c in enumerate(lmap.codes)
            if not place or place in (lmap.lad_of[c], PLACE_OF_LAD.get(lmap.lad_of[c]))]
    geoms = [lmap.geometries[i] for i in keep]
    b = shapely.total_bounds(np.array(geoms, dtype=object)) if geoms else lmap.bounds()
    proj = Projection(tuple(float(x) for x in b))
    return [lmap.codes[i] for i in keep], [proj.path(g) for g in geoms], proj


def map_svg(codes: Sequence[str], minutes: np.ndarray, *, place: str | None, title: str,
            sites: Sequence[tuple[float, float, str]] = ()) -> str:
    """The LSOA choropleth (of one place or district, or all LSC)."""
    from uec.intelligence.svg import choropleth
    by_code = dict(zip(codes, minutes))
    keep, paths, proj = _map_paths(place)
    vals = []
    for c in keep:
        m = by_code.get(c)
        vals.append(None if m is None or math.isnan(m) else float(m))
    inside = [(la, lo, n) for la, lo, n in sites
              if proj.min_lon - 0.05 <= lo <= proj.max_lon + 0.05 and proj.min_lat - 0.05 <= la <= proj.max_lat + 0.05]
    return choropleth(paths, keep, vals, projection=proj, title=title, sites=inside)
