"""Benchmark the full directory search (all filters) against the routing look-up alone.

python -m bench.search [--quick]   prints figures; the last line is one JSON object.
"""
from __future__ import annotations

import argparse
import json
import random
import resource
import statistics
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

from directory.search import Need, Origin, Patient, search
from uec.config import Settings
from uec.core import UrgentCare


def _pct(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(round(q * (len(values) - 1))))]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--origins", type=int, default=3000)
    ap.add_argument("--synthetic", type=int, default=0, metavar="NODES",
                    help="route on a generated road-like graph of this many nodes (e.g. 200000) instead of "
                         "the embedded LSC graph, to show the filters' cost at full-OSM scale")
    args = ap.parse_args(argv)
    n = 600 if args.quick else args.origins
    tmp = Path(tempfile.mkdtemp(prefix="uec-bench-"))
    geo = None
    graph_label = "embedded LSC graph"
    if args.synthetic:
        from geodata import Geo
        from geodata.routing import RoadNetwork
        from geodata.synthetic import synthetic_road_graph
        network = RoadNetwork.from_graph(synthetic_road_graph(args.synthetic, seed=7))
        geo = Geo(network=network)
        graph_label = f"synthetic graph of {network.graph.number_of_nodes():,} nodes"
    care = UrgentCare(Settings.from_env(var_dir=tmp, database_url=f"sqlite:///{tmp / 'd.sqlite'}"), geo=geo)
    care.initialise()
    t0 = time.perf_counter()
    snap = care.snapshot()
    build_s = time.perf_counter() - t0
    rng = random.Random(42)
    lsoas = care.geo.areas.lsoas()
    origins = [(r.lat + rng.gauss(0, 0.003), r.lon + rng.gauss(0, 0.005)) for r in rng.choices(lsoas, k=n)]
    codes = [d for d in care.rules.dispositions.values()]
    base = datetime(2026, 11, 23, tzinfo=timezone.utc)
    routing_ms, search_ms, api_ms = [], [], []
    for i, (lat, lon) in enumerate(origins):
        d = codes[i % len(codes)]
        at = base + timedelta(minutes=rng.randrange(0, 7 * 24 * 60))
        t1 = time.perf_counter()
        loc = care.geo.locate(lat=lat, lon=lon)
        travel = care.travel_from(snap, loc)
        t2 = time.perf_counter()
        search(snap.services, Need(d.code, d.cls, d.within_minutes, d.label),
               Origin(loc.lat, loc.lon, loc.lad_code, loc.place), at, travel=travel, rankings=snap.rankings,
               patient=Patient(rng.choice([3, 30, 80]), rng.choice(["female", "male"])),
               requester_role=rng.choice(["public", "nhs111", "nwas", "gp"]))
        t3 = time.perf_counter()
        routing_ms.append((t2 - t1) * 1000)
        search_ms.append((t3 - t1) * 1000)
    for i, (lat, lon) in enumerate(origins[: min(300, n)]):
        d = codes[i % len(codes)]
        t1 = time.perf_counter()
        care.route({"disposition": d.code, "location": {"lat": lat, "lon": lon}, "age": 40, "sex": "female",
                    "at": (base + timedelta(hours=i)).isoformat()})
        api_ms.append((time.perf_counter() - t1) * 1000)
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    result = {
        "graph": graph_label, "origins": n, "services": len(snap.services), "snapshot_build_s": round(build_s, 2),
        "routing_only_p50_ms": round(statistics.median(routing_ms), 3), "routing_only_p99_ms": round(_pct(routing_ms, 0.99), 3),
        "p50_ms": round(statistics.median(search_ms), 3), "p99_ms": round(_pct(search_ms, 0.99), 3),
        "route_with_gap_log_p50_ms": round(statistics.median(api_ms), 3),
        "route_with_gap_log_p99_ms": round(_pct(api_ms, 0.99), 3),
        "max_rss_mb": round(rss_mb, 1),
    }
    print(f"directory search with every filter on ({n} origins, {len(snap.services)} services, {graph_label}):")
    print(f"  locate + road look-up only : p50 {result['routing_only_p50_ms']} ms, p99 {result['routing_only_p99_ms']} ms")
    print(f"  + full search (all filters): p50 {result['p50_ms']} ms, p99 {result['p99_ms']} ms")
    print(f"  whole route() incl. gap log: p50 {result['route_with_gap_log_p50_ms']} ms, p99 {result['route_with_gap_log_p99_ms']} ms")
    print(f"  snapshot build {result['snapshot_build_s']} s, max RSS {result['max_rss_mb']} MB")
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
