"""Build the embedded Lancashire and South Cumbria road graph from the authored backbone and a local mesh."""

from __future__ import annotations

import glob
import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Mapping, Sequence

import networkx as nx
import numpy as np
import yaml

__all__ = [
    "DATA_DIR",
    "DEFAULT_SPEEDS",
    "CIRCUITY",
    "haversine_m",
    "project_m",
    "build_lsc_graph",
    "load_calibration",
]

DATA_DIR = Path(__file__).resolve().parent / "data" / "roads"
EARTH_RADIUS_M = 6_371_008.8

# Average off-peak car speeds (km/h) per road class; "_urban" is the same class through built-up areas.
# Derived from UK national limits (motorway 70 mph, dual 70, single carriageway 60, built-up 30)
# discounted for bends, junctions, villages and lights; see docs/routing.md.
DEFAULT_SPEEDS: dict[str, float] = {
    "motorway": 100.0,
    "trunk": 78.0,
    "trunk_urban": 45.0,
    "primary": 65.0,
    "primary_urban": 28.0,
    "secondary": 56.0,
    "secondary_urban": 26.0,
    "minor": 45.0,
    "minor_urban": 25.0,
    "local": 45.0,
    "local_urban": 22.0,
}

# Fixed delays (seconds): passing a named junction/town node on the backbone (roundabouts, lights;
# half charged on each edge touching it) and joining or leaving a motorway (slip road + roundabout).
JUNCTION_DELAY_S = 20.0
MOTORWAY_ACCESS_DELAY_S = 45.0

# Road length / straight-line length. Backbone waypoints follow the alignment every few km, so only
# the remaining wiggle is added; mesh edges between neighbourhood centroids stand for unknown streets.
CIRCUITY: dict[str, float] = {
    "motorway": 1.03,
    "trunk": 1.07,
    "primary": 1.10,
    "secondary": 1.12,
    "minor": 1.20,
    "local": 1.32,
}

# A point is "urban" when at least URBAN_MIN_POINTS mesh points (LSOA population-weighted centroids and
# border-town points) lie within URBAN_RADIUS_M: LSOAs hold ~1,500 people, so this means built-up density.
URBAN_RADIUS_M = 1_000.0
URBAN_MIN_POINTS = 4
URBAN_EXTRA_RADIUS_M = 1_200.0  # around an urban border-town point from mesh_extra.yaml
MESH_MAX_EDGE_M = 7_000.0
CONNECTOR_K = 3
CONNECTOR_MAX_M = 6_000.0
CONNECTOR_FALLBACK_MAX_M = 20_000.0


def haversine_m(lat1, lon1, lat2, lon2):
    """Great-circle distance in metres (numpy-broadcasting)."""
    p1, p2 = np.radians(lat1), np.radians(lat2)
    dphi = p2 - p1
    dl = np.radians(np.asarray(lon2) - np.asarray(lon1))
    a = np.sin(dphi / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_M * np.arcsin(np.sqrt(np.minimum(a, 1.0)))


def project_m(lat, lon, *, lat0: float = 54.0):
    """Local equirectangular projection to metres (x east, y north); accurate to <1% across LSC."""
    lat = np.asarray(lat, dtype=np.float64)
    lon = np.asarray(lon, dtype=np.float64)
    k = math.pi / 180 * EARTH_RADIUS_M
    return np.stack([lon * k * math.cos(math.radians(lat0)), lat * k], axis=-1)


def haversine_point_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """haversine_m for one pair of points in plain floats (a route request snaps one caller; numpy's
    per-call overhead on scalars is most of the cost there)."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    a = math.sin((p2 - p1) / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(math.radians(lon2 - lon1) / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(math.sqrt(min(a, 1.0)))


def project_point_m(lat: float, lon: float, *, lat0: float = 54.0) -> tuple[float, float]:
    """project_m for one point in plain floats: the same arithmetic, in the same order."""
    k = math.pi / 180 * EARTH_RADIUS_M
    return lon * k * math.cos(math.radians(lat0)), lat * k


@dataclass
class _Node:
    name: str
    lat: float
    lon: float
    kind: str  # "lsoa", "extra", "named", "waypoint"
    connectable: bool
    urban: bool = False


def load_calibration(path: Path | None = None) -> dict:
    """The reference hospitals, places and trip ranges in geodata/data/roads/calibration.yaml."""
    with open(path or DATA_DIR / "calibration.yaml", encoding="utf-8") as fh:
        return yaml.safe_load(fh)


def _shared_data(shared_data: Path | None) -> Path:
    if shared_data is not None:
        return Path(shared_data)
    return Path(__file__).resolve().parents[2] / "shared" / "data"


def _read_lsoa(shared: Path) -> list[_Node]:
    import csv

    path = shared / "lsoa" / "lsc_lsoa.csv"
    if not path.exists():
        raise FileNotFoundError(f"{path} not found: the LSOA centroids table is needed to build the mesh")
    out = []
    with open(path, newline="", encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            out.append(_Node(row["lsoa11cd"], float(row["lat"]), float(row["lon"]), "lsoa", True,
                             urban=row["rural_urban"].startswith("Urban")))
    return out


class _LandMask:
    """Land = union of LSC LSOA polygons plus postcode districts lying mostly outside LSC."""

    def __init__(self, shared: Path):
        import shapely
        from shapely.geometry import shape
        from shapely.ops import unary_union

        lsoa = []
        for f in sorted(glob.glob(str(shared / "boundaries" / "lsoa_by_lad" / "*.json"))):
            with open(f, encoding="utf-8") as fh:
                lsoa.extend(shape(ft["geometry"]).buffer(0) for ft in json.load(fh)["features"])
        if not lsoa:
            raise FileNotFoundError(f"no LSOA boundary files under {shared / 'boundaries' / 'lsoa_by_lad'}")
        lsc = unary_union(lsoa)
        # Postcode districts (approximate, hand-drawn) give land beyond LSC. Inside LSC the clipped
        # LSOA polygons are authoritative, so district parts overlapping LSC are not added; estuary
        # water that districts may cover is stopped by the authored barrier lines instead.
        districts = []
        for f in sorted(glob.glob(str(shared / "postcode-districts" / "*.geojson"))):
            with open(f, encoding="utf-8") as fh:
                districts.extend(shape(ft["geometry"]).buffer(0) for ft in json.load(fh)["features"])
        outside = unary_union(districts).difference(lsc) if districts else None
        self.geometry = unary_union([lsc, outside]) if outside is not None else lsc
        shapely.prepare(self.geometry)

    def all_land(self, lat: np.ndarray, lon: np.ndarray) -> bool:
        import shapely

        return bool(np.all(shapely.contains_xy(self.geometry, lon, lat)))


def _segments_cross(p1, p2, q1, q2) -> bool:
    def orient(a, b, c):
        return (b[0] - a[0]) * (c[1] - a[1]) - (b[1] - a[1]) * (c[0] - a[0])

    d1, d2 = orient(q1, q2, p1), orient(q1, q2, p2)
    d3, d4 = orient(p1, p2, q1), orient(p1, p2, q2)
    return (d1 * d2 < 0) and (d3 * d4 < 0)


class _Barriers:
    def __init__(self, lines: Iterable[Sequence[Sequence[float]]]):
        self.segments = []
        for line in lines:
            pts = [tuple(project_m(lat, lon)) for lat, lon in line]
            self.segments.extend(zip(pts[:-1], pts[1:]))
        self._arr = np.array([[a[0], a[1], b[0], b[1]] for a, b in self.segments]) if self.segments else None

    def crosses(self, a_xy, b_xy) -> bool:
        if self._arr is None:
            return False
        s = self._arr
        minx, maxx = min(a_xy[0], b_xy[0]), max(a_xy[0], b_xy[0])
        miny, maxy = min(a_xy[1], b_xy[1]), max(a_xy[1], b_xy[1])
        cand = ((np.maximum(s[:, 0], s[:, 2]) >= minx) & (np.minimum(s[:, 0], s[:, 2]) <= maxx)
                & (np.maximum(s[:, 1], s[:, 3]) >= miny) & (np.minimum(s[:, 1], s[:, 3]) <= maxy))
        return any(_segments_cross(a_xy, b_xy, (r[0], r[1]), (r[2], r[3])) for r in s[cand])


class _Density:
    """Built-up test: enough LSOA centroids nearby, or near an urban border-town point (no LSOAs there)."""

    def __init__(self, xy: np.ndarray, urban_extra_xy: np.ndarray):
        from scipy.spatial import cKDTree

        self.tree = cKDTree(xy)
        self.extra = cKDTree(urban_extra_xy) if len(urban_extra_xy) else None

    def urban_fraction(self, a_xy, b_xy, *, step_m: float = 250.0) -> float:
        length = float(np.hypot(b_xy[0] - a_xy[0], b_xy[1] - a_xy[1]))
        n = max(2, int(length // step_m) + 1)
        t = np.linspace(0, 1, n)
        pts = np.outer(1 - t, a_xy) + np.outer(t, b_xy)
        counts = np.array([len(x) for x in self.tree.query_ball_point(pts, URBAN_RADIUS_M)])
        urban = counts >= URBAN_MIN_POINTS
        if self.extra is not None:
            d, _ = self.extra.query(pts)
            urban |= d <= URBAN_EXTRA_RADIUS_M
        return float(np.mean(urban))


def _edge_time(length_m: float, cls: str, urban: float, speeds: Mapping[str, float],
               speed_override: float | None = None) -> float:
    rural = speed_override or speeds[cls]
    urb = speeds.get(cls + "_urban", speeds[cls])
    if speed_override:
        urb = min(urb, speed_override)
    return length_m * (urban / (urb / 3.6) + (1 - urban) / (rural / 3.6))


def build_lsc_graph(*, shared_data: Path | None = None, data_dir: Path | None = None,
                    speeds: Mapping[str, float] | None = None, progress: bool = False) -> nx.DiGraph:
    """Build the LSC DiGraph: authored backbone + Delaunay mesh of LSOA centroids kept off water."""
    from scipy.spatial import Delaunay, cKDTree

    shared = _shared_data(shared_data)
    data_dir = Path(data_dir or DATA_DIR)
    spd = dict(DEFAULT_SPEEDS)
    if speeds:
        unknown = sorted(set(speeds) - set(spd))
        if unknown:
            raise ValueError(f"unknown speed class(es) {unknown}; known: {sorted(spd)}")
        spd.update({k: float(v) for k, v in speeds.items()})

    def log(msg: str) -> None:
        if progress:
            import sys
            print(msg, file=sys.stderr)

    with open(data_dir / "backbone.yaml", encoding="utf-8") as fh:
        backbone = yaml.safe_load(fh)
    with open(data_dir / "barriers.yaml", encoding="utf-8") as fh:
        barriers = _Barriers(yaml.safe_load(fh)["barriers"].values())
    with open(data_dir / "mesh_extra.yaml", encoding="utf-8") as fh:
        extra = yaml.safe_load(fh)["points"]

    mesh = _read_lsoa(shared)
    mesh += [_Node(p["name"], float(p["lat"]), float(p["lon"]), "extra", True, bool(p.get("urban"))) for p in extra]
    log(f"mesh points: {len(mesh)}")

    # ---- backbone nodes and polylines ----
    named: dict[str, int] = {}
    nodes: list[_Node] = list(mesh)
    no_access = set(backbone.get("no_access") or ())
    unknown = sorted(no_access - set(backbone["nodes"]))
    if unknown:
        raise ValueError(f"no_access lists unknown node(s) {unknown}")
    for name, (lat, lon) in backbone["nodes"].items():
        named[name] = len(nodes)
        nodes.append(_Node(name, float(lat), float(lon), "named", name not in no_access))
    road_edges = []  # (a, b, cls, speed_override, oneway, ref)
    valid = {"motorway", "trunk", "primary", "secondary", "minor"}
    for road in backbone["roads"]:
        cls = road["class"]
        if cls not in valid:
            raise ValueError(f"road {road.get('ref')!r}: class {cls!r} not one of {sorted(valid)}")
        ids = []
        for p in road["path"]:
            if isinstance(p, str):
                if p in no_access and cls != "motorway":
                    raise ValueError(f"road {road.get('ref')!r} uses {p!r}, listed under no_access")
                if p not in named:
                    raise ValueError(f"road {road.get('ref')!r} names unknown node {p!r}; add it under nodes:")
                ids.append(named[p])
            else:
                lat, lon = float(p[0]), float(p[1])
                ids.append(len(nodes))
                nodes.append(_Node(f"{road.get('ref')} waypoint", lat, lon, "waypoint", cls != "motorway"))
        for a, b in zip(ids[:-1], ids[1:]):
            road_edges.append((a, b, cls, road.get("speed_kmh"), bool(road.get("oneway", False)), road.get("ref")))

    lat = np.array([n.lat for n in nodes])
    lon = np.array([n.lon for n in nodes])
    xy = project_m(lat, lon)
    mesh_idx = np.arange(len(mesh))
    lsoa_idx = np.array([i for i, n in enumerate(mesh) if n.kind == "lsoa"])
    urban_extra = np.array([i for i, n in enumerate(mesh) if n.kind == "extra" and n.urban
                            and not n.name.endswith(("Hospital", "Infirmary"))], dtype=int)
    density = _Density(xy[lsoa_idx], xy[urban_extra] if len(urban_extra) else np.empty((0, 2)))
    land = _LandMask(shared)

    graph = nx.DiGraph()
    for i, n in enumerate(nodes):
        graph.add_node(i, y=n.lat, x=n.lon, name=n.name if n.kind != "waypoint" else "", kind=n.kind)

    motorway_junctions = {a for a, b, cls, *_ in road_edges if cls == "motorway"} | {
        b for a, b, cls, *_ in road_edges if cls == "motorway"}
    motorway_junctions = {i for i in motorway_junctions if nodes[i].kind == "named"}

    def add(a: int, b: int, cls: str, circuity_cls: str, oneway: bool, speed_override=None) -> None:
        crow = float(haversine_m(lat[a], lon[a], lat[b], lon[b]))
        length = max(crow * CIRCUITY[circuity_cls], 1.0)
        urban = density.urban_fraction(xy[a], xy[b]) if cls != "motorway" else 0.0
        t = max(_edge_time(length, cls, urban, spd, speed_override), 0.5)
        if cls != "motorway":
            for end in (a, b):
                if end in motorway_junctions:
                    t += MOTORWAY_ACCESS_DELAY_S
                elif nodes[end].kind == "named" and cls not in ("local", "trunk"):
                    t += JUNCTION_DELAY_S / 2
        attrs = dict(travel_time=t, length=length, highway=cls, oneway=oneway, urban=round(urban, 3))
        old = graph.get_edge_data(a, b)
        if old is None or old["travel_time"] > t:
            graph.add_edge(a, b, **attrs)
        if not oneway:
            old = graph.get_edge_data(b, a)
            if old is None or old["travel_time"] > t:
                graph.add_edge(b, a, **attrs)

    for a, b, cls, override, oneway, ref in road_edges:
        add(a, b, cls, cls, oneway, override)
    log(f"backbone: {len(named)} named nodes, {len(road_edges)} segments")

    def water_free(a: int, b: int) -> bool:
        if barriers.crosses(xy[a], xy[b]):
            return False
        d = float(np.hypot(*(xy[b] - xy[a])))
        n = max(2, int(d // 200) + 1)
        t = np.linspace(0, 1, n)[1:-1]
        if len(t) == 0:
            return True
        return land.all_land(lat[a] + t * (lat[b] - lat[a]), lon[a] + t * (lon[b] - lon[a]))

    # ---- local mesh: Delaunay triangulation of the mesh points ----
    tri = Delaunay(xy[mesh_idx])
    pairs = set()
    for simplex in tri.simplices:
        for i in range(3):
            a, b = sorted((int(simplex[i]), int(simplex[(i + 1) % 3])))
            pairs.add((a, b))
    kept = 0
    for a, b in sorted(pairs):
        if float(np.hypot(*(xy[b] - xy[a]))) > MESH_MAX_EDGE_M:
            continue
        if not water_free(a, b):
            continue
        add(a, b, "local", "local", False)
        kept += 1
    log(f"mesh edges kept: {kept} of {len(pairs)}")

    # ---- connectors: each mesh point to its nearest reachable backbone access points ----
    access = np.array([i for i, n in enumerate(nodes) if n.kind in ("named", "waypoint") and n.connectable])
    tree = cKDTree(xy[access])
    conn = 0
    for m in mesh_idx:
        dist, pos = tree.query(xy[m], k=min(12, len(access)))
        chosen = 0
        for d, p in zip(dist, pos):
            if chosen >= CONNECTOR_K or (d > CONNECTOR_MAX_M and chosen > 0) or d > CONNECTOR_FALLBACK_MAX_M:
                break
            b = int(access[p])
            if water_free(int(m), b):
                add(int(m), b, "local", "local", False)
                chosen += 1
        conn += chosen
    log(f"connectors: {conn}")

    # keep the largest strongly connected component
    comp = max(nx.strongly_connected_components(graph), key=len)
    dropped = graph.number_of_nodes() - len(comp)
    if dropped:
        log(f"dropping {dropped} nodes outside the largest strongly connected component")
    graph = graph.subgraph(sorted(comp)).copy()
    graph = nx.convert_node_labels_to_integers(graph, ordering="sorted")
    graph.graph["meta"] = {
        "source": "lsc-embedded",
        "speeds_kmh": spd,
        "circuity": CIRCUITY,
        "attribution": "Mesh from ONS LSOA population-weighted centroids and boundaries (OGL v3; "
                       "contains OS data (c) Crown copyright and database right 2016); backbone hand-authored.",
    }
    return graph
