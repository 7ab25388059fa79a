"""Precomputed travel fields: agreement with networkx, direction, caching and routes."""

from __future__ import annotations

import os

import networkx as nx
import numpy as np
import pytest

from geodata.roads import haversine_m, load_calibration
from geodata.routing import ACCESS_SPEED_KMH, RoadNetwork, Travel, TravelFields
from geodata.synthetic import synthetic_road_graph

CAL = load_calibration()
HOSP = {k: (h["lat"], h["lon"]) for k, h in CAL["hospitals"].items()}


def _edge(g, a, b, seconds, metres, highway="residential", oneway=False):
    g.add_edge(a, b, travel_time=seconds, length=metres, highway=highway)
    if not oneway:
        g.add_edge(b, a, travel_time=seconds, length=metres, highway=highway)


def _square_with_oneway() -> nx.DiGraph:
    """Four corners ~1 km apart; the short side 0->1 is one-way, so 1->0 must go round."""
    g = nx.DiGraph()
    for i, (lat, lon) in enumerate([(54.0, -2.80), (54.0, -2.785), (54.009, -2.785), (54.009, -2.80)]):
        g.add_node(i, y=lat, x=lon)
    _edge(g, 0, 1, 60, 1000, oneway=True)
    _edge(g, 1, 2, 60, 1000)
    _edge(g, 2, 3, 60, 1000)
    _edge(g, 3, 0, 60, 1000)
    return g


def test_oneway_street_is_respected(tmp_path):
    net = RoadNetwork.from_graph(_square_with_oneway())
    tf = TravelFields.build(net, {"a": (54.0, -2.80), "b": (54.0, -2.785)}, cache_dir=tmp_path)
    to_b = tf.travel(54.0, -2.80, ids=["b"])["b"]       # along the one-way: 1 edge
    to_a = tf.travel(54.0, -2.785, ids=["a"])["a"]      # against it: 3 edges round the block
    assert to_b.minutes == pytest.approx(1.0, abs=1e-6) and to_b.km == pytest.approx(1.0, abs=1e-6)
    assert to_a.minutes == pytest.approx(3.0, abs=1e-6) and to_a.km == pytest.approx(3.0, abs=1e-6)
    assert tf.route(54.0, -2.785, "a")[1:-1] == [(54.0, -2.785), (54.009, -2.785), (54.009, -2.80), (54.0, -2.80)]


def test_mobile_targets_time_the_drive_out(tmp_path):
    net = RoadNetwork.from_graph(_square_with_oneway())
    tf = TravelFields.build(net, {"team": (54.0, -2.80)}, mobile={"team"}, cache_dir=tmp_path)
    # the team at corner 0 drives to a patient at corner 1 along the one-way: 1 minute
    assert tf.travel(54.0, -2.785)["team"].minutes == pytest.approx(1.0, abs=1e-6)
    line = tf.route(54.0, -2.785, "team")
    assert line[0] == (54.0, -2.80) and line[-1] == (54.0, -2.785)


def test_access_legs_are_added(tmp_path):
    net = RoadNetwork.from_graph(_square_with_oneway())
    tf = TravelFields.build(net, {"b": (54.0, -2.785)}, cache_dir=tmp_path)
    lat = 54.0 - 0.001  # ~111 m south of corner 0
    node, gap = net.snap(lat, -2.80)
    assert node == 0 and gap == pytest.approx(111.2, abs=0.5)
    t = tf.travel(lat, -2.80)["b"]
    extra_s = gap * 1.3 / (ACCESS_SPEED_KMH / 3.6)
    assert t.minutes == pytest.approx(1.0 + extra_s / 60, rel=1e-4)


def test_unreachable_targets_are_omitted(tmp_path):
    g = _square_with_oneway()
    g.add_node(9, y=54.5, x=-2.5)  # an island: dropped from routing, so nothing snaps to it
    net = RoadNetwork.from_graph(g)
    assert net.node_count == 4
    tf = TravelFields.build(net, {"b": (54.0, -2.785)}, cache_dir=tmp_path)
    assert set(tf.travel(54.0, -2.8)) == {"b"}


def test_fast_ranking_matches_brute_force_networkx(tmp_path):
    net = RoadNetwork.default()
    tf = TravelFields.build(net, HOSP, cache_dir=tmp_path)
    rev = net.graph.reverse(copy=True)
    rng = np.random.default_rng(11)
    tnode = {k: net.node_ids[net.snap(*p)[0]] for k, p in HOSP.items()}
    for i in rng.choice(net.node_count, size=25, replace=False):
        lat, lon = float(net.lat[i]), float(net.lon[i])
        if net.snap(lat, lon)[1] > 0:
            continue  # motorway waypoint: not routable
        fast = tf.travel(lat, lon)
        src = net.node_ids[net.snap(lat, lon)[0]]
        brute = {}
        for k, n in tnode.items():
            sec = nx.shortest_path_length(net.graph, src, n, weight="travel_time")
            s1 = tf._access[k][0]
            brute[k] = (sec + s1) / 60
        for k in HOSP:
            assert fast[k].minutes == pytest.approx(brute[k], rel=1e-4, abs=1e-3)
        assert sorted(fast, key=lambda k: (fast[k].minutes, k)) == sorted(brute, key=lambda k: (brute[k], k))
        # distance is the length of the time-shortest path
        k = min(fast, key=lambda k: fast[k].minutes)
        path = nx.shortest_path(net.graph, src, tnode[k], weight="travel_time")
        metres = sum(net.graph.edges[a, b]["length"] for a, b in zip(path[:-1], path[1:])) + tf._access[k][1]
        assert fast[k].km == pytest.approx(metres / 1000, rel=1e-3, abs=1e-3)
    assert rev.number_of_nodes() == net.node_count


def test_cache_reuses_fields_and_recomputes_only_moved_targets(tmp_path):
    net = RoadNetwork.default()
    first = TravelFields.build(net, HOSP, cache_dir=tmp_path)
    assert sorted(first.computed) == sorted(HOSP)
    mtimes = {p.name: p.stat().st_mtime_ns for p in tmp_path.glob("*.npy")}
    moved = dict(HOSP, RPH=(53.7925, -2.7060))
    second = TravelFields.build(net, moved, cache_dir=tmp_path)
    assert second.computed == ["RPH"]
    for p in tmp_path.glob("*.npy"):
        if p.name in mtimes:
            assert p.stat().st_mtime_ns == mtimes[p.name], f"{p.name} was rewritten"
    assert not list(tmp_path.glob("*.tmp"))
    third = TravelFields.build(net, moved, cache_dir=tmp_path)
    assert third.computed == []
    a, b = second.travel(54.0, -2.8), third.travel(54.0, -2.8)
    assert a == b and all(isinstance(t, Travel) for t in a.values())
    assert isinstance(third._fields["RPH"], np.memmap)


def test_changed_graph_gets_new_fields(tmp_path):
    g = _square_with_oneway()
    n1 = RoadNetwork.from_graph(g)
    g2 = g.copy()
    g2.edges[1, 2]["travel_time"] = 120
    n2 = RoadNetwork.from_graph(g2)
    assert n1.digest != n2.digest
    assert RoadNetwork.from_graph(g.copy()).digest == n1.digest
    TravelFields.build(n1, {"a": (54.0, -2.8)}, cache_dir=tmp_path)
    assert TravelFields.build(n2, {"a": (54.0, -2.8)}, cache_dir=tmp_path).computed == ["a"]


def test_route_polyline_runs_from_point_to_hospital(tmp_path):
    net = RoadNetwork.default()
    tf = TravelFields.build(net, {"RLI": HOSP["RLI"]}, cache_dir=tmp_path)
    kendal = tuple(CAL["places"]["Kendal"])
    line = tf.route(*kendal, "RLI")
    assert line[0] == kendal and line[-1] == HOSP["RLI"]
    along = sum(haversine_m(a[0], a[1], b[0], b[1]) for a, b in zip(line[:-1], line[1:])) / 1000
    assert along <= tf.travel(*kendal)["RLI"].km + 0.01


def test_bad_input_is_named(tmp_path):
    net = RoadNetwork.from_graph(_square_with_oneway())
    with pytest.raises(ValueError, match="target 'x'"):
        TravelFields.build(net, {"x": (123.0, 0.0)}, cache_dir=tmp_path)
    with pytest.raises(ValueError, match="mobile ids"):
        TravelFields.build(net, {"a": (54.0, -2.8)}, mobile={"zz"}, cache_dir=tmp_path)
    tf = TravelFields.build(net, {"a": (54.0, -2.8)}, cache_dir=tmp_path)
    with pytest.raises(KeyError, match="unknown target id"):
        tf.travel(54.0, -2.8, ids=["nope"])
    with pytest.raises(ValueError, match="lat/lon"):
        net.snap(95.0, 0.0)


def test_synthetic_graph_is_road_like():
    g = synthetic_road_graph(5_000, seed=1)
    assert 4_500 <= g.number_of_nodes() <= 5_500
    kinds = {d["highway"] for _, _, d in g.edges(data=True)}
    assert {"primary", "secondary", "residential"} <= kinds
    assert any(not g.has_edge(b, a) for a, b in g.edges)  # some one-way streets
    net = RoadNetwork.from_graph(g)
    assert net.node_count > 0.9 * g.number_of_nodes()
    assert synthetic_road_graph(5_000, seed=1).edges(data=True) is not None
    assert RoadNetwork.from_graph(synthetic_road_graph(5_000, seed=1)).digest == net.digest


def test_default_network_is_cached_per_process():
    assert RoadNetwork.default() is RoadNetwork.default()
