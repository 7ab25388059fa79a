"""Road travel times to many targets: precomputed memory-mapped shortest-path fields queried in microseconds."""

from __future__ import annotations

import hashlib
import re
import sys
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Collection, Mapping, Sequence

import networkx as nx
import numpy as np

from geodata.atomic import atomic_write
from geodata.roadgraph import DEFAULT_GRAPH_PATH, load_graph
from geodata.roads import haversine_m, haversine_point_m, project_m, project_point_m

__all__ = ["Travel", "RoadNetwork", "TravelFields", "ACCESS_SPEED_KMH", "ACCESS_CIRCUITY"]

# The leg between a point and its snapped node (and between a target and its node) has no modelled
# road: it is timed as straight line x ACCESS_CIRCUITY at ACCESS_SPEED_KMH (a slow residential street).
ACCESS_SPEED_KMH = 20.0
ACCESS_CIRCUITY = 1.3
# Motorway nodes cannot be entered or left except at junctions, so points never snap to them.
_NO_ACCESS = frozenset({"motorway", "motorway_link"})
_FIELD_VERSION = "f1"


@dataclass(frozen=True)
class Travel:
    """A road journey: minutes of driving and kilometres along the road."""

    minutes: float
    km: float


def _access(metres: float) -> tuple[float, float]:
    """(seconds, metres) of the unmodelled access leg for a straight-line gap."""
    road = metres * ACCESS_CIRCUITY
    return road / (ACCESS_SPEED_KMH / 3.6), road


class RoadNetwork:
    """A directed road graph with contiguous node indices, CSR matrices and a KD-tree of routable nodes."""

    _default: "RoadNetwork | None" = None
    _default_lock = threading.Lock()

    def __init__(self, graph: nx.DiGraph):
        from scipy.sparse import csr_matrix
        from scipy.spatial import cKDTree

        if graph.number_of_nodes() == 0:
            raise ValueError("road graph has no nodes")
        while True:
            try:
                order = sorted(graph.nodes)
            except TypeError:
                order = list(graph.nodes)
            index = {node: i for i, node in enumerate(order)}
            n = len(order)
            m = graph.number_of_edges()
            u = np.empty(m, dtype=np.int64)
            v = np.empty(m, dtype=np.int64)
            t = np.empty(m, dtype=np.float64)
            length = np.empty(m, dtype=np.float64)
            routable = np.zeros(n, dtype=bool)
            for k, (a, b, d) in enumerate(graph.edges(data=True)):
                ia, ib = index[a], index[b]
                u[k], v[k] = ia, ib
                try:
                    t[k] = float(d["travel_time"])
                    length[k] = float(d["length"])
                except KeyError as exc:
                    raise ValueError(f"edge {a}->{b} lacks {exc}: need 'travel_time' (s) and 'length' (m)") from None
                if d.get("highway") not in _NO_ACCESS:
                    routable[ia] = routable[ib] = True
            # routing only on the largest strongly connected component (no dead ends we cannot leave)
            from scipy.sparse.csgraph import connected_components
            adj = csr_matrix((np.ones(m), (u, v)), shape=(n, n))
            ncomp, labels = connected_components(adj, directed=True, connection="strong")
            if ncomp <= 1:
                break
            keep = labels == np.bincount(labels).argmax()
            graph = graph.subgraph([order[i] for i in np.flatnonzero(keep)]).copy()
        self.graph: nx.DiGraph = graph
        self.node_ids: list = order
        try:
            self.lat = np.array([float(graph.nodes[x]["y"]) for x in order])
            self.lon = np.array([float(graph.nodes[x]["x"]) for x in order])
        except KeyError as exc:
            raise ValueError(f"every node needs 'y' (lat) and 'x' (lon); missing {exc}") from None
        if np.any(t < 0) or not np.all(np.isfinite(t)):
            raise ValueError("edge travel_time must be finite and non-negative")
        if not routable.any():
            routable[:] = True
        t = np.maximum(t, 1e-3)  # scipy treats explicit zeros as missing edges
        self.time = csr_matrix((t, (u, v)), shape=(n, n))
        self.time.sort_indices()
        key = u * n + v
        korder = np.argsort(key, kind="stable")
        self._edge_key = key[korder]
        self._edge_len = length[korder]
        self.time_t = self.time.T.tocsr()
        self.time_t.sort_indices()
        self.xy = project_m(self.lat, self.lon)
        self.routable_idx = np.flatnonzero(routable)
        self._tree = cKDTree(self.xy[self.routable_idx])
        h = hashlib.sha256()
        h.update(_FIELD_VERSION.encode())
        for arr in (np.round(self.lat, 7), np.round(self.lon, 7), key[korder], np.round(t[korder], 3),
                    np.round(length[korder], 1), routable):
            h.update(np.ascontiguousarray(arr).tobytes())
        self.digest: str = h.hexdigest()

    @classmethod
    def default(cls) -> "RoadNetwork":
        """The embedded Lancashire and South Cumbria graph, loaded once per process."""
        with cls._default_lock:
            if cls._default is None:
                cls._default = cls(load_graph(DEFAULT_GRAPH_PATH))
            return cls._default

    @classmethod
    def from_graph(cls, graph: nx.DiGraph) -> "RoadNetwork":
        return cls(graph)

    @classmethod
    def from_file(cls, path: Path | str) -> "RoadNetwork":
        return cls(load_graph(path))

    @property
    def node_count(self) -> int:
        return len(self.lat)

    def snap(self, lat: float, lon: float) -> tuple[int, float]:
        """Nearest routable node index and the great-circle metres to it."""
        if not (-90.0 <= lat <= 90.0) or not (-180.0 <= lon <= 180.0):
            raise ValueError(f"lat/lon out of range: ({lat}, {lon})")
        _, pos = self._tree.query(project_point_m(lat, lon))  # one caller: plain floats, no numpy per call
        idx = int(self.routable_idx[int(pos)])
        return idx, haversine_point_m(lat, lon, float(self.lat[idx]), float(self.lon[idx]))

    def snap_many(self, lat: np.ndarray, lon: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        _, pos = self._tree.query(project_m(lat, lon))
        idx = self.routable_idx[np.asarray(pos)]
        return idx, haversine_m(lat, lon, self.lat[idx], self.lon[idx])

    def fields_from(self, node: int, *, reverse: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """One Dijkstra: (seconds, metres along the time-shortest path, predecessor) for every node.

        reverse=True gives times from every node TO `node` and pred[i] is the next node after i on the
        way there; reverse=False gives times FROM `node` and pred[i] is the node before i.
        """
        from scipy.sparse.csgraph import dijkstra

        mat = self.time_t if reverse else self.time
        dist, pred = dijkstra(mat, directed=True, indices=int(node), return_predecessors=True)
        n = len(dist)
        reach = np.isfinite(dist)
        pred = pred.astype(np.int64)
        # metres along the tree: pointer-jumping sums the per-step edge lengths in log(depth) passes
        has = pred >= 0
        step = np.zeros(n)
        a = np.flatnonzero(has)
        if reverse:   # edge a -> pred[a] in the original graph
            want = a * n + pred[a]
        else:         # edge pred[a] -> a
            want = pred[a] * n + a
        step[a] = self._edge_len[np.searchsorted(self._edge_key, want)]
        jump = np.where(has, pred, np.arange(n))
        acc = step
        # invariant: acc[i] = metres from i up to (not past) jump[i]; stop when every jump is a root
        while True:
            jj = jump[jump]
            if np.array_equal(jj, jump):
                break
            acc = acc + acc[jump]
            jump = jj
        metres = np.where(reach, acc, np.inf)
        return dist, metres, np.where(has, pred, -1).astype(np.int32)


def _safe(text: str) -> str:
    slug = re.sub(r"[^A-Za-z0-9_.-]+", "-", text)[:40]
    return f"{slug}-{hashlib.sha1(text.encode()).hexdigest()[:8]}"


def _atomic_save(path: Path, array: np.ndarray) -> None:
    with atomic_write(path, "wb") as fh:
        np.save(fh, array)


class TravelFields:
    """Precomputed road time/distance from every node to (or, for mobile targets, from) each target."""

    def __init__(self, network: RoadNetwork, targets: dict[str, tuple[float, float]], mobile: frozenset[str],
                 nodes: dict[str, int], access: dict[str, tuple[float, float]],
                 fields: dict[str, np.ndarray], preds: dict[str, Path], computed: list[str], cache_dir: Path):
        self.network = network
        self.targets = targets
        self.mobile = mobile
        self._nodes = nodes
        self._access = access
        self._fields = fields
        self._pred_paths = preds
        self._preds: dict[str, np.ndarray] = {}
        self.computed = computed          # target ids whose fields were (re)computed by build()
        self.cache_dir = cache_dir
        self._order = list(targets)
        self._index = {tid: i for i, tid in enumerate(self._order)}
        acc = np.array([access[t] for t in self._order], dtype=np.float64).reshape(-1, 2)
        self._acc_s, self._acc_m = acc[:, 0], acc[:, 1]
        self._stack = self._stacked()

    def _stacked(self) -> np.ndarray:
        """Every target's field in one node-major array (nodes x targets x [s, m]), cached on disk and
        memory-mapped, so one gathered read gives the travel to all targets from a node."""
        if not self._order:
            return np.zeros((self.network.node_count, 0, 2), dtype=np.float32)
        h = hashlib.sha256()
        for tid in self._order:
            h.update(str(self._fields[tid].filename if hasattr(self._fields[tid], "filename") else tid).encode())
            h.update(b"\0")
        path = self.cache_dir / f"{_FIELD_VERSION}_{self.network.digest[:16]}_stack_{h.hexdigest()[:20]}.npy"
        if not path.exists():
            stack = np.empty((self.network.node_count, len(self._order), 2), dtype=np.float32)
            for i, tid in enumerate(self._order):
                stack[:, i, :] = self._fields[tid]
            _atomic_save(path, stack)
        stack = np.load(path, mmap_mode="r")
        if stack.shape != (self.network.node_count, len(self._order), 2):
            raise ValueError(f"cached travel stack {path} does not match; delete {self.cache_dir} and rebuild")
        return stack.view(np.ndarray)  # the same mapped pages; a row read skips np.memmap's per-slice hooks

    def travel_arrays(self, lat: float, lon: float) -> tuple[np.ndarray, np.ndarray]:
        """(minutes, km) to every target in `ids` order from one gathered read; inf where unreachable."""
        node, gap = self.network.snap(lat, lon)
        s0, m0 = _access(gap)
        row = np.asarray(self._stack[node], dtype=np.float64)
        return (row[:, 0] + (s0 + self._acc_s)) / 60.0, (row[:, 1] + (m0 + self._acc_m)) / 1000.0

    def index_of(self, target_id: str) -> int:
        return self._index[target_id]

    @classmethod
    def build(cls, network: RoadNetwork, targets: Mapping[str, tuple[float, float]], *,
              mobile: Collection[str] = (), cache_dir: Path, progress: bool = False) -> "TravelFields":
        """Load (or compute and cache) one shortest-path field per target; only changed targets recompute."""
        cache_dir = Path(cache_dir)
        cache_dir.mkdir(parents=True, exist_ok=True)
        mobile = frozenset(mobile)
        unknown = sorted(mobile - set(targets))
        if unknown:
            raise ValueError(f"mobile ids {unknown[:5]} are not among the targets")
        clean: dict[str, tuple[float, float]] = {}
        for tid, pos in targets.items():
            try:
                la, lo = float(pos[0]), float(pos[1])
            except (TypeError, ValueError, IndexError):
                raise ValueError(f"target {tid!r}: location must be (lat, lon), got {pos!r}") from None
            if not (-90 <= la <= 90 and -180 <= lo <= 180) or not (np.isfinite(la) and np.isfinite(lo)):
                raise ValueError(f"target {tid!r}: lat/lon out of range: {pos!r}")
            clean[str(tid)] = (la, lo)
        nodes, access, fields, preds, computed = {}, {}, {}, {}, []
        prefix = network.digest[:16]
        total = len(clean)
        for k, (tid, (la, lo)) in enumerate(clean.items(), 1):
            node, gap = network.snap(la, lo)
            nodes[tid] = node
            access[tid] = _access(gap)
            direction = "from" if tid in mobile else "to"
            stem = f"{_FIELD_VERSION}_{prefix}_{_safe(tid)}_{la:.5f}_{lo:.5f}_{direction}"
            fpath = cache_dir / f"{stem}.tm.npy"
            ppath = cache_dir / f"{stem}.pred.npy"
            if not (fpath.exists() and ppath.exists()):
                dist, metres, pred = network.fields_from(node, reverse=(direction == "to"))
                tm = np.stack([dist, metres], axis=1).astype(np.float32)
                _atomic_save(ppath, pred)
                _atomic_save(fpath, tm)
                computed.append(tid)
                if progress:
                    print(f"travel fields: {k}/{total} computed {tid}", file=sys.stderr)
            fields[tid] = np.load(fpath, mmap_mode="r")
            preds[tid] = ppath
            if fields[tid].shape != (network.node_count, 2):
                raise ValueError(f"cached field {fpath} does not match the graph; delete {cache_dir} and rebuild")
        return cls(network, clean, mobile, nodes, access, fields, preds, computed, cache_dir)

    @property
    def ids(self) -> list[str]:
        return list(self._order)

    def travel(self, lat: float, lon: float, *, ids: Sequence[str] | None = None) -> dict[str, Travel]:
        """Road time and distance from the point to each target (mobile: from the target to the point)."""
        node, gap = self.network.snap(lat, lon)
        s0, m0 = _access(gap)
        out: dict[str, Travel] = {}
        fields, access = self._fields, self._access
        for tid in (self._order if ids is None else ids):
            f = fields.get(tid)
            if f is None:
                raise KeyError(f"unknown target id {tid!r}; build TravelFields with it first")
            sec, metres = f[node]
            if not np.isfinite(sec):
                continue
            s1, m1 = access[tid]
            out[tid] = Travel(minutes=(float(sec) + s0 + s1) / 60.0, km=(float(metres) + m0 + m1) / 1000.0)
        return out

    def nearest(self, lat: float, lon: float, *, k: int = 5, ids: Sequence[str] | None = None) -> list[tuple[str, Travel]]:
        """The k targets with the shortest road time, best first."""
        res = self.travel(lat, lon, ids=ids)
        return sorted(res.items(), key=lambda kv: (kv[1].minutes, kv[0]))[:k]

    def _pred(self, tid: str) -> np.ndarray:
        p = self._preds.get(tid)
        if p is None:
            p = self._preds[tid] = np.load(self._pred_paths[tid], mmap_mode="r")
        return p

    def route(self, lat: float, lon: float, target_id: str) -> list[tuple[float, float]]:
        """(lat, lon) polyline of the road route, point -> target (mobile targets: target -> point)."""
        if target_id not in self._fields:
            raise KeyError(f"unknown target id {target_id!r}")
        node, _ = self.network.snap(lat, lon)
        if not np.isfinite(self._fields[target_id][node][0]):
            return []
        pred = self._pred(target_id)
        goal = self._nodes[target_id]
        chain = [node]
        seen = 0
        while chain[-1] != goal:
            nxt = int(pred[chain[-1]])
            if nxt < 0 or seen > self.network.node_count:
                raise RuntimeError(f"broken predecessor chain for {target_id!r}; delete {self.cache_dir}")
            chain.append(nxt)
            seen += 1
        net = self.network
        line = [(float(lat), float(lon))] + [(float(net.lat[i]), float(net.lon[i])) for i in chain]
        line.append(self.targets[target_id])
        if target_id in self.mobile:
            line.reverse()
        return line
