"""Generate a large road-like test graph over the LSC bounding box (perturbed grid with a road hierarchy)."""

from __future__ import annotations

import math

import networkx as nx
import numpy as np

from geodata.roads import haversine_m

__all__ = ["LSC_BBOX", "synthetic_road_graph"]

LSC_BBOX = (53.45, -3.45, 54.75, -1.90)  # south, west, north, east
_SPEEDS = {"motorway": 105.0, "primary": 60.0, "secondary": 45.0, "residential": 25.0}


def synthetic_road_graph(n_nodes: int = 200_000, *, seed: int = 7, bbox=LSC_BBOX,
                         drop_share: float = 0.08, oneway_share: float = 0.10) -> nx.DiGraph:
    """A deterministic grid-like DiGraph of about `n_nodes` nodes with motorway/primary/secondary/residential.

    Every 120th grid line is a motorway, every 40th primary, every 10th secondary; a share of residential
    edges is removed and a share made one-way (random direction), so routing must respect direction.
    """
    if n_nodes < 100:
        raise ValueError(f"n_nodes must be at least 100, got {n_nodes}")
    rng = np.random.default_rng(seed)
    south, west, north, east = bbox
    height = float(haversine_m(south, west, north, west))
    width = float(haversine_m((south + north) / 2, west, (south + north) / 2, east))
    spacing = math.sqrt(height * width / n_nodes)
    rows = max(2, int(round(height / spacing)))
    cols = max(2, int(math.ceil(n_nodes / rows)))
    r, c = np.meshgrid(np.arange(rows), np.arange(cols), indexing="ij")
    jitter = 0.25
    lat = south + (r + rng.uniform(-jitter, jitter, r.shape)) * (north - south) / (rows - 1)
    lon = west + (c + rng.uniform(-jitter, jitter, c.shape)) * (east - west) / (cols - 1)
    lat, lon = lat.ravel(), lon.ravel()
    idx = np.arange(rows * cols).reshape(rows, cols)

    def line_class(k: np.ndarray) -> np.ndarray:
        cls = np.full(k.shape, 3, dtype=np.int8)       # residential
        cls[k % 10 == 0] = 2                            # secondary
        cls[k % 40 == 0] = 1                            # primary
        cls[k % 120 == 60] = 0                          # motorway
        return cls

    # horizontal edges run along a row (class from the row), vertical along a column
    hu, hv = idx[:, :-1].ravel(), idx[:, 1:].ravel()
    hcls = np.repeat(line_class(np.arange(rows)), cols - 1)
    vu, vv = idx[:-1, :].ravel(), idx[1:, :].ravel()
    vcls = np.tile(line_class(np.arange(cols)), rows - 1)
    u = np.concatenate([hu, vu])
    v = np.concatenate([hv, vv])
    cls = np.concatenate([hcls, vcls])
    keep = (cls < 3) | (rng.random(len(u)) >= drop_share)
    u, v, cls = u[keep], v[keep], cls[keep]
    oneway = (cls == 3) & (rng.random(len(u)) < oneway_share)
    flip = oneway & (rng.random(len(u)) < 0.5)
    u, v = np.where(flip, v, u), np.where(flip, u, v)
    length = haversine_m(lat[u], lon[u], lat[v], lon[v]) * 1.05
    names = ["motorway", "primary", "secondary", "residential"]
    speed = np.array([_SPEEDS[x] for x in names])[cls] / 3.6
    time_s = length / speed

    graph = nx.DiGraph()
    graph.add_nodes_from((i, {"y": float(lat[i]), "x": float(lon[i])}) for i in range(len(lat)))
    for a, b, t, m, k, ow in zip(u.tolist(), v.tolist(), time_s.tolist(), length.tolist(), cls.tolist(), oneway.tolist()):
        attrs = {"travel_time": t, "length": m, "highway": names[k], "oneway": ow}
        graph.add_edge(a, b, **attrs)
        if not ow:
            graph.add_edge(b, a, **attrs)
    graph.graph["meta"] = {"source": "synthetic", "seed": seed, "n_nodes": n_nodes}
    return graph
