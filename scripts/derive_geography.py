"""Derive the embedded geography tables in geodata/data from the open data in ../shared/data."""

from __future__ import annotations

import argparse
import csv
import io
import json
import os
import sys
import tempfile
from collections import defaultdict
from pathlib import Path

import numpy as np
import shapely
import shapely.ops
from pyproj import Transformer
from shapely.geometry import mapping, shape

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from geodata.areas import LAD_NAMES  # noqa: E402
from geodata.postcodes import PostcodeError, normalise_postcode  # noqa: E402

SHARED = REPO.parent / "shared" / "data"
OUT = REPO / "geodata" / "data"
SERVICES = REPO / "directory" / "data" / "lsc_services.yaml"

LADS = LAD_NAMES  # the 16 LSC districts, one table for the library and this script
PLACE_OF_LAD = {code: "Lancashire" for code in LADS}
PLACE_OF_LAD.update(
    {
        "E06000009": "Blackpool",
        "E06000008": "Blackburn with Darwen",
        "E07000027": "South Cumbria",
        "E07000031": "South Cumbria",
    }
)
PLACES = ["Lancashire", "Blackpool", "Blackburn with Darwen", "South Cumbria"]
POSTCODE_AREAS = ["PR", "BB", "FY", "LA", "WN", "L", "BD", "OL", "BL", "CA"]

# Main hospital sites. Five are the ONS postcode grid references (OSGB36 eastings/northings) as published
# in the SAMueL project's stroke_hospitals_2022.csv; the other three are the sites' published coordinates
# (Wikipedia infoboxes; Westmorland General placed from the hospital's own bus stop on Burton Road).
HOSPITALS_EN = {
    "PR2 9HT": ("Royal Preston Hospital", 353495, 433014),
    "BB2 3HH": ("Royal Blackburn Teaching Hospital", 369574, 426674),
    "FY3 8NR": ("Blackpool Victoria Hospital", 333194, 436522),
    "LA1 4RP": ("Royal Lancaster Infirmary", 347775, 461064),
    "LA14 4LF": ("Furness General Hospital", 321180, 471847),
}
HOSPITALS_LL = {
    "PR7 1PP": ("Chorley and South Ribble Hospital", 53.666, -2.635),
    "LA9 7RG": ("Westmorland General Hospital", 54.3075, -2.7350),
    "BB10 2PQ": ("Burnley General Teaching Hospital", 53.80793, -2.22547),
}

# Towns and villages a caller may name, authored for this project: (name, lat, lon, LAD, aliases).
TOWNS: list[tuple[str, float, float, str, tuple[str, ...]]] = [
    # South Cumbria
    ("Barrow-in-Furness", 54.1108, -3.2261, "E07000027", ("Barrow", "Barrow in Furness")),
    ("Dalton-in-Furness", 54.1543, -3.1826, "E07000027", ("Dalton",)),
    ("Askam-in-Furness", 54.1890, -3.2050, "E07000027", ("Askam",)),
    ("Walney Island", 54.0950, -3.2450, "E07000027", ("Walney", "Vickerstown")),
    ("Ulverston", 54.1934, -3.0906, "E07000031", ()),
    ("Kendal", 54.3280, -2.7460, "E07000031", ()),
    ("Windermere", 54.3800, -2.9070, "E07000031", ()),
    ("Bowness-on-Windermere", 54.3630, -2.9180, "E07000031", ("Bowness",)),
    ("Ambleside", 54.4326, -2.9630, "E07000031", ()),
    ("Grasmere", 54.4580, -3.0240, "E07000031", ()),
    ("Coniston", 54.3690, -3.0750, "E07000031", ()),
    ("Hawkshead", 54.3750, -2.9990, "E07000031", ()),
    ("Grange-over-Sands", 54.1920, -2.9100, "E07000031", ("Grange",)),
    ("Kirkby Lonsdale", 54.2020, -2.6010, "E07000031", ()),
    ("Sedbergh", 54.3230, -2.5280, "E07000031", ()),
    ("Milnthorpe", 54.2270, -2.7700, "E07000031", ()),
    ("Arnside", 54.2020, -2.8330, "E07000031", ()),
    ("Staveley", 54.3760, -2.8200, "E07000031", ()),
    ("Cartmel", 54.2010, -2.9530, "E07000031", ()),
    ("Flookburgh", 54.1750, -2.9780, "E07000031", ()),
    ("Broughton-in-Furness", 54.2780, -3.2110, "E07000031", ()),
    ("Burneside", 54.3500, -2.7640, "E07000031", ()),
    ("Levens", 54.2660, -2.7860, "E07000031", ()),
    ("Oxenholme", 54.3040, -2.7220, "E07000031", ()),
    # Lancaster
    ("Lancaster", 54.0470, -2.8010, "E07000121", ()),
    ("Morecambe", 54.0700, -2.8650, "E07000121", ()),
    ("Heysham", 54.0450, -2.8950, "E07000121", ()),
    ("Carnforth", 54.1290, -2.7700, "E07000121", ()),
    ("Bolton-le-Sands", 54.0980, -2.7950, "E07000121", ()),
    ("Silverdale", 54.1700, -2.8280, "E07000121", ()),
    ("Caton", 54.0750, -2.7180, "E07000121", ()),
    ("Halton", 54.0760, -2.7620, "E07000121", ()),
    ("Galgate", 53.9930, -2.7900, "E07000121", ()),
    ("Overton", 54.0130, -2.8600, "E07000121", ()),
    # Wyre
    ("Garstang", 53.9030, -2.7730, "E07000128", ()),
    ("Fleetwood", 53.9230, -3.0150, "E07000128", ()),
    ("Thornton-Cleveleys", 53.8750, -3.0220, "E07000128", ()),
    ("Cleveleys", 53.8780, -3.0430, "E07000128", ()),
    ("Thornton", 53.8700, -3.0050, "E07000128", ()),
    ("Poulton-le-Fylde", 53.8470, -2.9900, "E07000128", ("Poulton",)),
    ("Knott End-on-Sea", 53.9280, -2.9920, "E07000128", ("Knott End",)),
    ("Preesall", 53.9170, -2.9640, "E07000128", ()),
    ("Great Eccleston", 53.8530, -2.8700, "E07000128", ()),
    ("Catterall", 53.8800, -2.7600, "E07000128", ()),
    ("Pilling", 53.9290, -2.9080, "E07000128", ()),
    # Blackpool
    ("Blackpool", 53.8175, -3.0357, "E06000009", ()),
    ("Bispham", 53.8520, -3.0420, "E06000009", ()),
    ("South Shore", 53.7950, -3.0500, "E06000009", ()),
    # Fylde
    ("Lytham St Annes", 53.7500, -3.0000, "E07000119", ("Lytham St Anne's",)),
    ("Lytham", 53.7370, -2.9640, "E07000119", ()),
    ("St Annes", 53.7530, -3.0280, "E07000119", ("St Anne's", "St Annes-on-Sea", "St Annes on the Sea")),
    ("Kirkham", 53.7820, -2.8700, "E07000119", ()),
    ("Wesham", 53.7900, -2.8800, "E07000119", ()),
    ("Freckleton", 53.7550, -2.8680, "E07000119", ()),
    ("Warton", 53.7490, -2.8980, "E07000119", ()),
    ("Wrea Green", 53.7770, -2.9150, "E07000119", ()),
    # Preston
    ("Preston", 53.7590, -2.6990, "E07000123", ()),
    ("Fulwood", 53.7880, -2.7000, "E07000123", ()),
    ("Broughton", 53.8050, -2.7200, "E07000123", ()),
    ("Ashton-on-Ribble", 53.7660, -2.7330, "E07000123", ()),
    ("Ribbleton", 53.7700, -2.6630, "E07000123", ()),
    ("Goosnargh", 53.8260, -2.6700, "E07000123", ()),
    ("Grimsargh", 53.8060, -2.6300, "E07000123", ()),
    # South Ribble
    ("Penwortham", 53.7500, -2.7250, "E07000126", ()),
    ("Leyland", 53.6970, -2.6880, "E07000126", ()),
    ("Bamber Bridge", 53.7260, -2.6610, "E07000126", ()),
    ("Lostock Hall", 53.7250, -2.6880, "E07000126", ()),
    ("Longton", 53.7250, -2.7950, "E07000126", ()),
    ("Walton-le-Dale", 53.7400, -2.6780, "E07000126", ()),
    # Chorley
    ("Chorley", 53.6530, -2.6320, "E07000118", ()),
    ("Euxton", 53.6640, -2.6710, "E07000118", ()),
    ("Clayton-le-Woods", 53.7000, -2.6500, "E07000118", ()),
    ("Whittle-le-Woods", 53.6890, -2.6350, "E07000118", ()),
    ("Buckshaw Village", 53.6830, -2.6650, "E07000118", ("Buckshaw",)),
    ("Adlington", 53.6130, -2.6030, "E07000118", ()),
    ("Coppull", 53.6220, -2.6610, "E07000118", ()),
    ("Eccleston", 53.6500, -2.7250, "E07000118", ()),
    # West Lancashire
    ("Ormskirk", 53.5690, -2.8850, "E07000127", ()),
    ("Skelmersdale", 53.5500, -2.7760, "E07000127", ("Skem", "Skelmo")),
    ("Burscough", 53.5970, -2.8430, "E07000127", ()),
    ("Tarleton", 53.6770, -2.8280, "E07000127", ()),
    ("Hesketh Bank", 53.6990, -2.8470, "E07000127", ()),
    ("Up Holland", 53.5410, -2.7290, "E07000127", ("Upholland",)),
    ("Aughton", 53.5430, -2.9130, "E07000127", ()),
    ("Parbold", 53.5900, -2.7680, "E07000127", ()),
    ("Banks", 53.6800, -2.9200, "E07000127", ()),
    # Blackburn with Darwen
    ("Blackburn", 53.7480, -2.4820, "E06000008", ()),
    ("Darwen", 53.6980, -2.4610, "E06000008", ()),
    # Hyndburn
    ("Accrington", 53.7530, -2.3640, "E07000120", ()),
    ("Oswaldtwistle", 53.7430, -2.3930, "E07000120", ()),
    ("Great Harwood", 53.7860, -2.4080, "E07000120", ()),
    ("Clayton-le-Moors", 53.7750, -2.3850, "E07000120", ()),
    ("Rishton", 53.7680, -2.4200, "E07000120", ()),
    # Rossendale
    ("Haslingden", 53.7050, -2.3270, "E07000125", ()),
    ("Rawtenstall", 53.7000, -2.2900, "E07000125", ()),
    ("Bacup", 53.7040, -2.2010, "E07000125", ()),
    ("Whitworth", 53.6560, -2.1770, "E07000125", ()),
    ("Waterfoot", 53.6990, -2.2550, "E07000125", ()),
    ("Edenfield", 53.6700, -2.3050, "E07000125", ()),
    # Burnley
    ("Burnley", 53.7890, -2.2400, "E07000117", ()),
    ("Padiham", 53.7990, -2.3110, "E07000117", ()),
    ("Hapton", 53.7810, -2.3170, "E07000117", ()),
    # Pendle
    ("Nelson", 53.8350, -2.2180, "E07000122", ()),
    ("Colne", 53.8570, -2.1760, "E07000122", ()),
    ("Barnoldswick", 53.9150, -2.1890, "E07000122", ("Barlick",)),
    ("Earby", 53.9160, -2.1410, "E07000122", ()),
    ("Brierfield", 53.8240, -2.2360, "E07000122", ()),
    ("Barrowford", 53.8500, -2.2210, "E07000122", ()),
    # Ribble Valley
    ("Clitheroe", 53.8710, -2.3930, "E07000124", ()),
    ("Longridge", 53.8310, -2.5970, "E07000124", ()),
    ("Whalley", 53.8220, -2.4080, "E07000124", ()),
    ("Chipping", 53.8830, -2.5780, "E07000124", ()),
    ("Ribchester", 53.8130, -2.5310, "E07000124", ()),
    ("Wilpshire", 53.7880, -2.4800, "E07000124", ()),
    ("Gisburn", 53.9380, -2.2640, "E07000124", ()),
    ("Waddington", 53.8880, -2.4150, "E07000124", ()),
    ("Mellor", 53.7720, -2.5300, "E07000124", ()),
]

SIMPLIFY_M = 20.0  # Douglas-Peucker tolerance in metres: boundaries stay within ~20 m of the LSOA unions

_to_bng = Transformer.from_crs("EPSG:4326", "EPSG:27700", always_xy=True)
_to_wgs = Transformer.from_crs("EPSG:27700", "EPSG:4326", always_xy=True)


def to_bng(geom):
    return shapely.transform(geom, lambda a: np.column_stack(_to_bng.transform(a[:, 0], a[:, 1])))


def to_wgs(geom):
    return shapely.transform(geom, lambda a: np.column_stack(_to_wgs.transform(a[:, 0], a[:, 1])))


def load_geojson(path: Path) -> list[dict]:
    return json.loads(path.read_text(encoding="utf-8"))["features"]


def haversine_m(lat1, lon1, lat2, lon2):
    r = 6371008.8
    p1, p2 = np.radians(lat1), np.radians(lat2)
    dp, dl = p2 - p1, np.radians(np.asarray(lon2) - np.asarray(lon1))
    a = np.sin(dp / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(dl / 2) ** 2
    return 2 * r * np.arcsin(np.sqrt(a))


def write_atomic(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    with os.fdopen(fd, "w", encoding="utf-8", newline="") as fh:
        fh.write(text)
    os.chmod(tmp, 0o644)
    os.replace(tmp, path)


def csv_text(header: list[str], rows: list[list]) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(header)
    w.writerows(rows)
    return buf.getvalue()


def f6(x: float) -> str:
    return f"{x:.6f}"


# --------------------------------------------------------------------------------- inputs
def read_lsoas() -> list[dict]:
    with open(SHARED / "lsoa" / "lsc_lsoa.csv", newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    for r in rows:
        r["lat"], r["lon"] = float(r["lat"]), float(r["lon"])
        r["population"] = round(float(r["msoa_population"]) / int(r["msoa_lsoa_count"]), 1)
        r["postcode"] = normalise_postcode(r["postcode"])
    return sorted(rows, key=lambda r: r["lsoa11cd"])


def read_services(path: Path) -> list[tuple[str, float, float]]:
    if not path.exists():
        print(f"note: {path} not found; no service postcodes added", file=sys.stderr)
        return []
    import yaml

    doc = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    items = list(doc.get("services") or [])
    items += list(((doc.get("mobile") or {}).get("bases")) or [])
    out = []
    for it in items:
        if not isinstance(it, dict) or not it.get("postcode") or it.get("lat") is None or it.get("lon") is None:
            continue
        try:
            pc = normalise_postcode(str(it["postcode"]))
        except PostcodeError as exc:
            print(f"warning: skipping service postcode: {exc}", file=sys.stderr)
            continue
        if " " not in pc:
            continue
        out.append((pc, float(it["lat"]), float(it["lon"])))
    return out


# --------------------------------------------------------------------------------- builders
def _close(geom, *, min_hole_m2: float = 10_000.0):
    """Close the hairline gaps between generalised LSOAs: a 2 m morphological closing, and drop holes under 1 ha."""
    g = geom.buffer(2, join_style="mitre").buffer(-2, join_style="mitre")
    parts = []
    for p in getattr(g, "geoms", [g]):
        holes = [r for r in p.interiors if shapely.Polygon(r).area >= min_hole_m2]
        parts.append(shapely.Polygon(p.exterior, holes))
    return shapely.union_all(parts)


def _patch_centroids(closed: dict, lsoas: list[dict]) -> None:
    """Give each LSOA centroid that the generalised boundaries leave outside its own district to that district.

    Three do, by 55-325 m (BL7 0HW, BL7 0HT, PR7 7AX): a 60 m disc round the centroid, joined to the nearest
    point of its own district, moves from whichever district it fell in to its own. Centroids just inside
    their district's edge get a small disc too, so that simplification cannot push them out.
    """
    for r in lsoas:
        x, y = _to_bng.transform(r["lon"], r["lat"])
        pt = shapely.Point(x, y)
        own = closed[r["lad_code"]]
        if own.buffer(-(SIMPLIFY_M + 5)).contains(pt):
            continue  # safely inside, even after simplification
        outside = own.distance(pt)
        radius = 60.0 if outside > 0 else SIMPLIFY_M + 10
        near = shapely.ops.nearest_points(own, pt)[0]
        patch = shapely.union_all([pt.buffer(radius), shapely.LineString([near, pt]).buffer(radius / 2)])
        if outside > 0:
            print(f"  patched {r['lsoa11cd']} ({r['postcode']}) into {LADS[r['lad_code']]}: centroid {outside:.0f} m outside", file=sys.stderr)
        for code in closed:
            closed[code] = closed[code].union(patch) if code == r["lad_code"] else closed[code].difference(patch)


def build_lads(lsoas: list[dict]) -> tuple[dict[str, object], dict[str, object]]:
    """LAD polygons (British National Grid) as unions of their LSOAs: (closed, simplified)."""
    closed, simplified = {}, {}
    for code in LADS:
        feats = load_geojson(SHARED / "boundaries" / "lsoa_by_lad" / f"{code}.json")
        geoms = [to_bng(shape(f["geometry"])).buffer(0) for f in feats]
        closed[code] = _close(shapely.union_all(geoms))
    _patch_centroids(closed, lsoas)
    for code in LADS:
        simplified[code] = shapely.make_valid(closed[code].simplify(SIMPLIFY_M, preserve_topology=True))
        h = shapely.hausdorff_distance(simplified[code], closed[code])
        print(f"  {code} {LADS[code]:<22} simplified Hausdorff {h:5.1f} m", file=sys.stderr)
    return closed, simplified


def round_geom(geom, nd=5):
    return shapely.transform(geom, lambda a: np.round(a, nd))


def build_areas(lads_bng: dict, closed: dict) -> dict:
    features = []
    for code, g in lads_bng.items():
        features.append(
            {
                "type": "Feature",
                "properties": {"kind": "lad", "code": code, "name": LADS[code], "place": PLACE_OF_LAD[code]},
                "geometry": mapping(shapely.make_valid(round_geom(to_wgs(g)))),
            }
        )
    for place in PLACES:
        members = [closed[c] for c in LADS if PLACE_OF_LAD[c] == place]
        g = _close(shapely.union_all(members)).simplify(SIMPLIFY_M, preserve_topology=True)
        features.append(
            {
                "type": "Feature",
                "properties": {"kind": "place", "code": place, "name": place, "place": place},
                "geometry": mapping(shapely.make_valid(round_geom(to_wgs(g)))),
            }
        )
    return {"type": "FeatureCollection", "features": features}


def inner_point(geom_bng):
    c = geom_bng.centroid
    if not geom_bng.contains(c):
        c = geom_bng.representative_point()
    lon, lat = _to_wgs.transform(c.x, c.y)
    return lat, lon


def build_districts(lsoas: list[dict], lsc_bng) -> tuple[list[list], dict]:
    by_district: dict[str, list[dict]] = defaultdict(list)
    for r in lsoas:
        by_district[r["postcode"].split(" ")[0]].append(r)
    rows = []
    polys = {}
    for area in POSTCODE_AREAS:
        for f in load_geojson(SHARED / "postcode-districts" / f"{area}.geojson"):
            name = normalise_postcode(f["properties"]["name"])
            g = to_bng(shapely.make_valid(shape(f["geometry"])))
            polys[name] = g
            share_in_lsc = g.intersection(lsc_bng).area / g.area if g.area else 0.0
            members = by_district.get(name, [])
            if members and _mostly_lsc(name, len(members), share_in_lsc):
                w = np.array([m["population"] for m in members])
                lat = float(np.average([m["lat"] for m in members], weights=w))
                lon = float(np.average([m["lon"] for m in members], weights=w))
                method = f"population-weighted mean of {len(members)} LSOA centroids"
            else:
                lat, lon = inner_point(g)
                method = "polygon centroid"
            rows.append([name, f6(lat), f6(lon), method, f"{share_in_lsc:.2f}"])
    rows.sort(key=lambda r: _district_sort_key(r[0]))
    return rows, polys


LSC_AREAS = ("PR", "BB", "FY", "LA")


def _mostly_lsc(district: str, n_lsoas: int, share: float) -> bool:
    """Whether a district's people are mostly in LSC, so LSC LSOAs alone can stand for its centroid.

    The district polygons run out to sea on the coast (FY1 is a third 'inside' LSC by area), so in the LSC
    postcode areas five or more LSOAs are enough; elsewhere (WN, L, BD, OL, BL, CA) the district must lie
    almost wholly in LSC, or a few LSC villages would drag, say, Bolton's BL7 onto the moors.
    """
    area = district.rstrip("0123456789")
    if area in LSC_AREAS:
        return n_lsoas >= 5 or share >= 0.6
    return share >= 0.9


def _district_sort_key(d: str):
    import re

    m = re.match(r"([A-Z]+)(\d+)([A-Z]?)", d)
    return (m.group(1), int(m.group(2)), m.group(3)) if m else (d, 0, "")


def build_places(lads_bng: dict) -> list[list]:
    rows = []
    bad = []
    for name, lat, lon, lad, aliases in TOWNS:
        x, y = _to_bng.transform(lon, lat)
        p = shapely.Point(x, y)
        if not lads_bng[lad].buffer(500).contains(p):
            inside = [c for c, g in lads_bng.items() if g.contains(p)]
            bad.append(f"{name}: not within 500 m of {LADS[lad]} (lies in {[LADS[c] for c in inside]})")
        rows.append([name, f"{lat:.4f}", f"{lon:.4f}", lad, "town", "|".join(aliases)])
    if bad:
        raise SystemExit("authored places outside their district:\n  " + "\n  ".join(bad))
    for code in LADS:
        for f in load_geojson(SHARED / "boundaries" / "wards_by_lad" / f"{code}.json"):
            g = to_bng(shapely.make_valid(shape(f["geometry"])))
            lat, lon = inner_point(g)
            rows.append([f["properties"]["WD13NM"], f"{lat:.5f}", f"{lon:.5f}", code, "ward", ""])
    rows.sort(key=lambda r: (r[4] != "town", r[0], r[3]))
    return rows


def sector_of(pc: str) -> str:
    return pc[:-2]


def loo_accuracy(lsoas: list[dict], district_rows: list[list]) -> dict:
    """Leave-one-out: locate each of the LSOA postcodes from the others in its sector, and from its district."""
    pts = [(r["postcode"], r["lat"], r["lon"], r["population"]) for r in lsoas]
    by_sec: dict[str, list] = defaultdict(list)
    by_dist: dict[str, list] = defaultdict(list)
    for p in pts:
        by_sec[sector_of(p[0])].append(p)
        by_dist[p[0].split(" ")[0]].append(p)
    dist_method = {r[0]: r[3] for r in district_rows}
    dist_pt = {r[0]: (float(r[1]), float(r[2])) for r in district_rows}
    sec_err, dist_err, fallback_err = [], [], []
    for pc, lat, lon, _ in pts:
        others = [q for q in by_sec[sector_of(pc)] if q[0] != pc]
        d = pc.split(" ")[0]
        dothers = [q for q in by_dist[d] if q[0] != pc]
        if dist_method.get(d, "").startswith("population") and dothers:
            w = np.array([q[3] for q in dothers])
            dlat = float(np.average([q[1] for q in dothers], weights=w))
            dlon = float(np.average([q[2] for q in dothers], weights=w))
        else:
            dlat, dlon = dist_pt[d]
        de = float(haversine_m(lat, lon, dlat, dlon))
        dist_err.append(de)
        if others:
            slat = sum(q[1] for q in others) / len(others)
            slon = sum(q[2] for q in others) / len(others)
            se = float(haversine_m(lat, lon, slat, slon))
            sec_err.append(se)
            fallback_err.append(se)
        else:
            fallback_err.append(de)

    def summary(errs):
        a = np.array(errs)
        return {
            "n": int(a.size),
            "median_km": round(float(np.median(a)) / 1000, 2),
            "p90_km": round(float(np.percentile(a, 90)) / 1000, 2),
            "max_km": round(float(a.max()) / 1000, 2),
        }

    return {
        "method": "leave-one-out over the 1,049 LSOA postcodes: each located from the others only",
        "sector_estimate": summary(sec_err),
        "district_centroid": summary(dist_err),
        "sector_then_district": summary(fallback_err),
    }


def hospital_rows() -> list[tuple[str, float, float, str]]:
    out = []
    for pc, (name, e, n) in HOSPITALS_EN.items():
        lon, lat = _to_wgs.transform(e, n)
        out.append((pc, lat, lon, name))
    for pc, (name, lat, lon) in HOSPITALS_LL.items():
        out.append((pc, lat, lon, name))
    return out


# --------------------------------------------------------------------------------- main
def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--services", type=Path, default=SERVICES, help="directory services YAML (optional)")
    ap.add_argument("--out", type=Path, default=OUT)
    args = ap.parse_args(argv)
    out: Path = args.out

    lsoas = read_lsoas()
    assert len(lsoas) == 1049, len(lsoas)
    print("building district polygons from LSOAs…", file=sys.stderr)
    closed, lads_bng = build_lads(lsoas)
    lsc_bng = shapely.union_all(list(lads_bng.values()))

    # lsoa.csv
    write_atomic(
        out / "lsoa.csv",
        csv_text(
            ["code", "name", "lad_code", "lat", "lon", "population", "imd_income_rank", "rural_urban"],
            [
                [r["lsoa11cd"], r["lsoa11nm"], r["lad_code"], f6(r["lat"]), f6(r["lon"]), r["population"], r["imd_income_rank"], r["rural_urban"]]
                for r in lsoas
            ],
        ),
    )

    # postcodes.csv
    pcs: dict[str, list] = {}
    for r in lsoas:
        pcs[r["postcode"]] = [r["postcode"], f6(r["lat"]), f6(r["lon"]), r["lad_code"], 0, "lsoa-centroid"]
    for pc, lat, lon, _name in hospital_rows():
        pcs.setdefault(pc, [pc, f6(lat), f6(lon), "", 0, "hospital"])
    for pc, lat, lon in read_services(args.services):
        pcs.setdefault(pc, [pc, f6(lat), f6(lon), "", 0, "service"])
    # fill the LAD of added postcodes from the polygons
    for row in pcs.values():
        if not row[3]:
            x, y = _to_bng.transform(float(row[2]), float(row[1]))
            hits = [c for c, g in lads_bng.items() if g.contains(shapely.Point(x, y))]
            row[3] = hits[0] if hits else ""
    pc_rows = sorted(pcs.values(), key=lambda r: (_district_sort_key(r[0].split(" ")[0]), r[0]))
    write_atomic(out / "postcodes.csv", csv_text(["postcode", "lat", "lon", "lad_code", "terminated", "source"], pc_rows))

    # sectors.csv (from every known postcode)
    acc: dict[str, list] = defaultdict(list)
    for r in pc_rows:
        acc[sector_of(r[0])].append((float(r[1]), float(r[2])))
    sec_rows = [
        [s, f6(sum(p[0] for p in v) / len(v)), f6(sum(p[1] for p in v) / len(v)), len(v)]
        for s, v in sorted(acc.items(), key=lambda kv: (_district_sort_key(kv[0].split(" ")[0]), kv[0]))
    ]
    write_atomic(out / "sectors.csv", csv_text(["sector", "lat", "lon", "count"], sec_rows))

    # districts.csv
    print("district centroids…", file=sys.stderr)
    district_rows, _ = build_districts(lsoas, lsc_bng)
    write_atomic(out / "districts.csv", csv_text(["district", "lat", "lon", "method", "share_in_lsc"], district_rows))

    # places.csv
    place_rows = build_places(lads_bng)
    write_atomic(out / "places.csv", csv_text(["name", "lat", "lon", "lad_code", "kind", "aliases"], place_rows))

    # areas.geojson
    areas = build_areas(lads_bng, closed)
    write_atomic(out / "areas.geojson", json.dumps(areas, separators=(",", ":"), sort_keys=True) + "\n")

    # accuracy.json
    acc_doc = loo_accuracy(lsoas, district_rows)
    hosp = []
    for pc, lat, lon, name in hospital_rows():
        hosp.append({"postcode": pc, "name": name, "lat": round(lat, 6), "lon": round(lon, 6)})
    acc_doc["hospitals"] = hosp
    acc_doc["simplify_tolerance_m"] = SIMPLIFY_M
    write_atomic(out / "accuracy.json", json.dumps(acc_doc, indent=2, sort_keys=True) + "\n")

    print(
        f"wrote {len(pc_rows)} postcodes, {len(sec_rows)} sectors, {len(district_rows)} districts, "
        f"{len(place_rows)} places, {len(areas['features'])} areas to {out}",
        file=sys.stderr,
    )
    print(json.dumps({k: v for k, v in acc_doc.items() if k.endswith(("estimate", "centroid", "district"))}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
