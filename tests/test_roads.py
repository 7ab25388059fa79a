"""Credibility of the embedded Lancashire and South Cumbria road graph."""

from __future__ import annotations

import csv
from pathlib import Path

import networkx as nx
import numpy as np
import pytest
import yaml

from geodata.roadgraph import DEFAULT_GRAPH_PATH, load_graph, save_graph
from geodata.roads import DATA_DIR, DEFAULT_SPEEDS, build_lsc_graph, haversine_m, load_calibration
from geodata.routing import RoadNetwork, TravelFields

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data"
needs_shared = pytest.mark.skipif(not (SHARED / "lsoa" / "lsc_lsoa.csv").exists(),
                                  reason="../shared/data not present")
CAL = load_calibration()
EDS = {k: (h["lat"], h["lon"]) for k, h in CAL["hospitals"].items() if h["ed"]}
ALL = {k: (h["lat"], h["lon"]) for k, h in CAL["hospitals"].items()}


@pytest.fixture(scope="module")
def net() -> RoadNetwork:
    return RoadNetwork.default()


@pytest.fixture(scope="module")
def fields(net, tmp_path_factory) -> TravelFields:
    return TravelFields.build(net, ALL, cache_dir=tmp_path_factory.mktemp("fields"))


def _lsoa():
    with open(SHARED / "lsoa" / "lsc_lsoa.csv", newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


@pytest.mark.parametrize("place,hospital,lo,hi", [tuple(t) for t in CAL["trips"]])
def test_reference_trips_fall_in_chosen_ranges(fields, place, hospital, lo, hi):
    lat, lon = CAL["places"][place]
    t = fields.travel(lat, lon, ids=[hospital])[hospital]
    assert lo <= t.minutes <= hi, f"{place} -> {hospital}: {t.minutes:.1f} min not in [{lo}, {hi}]"
    crow_km = haversine_m(lat, lon, *ALL[hospital]) / 1000
    assert crow_km <= t.km <= 3 * crow_km + 3, f"road km {t.km:.1f} implausible for {crow_km:.1f} km crow-fly"


def test_default_graph_is_strongly_connected_and_sane(net):
    g = net.graph
    assert g.number_of_nodes() > 1500
    assert nx.is_strongly_connected(g)
    for _, _, d in g.edges(data=True):
        speed = d["length"] / d["travel_time"] * 3.6
        assert 3 <= speed <= 110, d
    lat, lon = net.lat, net.lon
    assert 53.4 < lat.min() and lat.max() < 54.95 and -3.5 < lon.min() and lon.max() < -1.85


def test_triangle_inequality_and_near_symmetry(net):
    from scipy.sparse.csgraph import dijkstra

    rng = np.random.default_rng(3)
    sample = rng.choice(net.node_count, size=40, replace=False)
    d = dijkstra(net.time, directed=True, indices=sample)[:, sample]
    assert np.all(np.isfinite(d))
    # triangle inequality on shortest-path times: no detour via a third node is shorter
    via = (d[:, :, None] + d[None, :, :]).min(axis=1)
    assert np.all(d <= via + 1e-3)
    off = ~np.eye(len(sample), dtype=bool)
    ratio = d[off] / d.T[off]
    assert ratio.max() < 1.5, "A->B and B->A should be similar on a mostly two-way network"


@needs_shared
def test_every_lsoa_centroid_reaches_every_ed(fields):
    for row in _lsoa():
        res = fields.travel(float(row["lat"]), float(row["lon"]), ids=list(EDS))
        assert set(res) == set(EDS), row["lsoa11cd"]
        best = min(t.minutes for t in res.values())
        assert best < 75, f"{row['lsoa11cd']} is {best:.0f} min from every ED"


@needs_shared
def test_lsoa_centroids_snap_onto_the_graph(net):
    rows = _lsoa()
    lat = np.array([float(r["lat"]) for r in rows])
    lon = np.array([float(r["lon"]) for r in rows])
    _, gap = net.snap_many(lat, lon)
    assert np.median(gap) < 1 and gap.max() < 300


def test_no_local_edge_crosses_an_estuary_barrier(net):
    from geodata.roads import _Barriers, project_m

    with open(DATA_DIR / "barriers.yaml", encoding="utf-8") as fh:
        barriers = _Barriers(yaml.safe_load(fh)["barriers"].values())
    xy = project_m(net.lat, net.lon)
    for a, b, d in net.graph.edges(data=True):
        if d["highway"] == "local":
            assert not barriers.crosses(xy[a], xy[b]), (net.graph.nodes[a], net.graph.nodes[b])


def test_crossing_the_ribble_estuary_goes_round_by_preston(fields):
    # Lytham to Southport is ~10 km over the water but ~45 km by road through Preston
    t = fields.travel(53.7375, -2.9650, ids=["SDGH"])["SDGH"]
    assert t.km > 35 and t.minutes > 40


def test_backbone_names_are_consistent():
    with open(DATA_DIR / "backbone.yaml", encoding="utf-8") as fh:
        data = yaml.safe_load(fh)
    named = set(data["nodes"])
    used = {p for r in data["roads"] for p in r["path"] if isinstance(p, str)}
    assert used <= named
    assert named - used == set(), f"named nodes on no road: {sorted(named - used)}"
    for r in data["roads"]:
        assert r["class"] in {"motorway", "trunk", "primary", "secondary", "minor"}


def test_speed_override_retimes_the_graph():
    base = load_graph()
    slow = load_graph(speeds={"motorway": DEFAULT_SPEEDS["motorway"] / 2})
    for a, b, d in base.edges(data=True):
        if d["highway"] == "motorway":
            assert slow.edges[a, b]["travel_time"] == pytest.approx(2 * d["travel_time"], rel=1e-4)
        else:
            assert slow.edges[a, b]["travel_time"] == pytest.approx(d["travel_time"], rel=1e-5)
    with pytest.raises(ValueError, match="unknown speed class"):
        load_graph(speeds={"autobahn": 200})


@needs_shared
def test_build_is_deterministic_and_matches_committed_file(tmp_path):
    graph = build_lsc_graph(shared_data=SHARED)
    out = save_graph(graph, tmp_path / "g.npz", meta=graph.graph["meta"])
    assert out.read_bytes() == DEFAULT_GRAPH_PATH.read_bytes(), (
        "committed graph is stale: run python scripts/build_road_graph.py")


def test_default_speeds_are_recorded_in_the_file():
    g = load_graph()
    assert g.graph["meta"]["speeds_kmh"] == DEFAULT_SPEEDS


def test_motorway_interchanges_without_exits_are_not_entry_points(net):
    g = net.graph
    names = {d.get("name"): n for n, d in g.nodes(data=True) if d.get("name")}
    for junction in ("M6_J30", "M6_J32"):
        n = names[junction]
        kinds = {d["highway"] for _, _, d in g.in_edges(n, data=True)} | {
            d["highway"] for _, _, d in g.out_edges(n, data=True)}
        assert kinds == {"motorway"}, (junction, kinds)
        assert n not in set(net.routable_idx.tolist())


def test_one_point_helpers_match_the_array_versions():
    """snap() uses the plain-float forms; they must agree with the numpy ones the fields were built with."""
    import random
    from geodata.roads import haversine_m, haversine_point_m, project_m, project_point_m
    rng = random.Random(1)
    for _ in range(500):
        la, lo, la2, lo2 = rng.uniform(53.5, 54.6), rng.uniform(-3.2, -2.0), rng.uniform(53.5, 54.6), rng.uniform(-3.2, -2.0)
        assert tuple(project_m(la, lo).tolist()) == project_point_m(la, lo)
        assert abs(float(haversine_m(la, lo, la2, lo2)) - haversine_point_m(la, lo, la2, lo2)) < 1e-6
