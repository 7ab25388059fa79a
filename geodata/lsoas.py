"""Which LSC LSOA a point lies in, and the LSOA boundaries for maps (embedded lsoa_boundaries.geojson)."""
from __future__ import annotations

import json
import threading
from pathlib import Path

import numpy as np
import shapely
from shapely.geometry import shape
from shapely.strtree import STRtree

from geodata.postcodes import DATA_DIR

__all__ = ["LsoaMap"]

BOUNDARIES = DATA_DIR / "lsoa_boundaries.geojson"


class LsoaMap:
    """The 1,049 LSC LSOA polygons (2011, generalised to ~50 m) with a point-in-polygon index."""

    _default: "LsoaMap | None" = None
    _lock = threading.Lock()

    def __init__(self, features: list[dict]):
        self.codes: list[str] = [f["properties"]["code"] for f in features]
        self.lad_of: dict[str, str] = {f["properties"]["code"]: f["properties"]["lad"] for f in features}
        self.geometries = [shape(f["geometry"]) for f in features]
        self._geoms = np.array(self.geometries, dtype=object)
        for g in self.geometries:
            shapely.prepare(g)
        self._tree = STRtree(self._geoms)

    @classmethod
    def default(cls) -> "LsoaMap":
        if cls._default is None:
            with cls._lock:
                if cls._default is None:
                    cls._default = cls.from_file(BOUNDARIES)
        return cls._default

    @classmethod
    def from_file(cls, path: str | Path) -> "LsoaMap":
        return cls(json.loads(Path(path).read_text(encoding="utf-8"))["features"])

    def lsoa_of(self, lat: float, lon: float, *, tolerance_m: float = 150.0) -> str | None:
        """The LSOA code containing the point (or the nearest within `tolerance_m`), else None."""
        pt = shapely.Point(lon, lat)
        hits = self._tree.query(pt, predicate="intersects")
        if len(hits):
            return self.codes[int(hits[0])]
        deg = tolerance_m / 111_320.0 / max(np.cos(np.radians(lat)), 0.2)
        idx = self._tree.query_nearest(pt, max_distance=deg)
        return self.codes[int(idx[0])] if len(idx) else None

    def bounds(self) -> tuple[float, float, float, float]:
        """(min lon, min lat, max lon, max lat) of all LSOAs."""
        b = shapely.total_bounds(self._geoms)
        return float(b[0]), float(b[1]), float(b[2]), float(b[3])
