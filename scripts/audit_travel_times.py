"""Audit the embedded road graph against reference off-peak car journeys and nearest-ED judgements."""

from __future__ import annotations

import argparse
import csv
import statistics
import sys
import tempfile
from collections import Counter, defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import yaml  # noqa: E402

from geodata.roads import DATA_DIR, load_calibration  # noqa: E402
from geodata.routing import RoadNetwork, TravelFields  # noqa: E402

# Type 1 (24-hour, all ages) emergency departments an LSC resident may be nearest to. Chorley's ED is
# adult-only 08:00-20:00, so it is left out of "nearest ED" decisions.
TYPE1_EDS = ("RPH", "RBH", "BVH", "RLI", "FGH", "SDGH", "RAEI", "AGH", "AUH", "FGB", "CIC")
TIE_SHARE = 0.10   # second-best ED within 10 % of the best: a near-tie either answer may give


def load_reference(path: Path | None = None) -> dict:
    """Places and journeys from geodata/data/roads/reference_journeys.yaml."""
    with open(path or DATA_DIR / "reference_journeys.yaml", encoding="utf-8") as fh:
        return yaml.safe_load(fh)


def journey_rows(fields: TravelFields, ref: dict) -> list[dict]:
    """One row per reference journey: model minutes/km, reference minutes/km and ratios."""
    rows = []
    for place, hosp, minutes, km, how in ref["journeys"]:
        lat, lon, district = ref["places"][place]
        t = fields.travel(lat, lon, ids=[hosp])[hosp]
        rows.append(dict(place=place, hospital=hosp, district=district, how=how,
                         ref_min=float(minutes), ref_km=float(km), min=t.minutes, km=t.km,
                         ratio=t.minutes / float(minutes), km_ratio=t.km / float(km)))
    return rows


def summary(rows: list[dict]) -> dict:
    err = [abs(r["ratio"] - 1) for r in rows]
    kerr = [abs(r["km_ratio"] - 1) for r in rows]
    return dict(n=len(rows), median_abs_err=statistics.median(err),
                within_20=sum(e <= 0.20 for e in err) / len(err),
                within_30=sum(e <= 0.30 for e in err) / len(err),
                median_ratio=statistics.median(r["ratio"] for r in rows),
                median_abs_km_err=statistics.median(kerr))


def lsoa_rows(shared: Path) -> list[dict]:
    with open(shared / "lsoa" / "lsc_lsoa.csv", newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def nearest_eds(fields: TravelFields, lsoas: list[dict]) -> list[dict]:
    """For each LSOA centroid: best and second-best type 1 ED by road time."""
    eds = [e for e in TYPE1_EDS if e in fields.targets]
    out = []
    for row in lsoas:
        best = fields.nearest(float(row["lat"]), float(row["lon"]), k=2, ids=eds)
        (h1, t1), (h2, t2) = best[0], best[1]
        out.append(dict(lsoa=row["lsoa11cd"], name=row["lsoa11nm"], district=row["lad_name"],
                        lat=float(row["lat"]), lon=float(row["lon"]), best=h1, best_min=t1.minutes,
                        second=h2, second_min=t2.minutes, tie=t2.minutes <= t1.minutes * (1 + TIE_SHARE)))
    return out


def build_fields(graph: Path | None, cache: Path) -> TravelFields:
    net = RoadNetwork.from_file(graph) if graph else RoadNetwork.default()
    hospitals = {k: (h["lat"], h["lon"]) for k, h in load_calibration()["hospitals"].items()}
    return TravelFields.build(net, hospitals, cache_dir=cache)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--graph", type=Path, help="graph file to audit (default: the embedded LSC graph)")
    ap.add_argument("--reference", type=Path, help="reference journeys YAML (default: the committed one)")
    ap.add_argument("--shared-data", type=Path, default=ROOT.parent / "shared" / "data")
    ap.add_argument("--worst", type=int, default=12, help="how many worst journeys to list")
    ap.add_argument("--no-lsoa", action="store_true", help="skip the nearest-ED check of LSOA centroids")
    ap.add_argument("--ties", action="store_true", help="list every LSOA whose two nearest EDs are near-tied")
    args = ap.parse_args(argv)

    ref = load_reference(args.reference)
    with tempfile.TemporaryDirectory() as tmp:
        fields = build_fields(args.graph, Path(tmp))
        rows = journey_rows(fields, ref)
        print(f"{'from':<22}{'to':<6}{'model min':>10}{'ref min':>8}{'ratio':>7}{'model km':>10}{'ref km':>8}"
              f"{'ratio':>7}  district")
        for r in rows:
            flag = " *" if abs(r["ratio"] - 1) > 0.20 else ""
            print(f"{r['place']:<22}{r['hospital']:<6}{r['min']:>10.1f}{r['ref_min']:>8.0f}{r['ratio']:>7.2f}"
                  f"{r['km']:>10.1f}{r['ref_km']:>8.1f}{r['km_ratio']:>7.2f}  {r['district']}{flag}")
        s = summary(rows)
        print(f"\n{s['n']} journeys: median |error| {s['median_abs_err']:.1%} on minutes, "
              f"{s['within_20']:.0%} within 20 %, {s['within_30']:.0%} within 30 %, median ratio "
              f"{s['median_ratio']:.2f}; median |error| on km {s['median_abs_km_err']:.1%}")
        print("worst:")
        for r in sorted(rows, key=lambda r: -abs(r["ratio"] - 1))[:args.worst]:
            print(f"  {r['place']} -> {r['hospital']}: model {r['min']:.1f} min / ref {r['ref_min']:.0f} "
                  f"(x{r['ratio']:.2f}), {r['km']:.1f} km / {r['ref_km']:.1f} km  [{r['how']}]")

        if args.no_lsoa:
            return 0
        lsoa_path = args.shared_data / "lsoa" / "lsc_lsoa.csv"
        if not lsoa_path.exists():
            print(f"\n(no {lsoa_path}: nearest-ED check skipped)")
            return 0
        near = nearest_eds(fields, lsoa_rows(args.shared_data))
        print(f"\nNearest type 1 ED by road for {len(near)} LSOA centroids (share per district; "
              f"'ties' = second ED within {TIE_SHARE:.0%})")
        by = defaultdict(list)
        for r in near:
            by[r["district"]].append(r)
        for district in sorted(by):
            rs = by[district]
            c = Counter(r["best"] for r in rs)
            shares = ", ".join(f"{h} {n / len(rs):.0%}" for h, n in c.most_common())
            ties = sum(r["tie"] for r in rs)
            print(f"  {district:<22}{len(rs):>4}  {shares}  (ties {ties})")
        tie_rows = [r for r in near if r["tie"]]
        print(f"near-ties overall: {len(tie_rows)} of {len(near)}")
        if args.ties:
            for r in sorted(tie_rows, key=lambda r: (r["district"], r["name"])):
                print(f"  {r['name']:<28} {r['best']} {r['best_min']:.1f} vs {r['second']} {r['second_min']:.1f}"
                      f"  ({r['lat']:.4f}, {r['lon']:.4f})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
