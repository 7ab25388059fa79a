"""Benchmark the ONSPD importer: rows per second on a generated ~1M-row ONSPD-format file."""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from geodata.onspd import import_postcodes

AREAS = ["PR", "BB", "FY", "LA", "WN", "L", "BD", "OL", "BL", "CA", "M", "LS", "S", "B"]
LETTERS = np.array(list("ABDEFGHJLNPQRSTUWXYZ"))


def generate(path: Path, rows: int, *, seed: int = 7) -> None:
    """Write an ONSPD-like CSV with `rows` distinct postcodes, ~5% terminated and a few malformed rows."""
    rng = np.random.default_rng(seed)
    area = rng.choice(AREAS, rows)
    district = rng.integers(1, 100, rows)
    sector = rng.integers(0, 10, rows)
    u1, u2 = rng.choice(LETTERS, rows), rng.choice(LETTERS, rows)
    pcds = pd.Series(area).str.cat(district.astype(str)) + " " + pd.Series(sector.astype(str)).str.cat(
        pd.Series(u1).str.cat(u2)
    )
    east = rng.integers(300_000, 400_000, rows)
    north = rng.integers(400_000, 500_000, rows)
    doterm = np.where(rng.random(rows) < 0.05, "201001", "")
    bad = rng.random(rows) < 0.001
    pcds = pcds.where(~bad, "BAD" + pd.Series(np.arange(rows)).astype(str))
    df = pd.DataFrame({
        "pcd": pcds, "pcd2": pcds, "pcds": pcds, "dointr": "198001", "doterm": doterm, "usertype": "0",
        "oseast1m": east, "osnrth1m": north, "osgrdind": "1", "oslaua": "E07000123",
        "lat": "99.999999", "long": "0.000000",
    })
    df.to_csv(path, index=False)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--rows", type=int, default=1_000_000)
    args = ap.parse_args(argv)
    with tempfile.TemporaryDirectory() as d:
        src, out = Path(d) / "onspd.csv", Path(d) / "postcodes.csv"
        t = time.perf_counter()
        generate(src, args.rows)
        print(f"generated {args.rows:,} rows in {time.perf_counter() - t:.1f} s ({src.stat().st_size / 1e6:.0f} MB)", file=sys.stderr)
        stats = import_postcodes(src, out)
        result = {"bench": "onspd_import", **stats.as_dict(), "output_bytes": out.stat().st_size}
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
