"""Derive geodata/data/lsoa_boundaries.geojson (the 1,049 LSC LSOAs, simplified) from ../shared/data/boundaries."""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import shapely
from pyproj import Transformer
from shapely.geometry import mapping, shape

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from geodata.areas import LAD_NAMES  # noqa: E402

SHARED = next((p / "shared" / "data" / "boundaries" / "lsoa_by_lad" for p in (REPO.parent, REPO.parent.parent)
               if (p / "shared").is_dir()), REPO.parent / "shared" / "data" / "boundaries" / "lsoa_by_lad")
OUT = REPO / "geodata" / "data" / "lsoa_boundaries.geojson"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--source", type=Path, default=SHARED, help="folder of <LAD code>.json LSOA boundary files")
    ap.add_argument("--out", type=Path, default=OUT)
    ap.add_argument("--tolerance-m", type=float, default=50.0, help="Douglas-Peucker tolerance in metres")
    args = ap.parse_args(argv)
    fwd = Transformer.from_crs(4326, 27700, always_xy=True)
    inv = Transformer.from_crs(27700, 4326, always_xy=True)

    def transform(t: Transformer, geom):
        return shapely.transform(geom, lambda xy: np.column_stack(t.transform(xy[:, 0], xy[:, 1])))
    features = []
    for lad in sorted(LAD_NAMES):
        doc = json.loads((args.source / f"{lad}.json").read_text(encoding="utf-8"))
        for f in doc["features"]:
            geom = transform(fwd, shape(f["geometry"])).buffer(0)
            simple = shapely.simplify(geom, args.tolerance_m, preserve_topology=True)
            back = shapely.set_precision(transform(inv, simple), 1e-5)
            features.append({"type": "Feature",
                             "properties": {"code": f["properties"]["LSOA11CD"], "lad": lad},
                             "geometry": mapping(back)})
    features.sort(key=lambda f: f["properties"]["code"])
    args.out.write_text(json.dumps({"type": "FeatureCollection", "features": features},
                                   separators=(",", ":")), encoding="utf-8")
    print(f"wrote {len(features)} LSOAs to {args.out} ({args.out.stat().st_size // 1024} kB)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
