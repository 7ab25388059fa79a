"""Import the ONS Postcode Directory or Code-Point Open CSV into a postcode table the Gazetteer loads."""

from __future__ import annotations

import argparse
import csv
import json
import re
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable

import numpy as np
import pandas as pd
from pyproj import Transformer

from geodata.atomic import atomic_write

__all__ = ["DEFAULT_AREAS", "ImportStats", "import_postcodes", "main"]

#: LSC postcode areas and their borders
DEFAULT_AREAS = ("PR", "BB", "FY", "LA", "WN", "L", "BD", "OL", "BL", "CA")
CODEPOINT_COLUMNS = [
    "Postcode", "Positional_quality_indicator", "Eastings", "Northings", "Country_code",
    "NHS_regional_HA_code", "NHS_HA_code", "Admin_county_code", "Admin_district_code", "Admin_ward_code",
]
OUTPUT_COLUMNS = ["postcode", "lat", "lon", "lad_code", "terminated", "source"]
CHUNK_ROWS = 200_000

_FULL = re.compile(
    r"^(?:[A-PR-UWYZ][0-9][0-9]?|[A-PR-UWYZ][A-HK-Y][0-9][0-9]?|[A-PR-UWYZ][0-9][A-HJKPSTUW]|"
    r"[A-PR-UWYZ][A-HK-Y][0-9][ABEHMNPRVWXY])[0-9][ABD-HJLNP-UW-Z]{2}$"
)
_to_wgs84 = Transformer.from_crs("EPSG:27700", "EPSG:4326", always_xy=True)

Progress = Callable[[int, float], None]


@dataclass
class ImportStats:
    """What an import read, kept and skipped."""

    rows: int = 0
    kept: int = 0
    terminated: int = 0
    outside_areas: int = 0
    malformed_postcode: int = 0
    no_coordinates: int = 0
    duplicates: int = 0
    seconds: float = 0.0
    format: str = ""
    examples: list[str] = field(default_factory=list)

    @property
    def rows_per_second(self) -> float:
        return self.rows / self.seconds if self.seconds else 0.0

    def as_dict(self) -> dict:
        d = {k: v for k, v in self.__dict__.items() if k != "examples"}
        d["rows_per_second"] = round(self.rows_per_second)
        d["seconds"] = round(self.seconds, 3)
        return d


def _stderr_progress(rows: int, rate: float) -> None:
    print(f"\r  {rows:>10,} rows read  ({rate:,.0f} rows/s)", end="", file=sys.stderr, flush=True)


def _detect(path: Path) -> tuple[str, str]:
    """('onspd'|'codepoint', header-postcode-column) from the file's first line."""
    with open(path, newline="", encoding="utf-8-sig", errors="replace") as fh:
        first = next(csv.reader(fh), [])
    cols = [c.strip().strip('"').lower() for c in first]
    for name in ("pcds", "pcd2", "pcd"):
        if name in cols:
            return "onspd", name
    if cols and _FULL.match(re.sub(r"\s+", "", cols[0].upper())):
        return "codepoint", "Postcode"
    raise ValueError(
        f"{path}: not an ONSPD CSV (needs a header with pcd/pcd2/pcds, oseast1m, osnrth1m, doterm) "
        "nor a Code-Point Open CSV (no header; Postcode, quality, Eastings, Northings, ...)"
    )


def _normalise(series: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Standard 'AA9 9AA' form and a mask of well-formed postcodes."""
    compact = series.fillna("").astype(str).str.upper().str.replace(r"\s+", "", regex=True)
    ok = compact.str.match(_FULL) | (compact == "GIR0AA")
    std = compact.str[:-3] + " " + compact.str[-3:]
    return std, ok


def _area(std: pd.Series) -> pd.Series:
    return std.str.extract(r"^([A-Z]+)", expand=False)


def _numeric(s: pd.Series) -> np.ndarray:
    return np.array(pd.to_numeric(s, errors="coerce"), dtype="float64")


def _process_chunk(df: pd.DataFrame, fmt: str, pc_col: str, areas: frozenset[str] | None, stats: ImportStats) -> pd.DataFrame:
    stats.rows += len(df)
    std, ok = _normalise(df[pc_col])
    bad = ~ok
    if bad.any():
        stats.malformed_postcode += int(bad.sum())
        if len(stats.examples) < 5:
            stats.examples.extend(df[pc_col][bad].astype(str).head(5 - len(stats.examples)).tolist())
    keep = ok.copy()
    if areas is not None:
        inside = _area(std).isin(areas)
        stats.outside_areas += int((ok & ~inside).sum())
        keep &= inside
    if fmt == "onspd":
        east = _numeric(df["oseast1m"]) if "oseast1m" in df else np.full(len(df), np.nan)
        north = _numeric(df["osnrth1m"]) if "osnrth1m" in df else np.full(len(df), np.nan)
        doterm = df["doterm"].fillna("").astype(str).str.strip() if "doterm" in df else pd.Series("", index=df.index)
        terminated = np.array(doterm != "", dtype=bool)
        lad = df["oslaua"].fillna("").astype(str).str.strip() if "oslaua" in df else pd.Series("", index=df.index)
        lat_col = _numeric(df["lat"]) if "lat" in df else np.full(len(df), np.nan)
        lon_col = _numeric(df["long"]) if "long" in df else np.full(len(df), np.nan)
    else:
        east, north = _numeric(df["Eastings"]), _numeric(df["Northings"])
        quality = _numeric(df["Positional_quality_indicator"])
        east = np.where(quality >= 90, np.nan, east)  # 90 = no coordinates
        terminated = np.zeros(len(df), dtype=bool)
        lad = df["Admin_district_code"].fillna("").astype(str).str.strip()
        lat_col = lon_col = np.full(len(df), np.nan)
    # ONSPD marks 'no grid reference' with empty or zero eastings (and lat 99.999999)
    grid_ok = np.isfinite(east) & np.isfinite(north) & (east > 0) & (north > 0) & (east < 700_000) & (north < 1_300_000)
    lon, lat = np.full(len(df), np.nan), np.full(len(df), np.nan)
    if grid_ok.any():
        lon[grid_ok], lat[grid_ok] = _to_wgs84.transform(east[grid_ok], north[grid_ok])
    fallback = ~grid_ok & np.isfinite(lat_col) & (np.abs(lat_col) <= 90) & np.isfinite(lon_col) & (lat_col != 99.999999)
    lat[fallback], lon[fallback] = lat_col[fallback], lon_col[fallback]
    has_xy = np.isfinite(lat) & np.isfinite(lon)
    keep_arr = np.array(keep, dtype=bool)
    stats.no_coordinates += int((keep_arr & ~has_xy).sum())
    keep_arr &= has_xy
    out = pd.DataFrame(
        {
            "postcode": std.to_numpy()[keep_arr],
            "lat": lat[keep_arr],
            "lon": lon[keep_arr],
            "lad_code": lad.to_numpy()[keep_arr],
            "terminated": terminated[keep_arr].astype("int8"),
        }
    )
    return out


def import_postcodes(
    source: str | Path,
    output: str | Path,
    *,
    areas: Iterable[str] | None = DEFAULT_AREAS,
    progress: Progress | None = _stderr_progress,
    chunk_rows: int = CHUNK_ROWS,
) -> ImportStats:
    """Read an ONSPD or Code-Point Open CSV and write a sorted postcode table (CSV) atomically.

    Keeps full-postcode precision; eastings/northings (OSGB36, EPSG:27700) become WGS84 lat/lon. Terminated
    postcodes (ONSPD ``doterm`` set) are kept with ``terminated=1``; where a postcode appears twice, a live
    record wins. ``areas`` limits the output to those postcode areas (None keeps all). Progress is reported
    as (rows read, rows per second) after each chunk. Re-running on the same input gives the same bytes.
    """
    src, dst = Path(source), Path(output)
    if not src.is_file():
        raise FileNotFoundError(f"{src}: no such file; give the path of the ONSPD or Code-Point Open CSV")
    fmt, pc_col = _detect(src)
    stats = ImportStats(format=fmt)
    area_set = frozenset(a.upper() for a in areas) if areas is not None else None
    t0 = time.perf_counter()
    read_kw = dict(dtype=str, chunksize=chunk_rows, keep_default_na=False, na_values=[""], encoding="utf-8-sig",
                   on_bad_lines="skip", engine="c")
    if fmt == "onspd":
        wanted = {pc_col, "doterm", "oseast1m", "osnrth1m", "oslaua", "lat", "long"}
        reader = pd.read_csv(src, usecols=lambda c: c.strip().lower() in wanted, **read_kw)
    else:
        reader = pd.read_csv(src, header=None, names=CODEPOINT_COLUMNS, usecols=range(10), **read_kw)
    parts = []
    for chunk in reader:
        if fmt == "onspd":
            chunk.columns = [c.strip().lower() for c in chunk.columns]
        parts.append(_process_chunk(chunk, fmt, pc_col, area_set, stats))
        if progress is not None:
            el = time.perf_counter() - t0
            progress(stats.rows, stats.rows / el if el else 0.0)
    if progress is _stderr_progress:
        print(file=sys.stderr)
    table = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=OUTPUT_COLUMNS[:-1])
    # one row per postcode: live before terminated, then by position for determinism
    table = table.sort_values(["postcode", "terminated", "lat", "lon"], kind="mergesort")
    before = len(table)
    table = table.drop_duplicates("postcode", keep="first")
    stats.duplicates = before - len(table)
    table["source"] = fmt
    stats.kept = len(table)
    stats.terminated = int(table["terminated"].sum()) if len(table) else 0
    _write_atomic(dst, table)
    stats.seconds = time.perf_counter() - t0
    return stats


def _write_atomic(path: Path, table: pd.DataFrame) -> None:
    with atomic_write(path, "w", encoding="utf-8", newline="") as fh:
        table.to_csv(fh, index=False, columns=OUTPUT_COLUMNS, float_format="%.6f", lineterminator="\n")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        prog="python -m geodata.onspd",
        description="Import an ONSPD or Code-Point Open CSV into a postcode table for Gazetteer.from_files(postcodes=...).",
    )
    ap.add_argument("input", type=Path, help="ONSPD CSV (with header) or Code-Point Open CSV (no header)")
    ap.add_argument("output", type=Path, help="output CSV (postcode,lat,lon,lad_code,terminated,source)")
    ap.add_argument("--areas", default=",".join(DEFAULT_AREAS),
                    help="comma-separated postcode areas to keep, or 'all' (default: %(default)s)")
    ap.add_argument("--quiet", action="store_true", help="no progress line")
    args = ap.parse_args(argv)
    areas = None if args.areas.strip().lower() == "all" else [a.strip() for a in args.areas.split(",") if a.strip()]
    try:
        stats = import_postcodes(args.input, args.output, areas=areas, progress=None if args.quiet else _stderr_progress)
    except (FileNotFoundError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(json.dumps(stats.as_dict()))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
