"""Which LSC local authority district and place a point lies in (embedded LSOA-built polygons)."""

from __future__ import annotations

import csv
import json
import math
import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import shapely
from shapely.geometry import shape
from shapely.strtree import STRtree

from geodata.postcodes import DATA_DIR

__all__ = ["LAD_NAMES", "PLACE_OF_LAD", "AreaHit", "Areas", "LsoaRow", "PLACES"]

PLACES = ("Lancashire", "Blackpool", "Blackburn with Darwen", "South Cumbria")

LAD_NAMES: dict[str, str] = {
    "E06000008": "Blackburn with Darwen",
    "E06000009": "Blackpool",
    "E07000117": "Burnley",
    "E07000118": "Chorley",
    "E07000119": "Fylde",
    "E07000120": "Hyndburn",
    "E07000121": "Lancaster",
    "E07000122": "Pendle",
    "E07000123": "Preston",
    "E07000124": "Ribble Valley",
    "E07000125": "Rossendale",
    "E07000126": "South Ribble",
    "E07000127": "West Lancashire",
    "E07000128": "Wyre",
    "E07000027": "Barrow-in-Furness",
    "E07000031": "South Lakeland",
}
#: district code -> one of the four places
PLACE_OF_LAD: dict[str, str] = {
    **{code: "Lancashire" for code in LAD_NAMES},
    "E06000009": "Blackpool",
    "E06000008": "Blackburn with Darwen",
    "E07000027": "South Cumbria",
    "E07000031": "South Cumbria",
}

# Boundaries are generalised and simplified, so points in a hairline gap between two districts,
# or just offshore of a coastal one, are given to the nearest district within this distance.
EDGE_TOLERANCE_M = 100.0


@dataclass(frozen=True)
class AreaHit:
    """The district and place a point lies in."""

    lad_code: str
    lad_name: str
    place: str


@dataclass(frozen=True)
class LsoaRow:
    """One LSC LSOA: code, district, population-weighted centroid, population estimate and deprivation."""

    code: str
    name: str
    lad: str
    lat: float
    lon: float
    population: float
    imd_income_rank: int
    rural_urban: str

    @property
    def place(self) -> str:
        return PLACE_OF_LAD.get(self.lad, "")


class Areas:
    """The 16 LSC districts and the four places, with fast point-in-polygon lookups."""

    _default: "Areas | None" = None
    _lock = threading.Lock()

    def __init__(self, features: list[dict], *, lsoa_path: Path | None = None) -> None:
        self._lads: dict[str, tuple[str, str, object]] = {}  # code -> (name, place, geometry)
        self._places: dict[str, object] = {}
        for f in features:
            p = f["properties"]
            geom = shape(f["geometry"])
            if p["kind"] == "lad":
                self._lads[p["code"]] = (p["name"], p["place"], geom)
            else:
                self._places[p["code"]] = geom
        self._codes = list(self._lads)
        geoms = [self._lads[c][2] for c in self._codes]
        for g in geoms:
            shapely.prepare(g)
        self._geoms = np.array(geoms, dtype=object)
        self._tree = STRtree(self._geoms)
        self._bounds = [tuple(g.bounds) for g in geoms]  # (minx, miny, maxx, maxy) per district
        self._lsoa_path = lsoa_path or DATA_DIR / "lsoa.csv"
        self._lsoas: list[LsoaRow] | None = None

    @classmethod
    def default(cls) -> "Areas":
        """The embedded areas (geodata/data/areas.geojson), loaded once."""
        if cls._default is None:
            with cls._lock:
                if cls._default is None:
                    cls._default = cls.from_file(DATA_DIR / "areas.geojson")
        return cls._default

    @classmethod
    def from_file(cls, path: str | Path, *, lsoa_path: str | Path | None = None) -> "Areas":
        doc = json.loads(Path(path).read_text(encoding="utf-8"))
        return cls(doc["features"], lsoa_path=Path(lsoa_path) if lsoa_path else None)

    # -------------------------------------------------------------------------- lookups
    def area_of(self, lat: float, lon: float) -> AreaHit | None:
        """The LSC district and place containing (lat, lon), or None when the point is outside LSC."""
        # 16 districts: their boxes, then the prepared polygon, with no Point built (what STRtree.query
        # with predicate="intersects" answers, in index order, at a fraction of the cost)
        for i, (x0, y0, x1, y1) in enumerate(self._bounds):
            if x0 <= lon <= x1 and y0 <= lat <= y1 and shapely.intersects_xy(self._geoms[i], lon, lat):
                return self._hit(i)
        pt = shapely.Point(lon, lat)
        # within EDGE_TOLERANCE_M of a district (gap between generalised boundaries, or the shore)?
        deg = EDGE_TOLERANCE_M / 111_320.0
        idx, dist = self._tree.query_nearest(pt, max_distance=deg / max(math.cos(math.radians(lat)), 0.2), return_distance=True)
        if len(idx):
            return self._hit(int(idx[int(np.argmin(dist))]))
        return None

    def in_lsc(self, lat: float, lon: float) -> bool:
        """Whether the point lies in Lancashire and South Cumbria."""
        return self.area_of(lat, lon) is not None

    def lads(self) -> dict[str, str]:
        """District code -> name."""
        return {c: v[0] for c, v in self._lads.items()}

    def places(self) -> dict[str, list[str]]:
        """Place name -> its district codes."""
        out: dict[str, list[str]] = {p: [] for p in PLACES}
        for c, (_, place, _) in self._lads.items():
            out.setdefault(place, []).append(c)
        return out

    def place_of(self, lad_code: str) -> str:
        try:
            return self._lads[lad_code][1]
        except KeyError:
            raise KeyError(f"unknown district code {lad_code!r}; known: {', '.join(sorted(self._lads))}") from None

    def polygon(self, code_or_place: str):
        """The (multi)polygon of a district (by code or name) or of one of the four places."""
        if code_or_place in self._lads:
            return self._lads[code_or_place][2]
        if code_or_place in self._places:
            return self._places[code_or_place]
        for c, (name, _, g) in self._lads.items():
            if name.lower() == code_or_place.lower():
                return g
        for name, g in self._places.items():
            if name.lower() == code_or_place.lower():
                return g
        raise KeyError(
            f"no area called {code_or_place!r}: use a district code such as E07000123, a district name, "
            f"or one of {', '.join(PLACES)}"
        )

    def lsoas(self) -> list[LsoaRow]:
        """The 1,049 LSC LSOAs with population estimate and IMD 2019 income rank (for coverage figures)."""
        if self._lsoas is None:
            with open(self._lsoa_path, newline="", encoding="utf-8") as fh:
                self._lsoas = [
                    LsoaRow(
                        r["code"], r["name"], r["lad_code"], float(r["lat"]), float(r["lon"]),
                        float(r["population"]), int(r["imd_income_rank"]), r["rural_urban"],
                    )
                    for r in csv.DictReader(fh)
                ]
        return self._lsoas

    def _hit(self, i: int) -> AreaHit:
        code = self._codes[i]
        name, place, _ = self._lads[code]
        return AreaHit(code, name, place)
