"""Benchmark nearest-services road routing: precomputed fields vs per-query networkx Dijkstra."""

from __future__ import annotations

import argparse
import csv
import gc
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import networkx as nx
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from geodata.roads import load_calibration  # noqa: E402
from geodata.routing import RoadNetwork, TravelFields  # noqa: E402
from geodata.synthetic import synthetic_road_graph  # noqa: E402

LSOA_CSV = ROOT.parent / "shared" / "data" / "lsoa" / "lsc_lsoa.csv"


def _rss_mb() -> float:
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    import resource
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _lsoa_points() -> np.ndarray:
    with open(LSOA_CSV, newline="", encoding="utf-8") as fh:
        return np.array([(float(r["lat"]), float(r["lon"])) for r in csv.DictReader(fh)])


def _targets(n: int, *, seed: int, targets_file: Path | None,
             points: np.ndarray | None = None) -> tuple[dict[str, tuple[float, float]], list[str]]:
    """~n service-like targets: the reference hospitals, then LSOA centroids (or a YAML directory;
    or, for an imported extract elsewhere, points of its own road network)."""
    if points is not None:
        rng = np.random.default_rng(seed)
        pick = rng.choice(len(points), size=min(n, len(points)), replace=False)
        out = {f"svc{i:04d}": (float(points[j, 0]), float(points[j, 1])) for i, j in enumerate(pick)}
        return out, list(out)[-10:]
    if targets_file is not None:
        import yaml
        with open(targets_file, encoding="utf-8") as fh:
            data = yaml.safe_load(fh)
        items = data.get("services", data) if isinstance(data, dict) else data
        out = {}
        for i, s in enumerate(items):
            if isinstance(items, dict):
                sid, s = s, items[s]
            else:
                sid = str(s.get("id", i))
            out[str(sid)] = (float(s["lat"]), float(s["lon"]))
        mobile = [k for k, s in zip(out, items if not isinstance(items, dict) else items.values())
                  if isinstance(s, dict) and s.get("mobile")]
        return out, mobile
    out = {k: (h["lat"], h["lon"]) for k, h in load_calibration()["hospitals"].items()}
    pts = _lsoa_points()
    rng = np.random.default_rng(seed)
    for i in rng.choice(len(pts), size=max(0, n - len(out)), replace=False):
        out[f"svc{i:04d}"] = (float(pts[i, 0]), float(pts[i, 1]))
    mobile = [k for k in list(out)[-10:]]  # a few falls/community teams that drive out
    return out, mobile


def _origins(n: int, *, seed: int, points: np.ndarray | None = None) -> np.ndarray:
    pts = _lsoa_points() if points is None else points
    rng = np.random.default_rng(seed + 1)
    pick = pts[rng.integers(0, len(pts), size=n)]
    jitter_m = rng.normal(0, 300, size=(n, 2))
    lat = pick[:, 0] + jitter_m[:, 0] / 111_195
    lon = pick[:, 1] + jitter_m[:, 1] / (111_195 * np.cos(np.radians(pick[:, 0])))
    return np.stack([lat, lon], axis=1)


def _du(paths) -> int:
    return sum(p.stat().st_size for p in paths)


def bench_graph(label: str, network: RoadNetwork, *, n_targets: int, n_origins: int, n_baseline: int,
                seed: int, targets_file: Path | None, log, points: np.ndarray | None = None) -> dict:
    targets, mobile = _targets(n_targets, seed=seed, targets_file=targets_file, points=points)
    res: dict = {"nodes": network.node_count, "edges": int(network.time.nnz), "targets": len(targets),
                 "mobile_targets": len(mobile)}
    with tempfile.TemporaryDirectory(prefix=f"uec-fields-{label}-") as cache:
        t0 = time.perf_counter()
        fields = TravelFields.build(network, targets, mobile=mobile, cache_dir=Path(cache))
        res["precompute_s"] = round(time.perf_counter() - t0, 2)
        files = list(Path(cache).glob("*.npy"))
        res["fields_disk_mb"] = round(_du(files) / 2**20, 1)
        res["fields_mmap_mb"] = round(_du(f for f in files if f.name.endswith(".tm.npy")) / 2**20, 1)
        t0 = time.perf_counter()
        again = TravelFields.build(network, targets, mobile=mobile, cache_dir=Path(cache))
        res["warm_load_s"] = round(time.perf_counter() - t0, 3)
        assert not again.computed, "second build recomputed fields"
        log(f"[{label}] {res['nodes']:,} nodes, {len(targets)} targets: precompute {res['precompute_s']} s, "
            f"{res['fields_disk_mb']} MB on disk")

        origins = _origins(n_origins, seed=seed, points=points)
        for lat, lon in origins[:50]:  # warm the page cache and code paths
            fields.nearest(lat, lon, k=5)
        times = np.empty(len(origins))
        for i, (lat, lon) in enumerate(origins):
            t0 = time.perf_counter()
            fields.nearest(lat, lon, k=5)
            times[i] = time.perf_counter() - t0
        res["queries"] = len(origins)
        res["p50_ms"] = round(float(np.percentile(times, 50)) * 1e3, 3)
        res["p99_ms"] = round(float(np.percentile(times, 99)) * 1e3, 3)
        res["rss_mb"] = round(_rss_mb(), 1)

        # baseline: one networkx Dijkstra per query from the origin's node, then pick the best 5
        graph = network.graph
        tnodes = {tid: network.node_ids[network.snap(*pos)[0]] for tid, pos in targets.items()}
        base = []
        for lat, lon in origins[:n_baseline]:
            t0 = time.perf_counter()
            src = network.node_ids[network.snap(lat, lon)[0]]
            dist = nx.single_source_dijkstra_path_length(graph, src, weight="travel_time")
            best = sorted((dist[n], tid) for tid, n in tnodes.items() if n in dist)[:5]
            base.append(time.perf_counter() - t0)
            assert best
        res["baseline_queries"] = len(base)
        res["baseline_p50_ms"] = round(float(np.percentile(base, 50)) * 1e3, 1)
        res["baseline_p99_ms"] = round(float(np.percentile(base, 99)) * 1e3, 1)
        res["speedup"] = round(res["baseline_p50_ms"] / max(res["p50_ms"], 1e-6), 1)
        log(f"[{label}] query p50 {res['p50_ms']} ms, p99 {res['p99_ms']} ms; networkx p50 "
            f"{res['baseline_p50_ms']} ms -> speedup x{res['speedup']}; RSS {res['rss_mb']} MB")
        del fields, again
        gc.collect()
    return res


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.routing", description=__doc__)
    ap.add_argument("--quick", action="store_true", help="fewer origins and baseline runs (< 3 min)")
    ap.add_argument("--targets", type=Path, help="YAML list of services with id, lat, lon (optional mobile)")
    ap.add_argument("--nodes", type=int, default=200_000, help="size of the generated large graph")
    ap.add_argument("--seed", type=int, default=20240501)
    ap.add_argument("--osm", type=Path, action="append", default=[],
                    help="also import this .osm/.osm.pbf extract (geodata.osm) and benchmark on it (repeatable)")
    args = ap.parse_args(argv)
    log = lambda msg: print(msg, file=sys.stderr, flush=True)  # noqa: E731
    n_origins = 1_000 if args.quick else 5_000
    out: dict = {"quick": args.quick, "cpu_count": os.cpu_count()}

    t0 = time.perf_counter()
    embedded = RoadNetwork.default()
    out["embedded"] = bench_graph("embedded", embedded, n_targets=150, n_origins=n_origins,
                                  n_baseline=30 if args.quick else 100, seed=args.seed,
                                  targets_file=args.targets, log=log)
    out["embedded"]["load_s"] = round(time.perf_counter() - t0, 2)

    t0 = time.perf_counter()
    graph = synthetic_road_graph(args.nodes, seed=args.seed % 1000)
    large = RoadNetwork.from_graph(graph)
    del graph
    gc.collect()
    gen_s = round(time.perf_counter() - t0, 1)
    log(f"[synthetic] generated {large.node_count:,} nodes / {large.time.nnz:,} edges in {gen_s} s")
    out["synthetic"] = bench_graph("synthetic", large, n_targets=150, n_origins=n_origins,
                                   n_baseline=8 if args.quick else 30, seed=args.seed,
                                   targets_file=args.targets, log=log)
    out["synthetic"]["generate_s"] = gen_s
    del large
    gc.collect()
    for extract in args.osm:  # real road networks imported from OpenStreetMap extracts
        from geodata.osm import graph_from_osm
        t0 = time.perf_counter()
        imported = RoadNetwork.from_graph(graph_from_osm(extract))
        import_s = round(time.perf_counter() - t0, 1)
        pts = np.array([(imported.graph.nodes[n]["y"], imported.graph.nodes[n]["x"]) for n in imported.node_ids])
        label = f"osm:{extract.name}"
        log(f"[{label}] imported {imported.node_count:,} nodes / {imported.time.nnz:,} edges in {import_s} s")
        out[label] = bench_graph(label, imported, n_targets=min(150, imported.node_count // 4), n_origins=n_origins,
                                 n_baseline=30, seed=args.seed, targets_file=None, log=log, points=pts)
        out[label]["import_s"] = import_s
        del imported
        gc.collect()
    big = out["synthetic"]
    summary = {"p50_ms": big["p50_ms"], "p99_ms": big["p99_ms"], "baseline_p50_ms": big["baseline_p50_ms"],
               "speedup": big["speedup"], **out}
    print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
