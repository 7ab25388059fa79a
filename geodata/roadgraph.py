"""Road graph file format: a deterministic compressed .npz of nodes and directed edges, loaded into networkx."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path
from typing import Mapping

import networkx as nx
import numpy as np

__all__ = [
    "DEFAULT_GRAPH_PATH",
    "FORMAT_VERSION",
    "load_graph",
    "save_graph",
    "graph_to_arrays",
    "arrays_to_graph",
]

DEFAULT_GRAPH_PATH = Path(__file__).resolve().parent / "data" / "roads" / "lsc_graph.npz"
FORMAT_VERSION = 1
_ZIP_DATE = (1980, 1, 1, 0, 0, 0)


def graph_to_arrays(graph: nx.DiGraph, *, meta: Mapping[str, object] | None = None) -> dict[str, np.ndarray]:
    """Flatten a road DiGraph (node attrs y, x; edge attrs travel_time, length, highway) into arrays."""
    nodes = list(graph.nodes)
    index = {n: i for i, n in enumerate(nodes)}
    try:
        lat = np.array([float(graph.nodes[n]["y"]) for n in nodes], dtype=np.float64)
        lon = np.array([float(graph.nodes[n]["x"]) for n in nodes], dtype=np.float64)
    except KeyError as exc:
        raise ValueError(f"every node needs 'y' (lat) and 'x' (lon) attributes; missing {exc}") from None
    names = [str(graph.nodes[n].get("name", "")) for n in nodes]
    edges = list(graph.edges(data=True))
    classes = sorted({str(d.get("highway", "unclassified")) for _, _, d in edges})
    class_index = {c: i for i, c in enumerate(classes)}
    u = np.array([index[a] for a, _, _ in edges], dtype=np.int32)
    v = np.array([index[b] for _, b, _ in edges], dtype=np.int32)
    try:
        time_s = np.array([float(d["travel_time"]) for _, _, d in edges], dtype=np.float32)
        length_m = np.array([float(d["length"]) for _, _, d in edges], dtype=np.float32)
    except KeyError as exc:
        raise ValueError(f"every edge needs 'travel_time' (s) and 'length' (m); missing {exc}") from None
    highway = np.array([class_index[str(d.get("highway", "unclassified"))] for _, _, d in edges], dtype=np.uint8)
    oneway = np.array([bool(d.get("oneway", not graph.has_edge(b, a))) for a, b, d in edges], dtype=np.bool_)
    urban = np.array([float(d.get("urban", 0.0)) for _, _, d in edges], dtype=np.float32)
    width = max([1] + [len(s) for s in names])
    return {
        "version": np.array([FORMAT_VERSION], dtype=np.int32),
        "lat": lat,
        "lon": lon,
        "name": np.array(names, dtype=f"<U{width}"),
        "u": u,
        "v": v,
        "time_s": time_s,
        "length_m": length_m,
        "highway": highway,
        "highway_names": np.array(classes or ["unclassified"], dtype="<U32"),
        "oneway": oneway,
        "urban": urban,
        "meta": np.array([json.dumps(dict(meta or {}), sort_keys=True)]),
    }


def save_graph(graph: nx.DiGraph, path: Path | str, *, meta: Mapping[str, object] | None = None) -> Path:
    """Write the graph as a byte-for-byte deterministic .npz (fixed zip timestamps, fixed order)."""
    path = Path(path)
    arrays = graph_to_arrays(graph, meta=meta)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for key in sorted(arrays):
            buf = io.BytesIO()
            np.lib.format.write_array(buf, np.ascontiguousarray(arrays[key]), allow_pickle=False)
            info = zipfile.ZipInfo(f"{key}.npy", date_time=_ZIP_DATE)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            zf.writestr(info, buf.getvalue(), compresslevel=9)
    tmp.replace(path)
    return path


def arrays_to_graph(arrays: Mapping[str, np.ndarray], *, speeds: Mapping[str, float] | None = None,
                    default_speeds: Mapping[str, float] | None = None) -> nx.DiGraph:
    """Build the networkx.DiGraph; `speeds` (km/h per highway class) rescales times from `default_speeds`."""
    lat, lon, names = arrays["lat"], arrays["lon"], arrays["name"]
    classes = [str(c) for c in arrays["highway_names"]]
    time_s = np.asarray(arrays["time_s"], dtype=np.float64).copy()
    urban = np.asarray(arrays["urban"], dtype=np.float64) if "urban" in arrays else np.zeros(len(time_s))
    if speeds:
        base = dict(default_speeds or {})
        if not base:
            raise ValueError("this graph file records no speed table, so `speeds` cannot re-time it; "
                             "rebuild it with the wanted speeds instead")
        unknown = sorted(set(speeds) - set(base))
        if unknown:
            raise ValueError(f"unknown speed class(es) {unknown}; known: {sorted(base)}")
        bad = {k: s for k, s in speeds.items() if not float(s) > 0}
        if bad:
            raise ValueError(f"speeds must be positive km/h, got {bad}")
        new = {**base, **{k: float(s) for k, s in speeds.items()}}
        factor = np.ones(len(time_s))
        for i, c in enumerate(classes):
            if c not in base:
                continue
            sel = arrays["highway"] == i
            f = urban[sel]
            cu = c + "_urban" if c + "_urban" in base else c
            old_pace = f / base[cu] + (1 - f) / base[c]
            new_pace = f / new[cu] + (1 - f) / new[c]
            factor[sel] = new_pace / old_pace
        time_s *= factor
    graph = nx.DiGraph()
    graph.graph["meta"] = json.loads(str(arrays["meta"][0])) if "meta" in arrays else {}
    for i in range(len(lat)):
        attrs = {"y": float(lat[i]), "x": float(lon[i])}
        if names[i]:
            attrs["name"] = str(names[i])
        graph.add_node(i, **attrs)
    for k, (a, b) in enumerate(zip(arrays["u"].tolist(), arrays["v"].tolist())):
        attrs = {
            "travel_time": float(time_s[k]),
            "length": float(arrays["length_m"][k]),
            "highway": classes[int(arrays["highway"][k])],
            "oneway": bool(arrays["oneway"][k]),
        }
        if urban[k]:
            attrs["urban"] = float(urban[k])
        graph.add_edge(a, b, **attrs)
    return graph


def load_graph(path: Path | str = DEFAULT_GRAPH_PATH, *, speeds: Mapping[str, float] | None = None) -> nx.DiGraph:
    """Load a graph file written by save_graph (the embedded LSC graph or an OSM import)."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(
            f"road graph file {path} not found; build it with `python scripts/build_road_graph.py` "
            f"or import OSM data with `python -m geodata.osm INPUT {path}`")
    with np.load(path, allow_pickle=False) as data:
        arrays = {k: data[k] for k in data.files}
    version = int(arrays.get("version", np.array([0]))[0])
    if version != FORMAT_VERSION:
        raise ValueError(f"{path} has graph format version {version}, expected {FORMAT_VERSION}; rebuild it")
    default_speeds = None
    if speeds:
        from geodata.roads import DEFAULT_SPEEDS  # local import: roads depends on this module
        meta = json.loads(str(arrays["meta"][0]))
        default_speeds = meta.get("speeds_kmh") or DEFAULT_SPEEDS
    return arrays_to_graph(arrays, speeds=speeds, default_speeds=default_speeds)
