"""Import a drivable road graph from an OpenStreetMap extract (.osm, .osm.pbf, .osm.bz2) with pyosmium."""

from __future__ import annotations

import argparse
import math
import re
import sys
import time
from pathlib import Path
from typing import Callable, Mapping

import networkx as nx

from geodata.roadgraph import save_graph

__all__ = ["OSM_SPEEDS", "parse_maxspeed", "graph_from_osm", "main"]

# Average speeds (km/h) by OSM highway class when no maxspeed is tagged (off-peak, UK-like).
OSM_SPEEDS: dict[str, float] = {
    "motorway": 105.0, "motorway_link": 60.0,
    "trunk": 80.0, "trunk_link": 50.0,
    "primary": 65.0, "primary_link": 45.0,
    "secondary": 55.0, "secondary_link": 40.0,
    "tertiary": 45.0, "tertiary_link": 35.0,
    "unclassified": 40.0, "residential": 25.0, "living_street": 10.0, "road": 30.0,
    "service": 15.0,
}
# A tagged limit is a ceiling, not an average: drive at this share of it (never above the class speed).
MAXSPEED_SHARE = 0.9
_NO_ACCESS = {"no", "private", "agricultural", "forestry", "delivery", "emergency"}
_MPH = 1.609344


def parse_maxspeed(value: str | None) -> float | None:
    """km/h from an OSM maxspeed tag ('50', '30 mph', 'GB:nsl_single', 'none'); None when unknown."""
    if not value:
        return None
    v = value.strip().lower()
    named = {"gb:nsl_single": 60 * _MPH, "gb:nsl_dual": 70 * _MPH, "gb:motorway": 70 * _MPH,
             "uk:nsl_single": 60 * _MPH, "uk:nsl_dual": 70 * _MPH, "uk:motorway": 70 * _MPH,
             "national": 60 * _MPH, "gb:urban": 30 * _MPH, "walk": 6.0}
    if v in named:
        return named[v]
    m = re.match(r"^\s*([0-9]+(?:\.[0-9]+)?)\s*(mph|km/h|kmh|kph)?\s*$", v)
    if not m:
        return None
    speed = float(m.group(1))
    return speed * _MPH if m.group(2) == "mph" else speed


def _haversine(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    p1, p2 = math.radians(lat1), math.radians(lat2)
    a = math.sin((p2 - p1) / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(math.radians(lon2 - lon1) / 2) ** 2
    return 2 * 6_371_008.8 * math.asin(min(1.0, math.sqrt(a)))


def _direction(tags: Mapping[str, str], highway: str) -> int:
    """+1 one way along the way, -1 one way against it, 0 both ways."""
    oneway = (tags.get("oneway") or "").lower()
    if oneway in ("yes", "true", "1"):
        return 1
    if oneway in ("-1", "reverse"):
        return -1
    if oneway == "no":
        return 0
    if tags.get("junction") in ("roundabout", "circular") or highway in ("motorway", "motorway_link"):
        return 1
    return 0


def graph_from_osm(path: Path | str, *, include_service: bool = False, speeds: Mapping[str, float] | None = None,
                   progress: Callable[[int, int], None] | bool | None = None, progress_every: int = 50_000) -> nx.DiGraph:
    """Drivable DiGraph: nodes are junctions/ends (y, x), edges are way pieces between them.

    Degree-2 through nodes are contracted: each edge carries the full along-road length (metres) and
    travel_time (seconds) of its piece. `progress` is a callback(ways_seen, drivable_ways) or True for stderr.
    """
    import osmium

    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"OSM extract {path} not found")
    spd = dict(OSM_SPEEDS)
    if speeds:
        unknown = sorted(set(speeds) - set(spd))
        if unknown:
            raise ValueError(f"unknown OSM highway class(es) {unknown}; known: {sorted(spd)}")
        spd.update({k: float(v) for k, v in speeds.items()})
    allowed = set(spd) - ({"service"} if not include_service else set())
    if progress is True:
        def progress(seen: int, kept: int) -> None:  # noqa: F811
            print(f"osm: {seen:,} ways read, {kept:,} drivable", file=sys.stderr)

    ways: list[tuple[list[tuple[int, float, float]], str, int, float]] = []
    uses: dict[int, int] = {}

    class Handler(osmium.SimpleHandler):
        seen = 0

        def way(self, w) -> None:
            Handler.seen += 1
            if progress and Handler.seen % progress_every == 0:
                progress(Handler.seen, len(ways))
            tags = w.tags
            highway = tags.get("highway")
            if highway not in allowed or tags.get("area") == "yes":
                return
            if (tags.get("access") in _NO_ACCESS or tags.get("motor_vehicle") in _NO_ACCESS
                    or tags.get("motorcar") in _NO_ACCESS):
                return
            pts = []
            for n in w.nodes:
                loc = n.location
                if not loc.valid():
                    continue
                pts.append((int(n.ref), float(loc.lat), float(loc.lon)))
            if len(pts) < 2:
                return
            limit = parse_maxspeed(tags.get("maxspeed"))
            speed = spd[highway] if limit is None else min(spd[highway], MAXSPEED_SHARE * limit)
            ways.append((pts, highway, _direction(tags, highway), max(speed, 3.0)))
            for i, (ref, _, _) in enumerate(pts):
                # ends count twice so they always stay as graph nodes
                uses[ref] = uses.get(ref, 0) + (2 if i in (0, len(pts) - 1) else 1)

    Handler().apply_file(str(path), locations=True)
    if progress:
        progress(Handler.seen, len(ways))

    graph = nx.DiGraph()
    graph.graph["meta"] = {"source": "osm", "input": path.name}

    def emit(a, b, length: float, seconds: float, highway: str, direction: int) -> None:
        for u, v in ((a, b), (b, a)) if direction == 0 else (((a, b),) if direction > 0 else ((b, a),)):
            if u[0] == v[0]:
                continue
            old = graph.get_edge_data(u[0], v[0])
            if old is not None and old["travel_time"] <= seconds:
                continue
            graph.add_node(u[0], y=u[1], x=u[2])
            graph.add_node(v[0], y=v[1], x=v[2])
            graph.add_edge(u[0], v[0], travel_time=seconds, length=length, highway=highway, oneway=direction != 0)

    for pts, highway, direction, speed in ways:
        start = pts[0]
        length = 0.0
        for prev, cur in zip(pts[:-1], pts[1:]):
            length += _haversine(prev[1], prev[2], cur[1], cur[2])
            if uses.get(cur[0], 0) >= 2:
                emit(start, cur, length, length / (speed / 3.6), highway, direction)
                start, length = cur, 0.0
    return graph


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m geodata.osm", description=__doc__)
    ap.add_argument("input", type=Path, help="OSM extract: .osm, .osm.pbf or .osm.bz2")
    ap.add_argument("output", type=Path, help="graph file to write (.npz), loadable by RoadNetwork.from_file")
    ap.add_argument("--service", action="store_true", help="include highway=service roads")
    args = ap.parse_args(argv)
    t0 = time.perf_counter()
    graph = graph_from_osm(args.input, include_service=args.service, progress=True)
    if graph.number_of_nodes() == 0:
        print(f"error: no drivable roads found in {args.input}", file=sys.stderr)
        return 1
    save_graph(graph, args.output, meta=graph.graph["meta"])
    print(f"wrote {args.output}: {graph.number_of_nodes():,} nodes, {graph.number_of_edges():,} edges "
          f"in {time.perf_counter() - t0:.1f} s", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
