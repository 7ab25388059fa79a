"""Fill the outcome log with realistic volume (about a year of LSC calls is ~1 million rows) for tests and benchmarks."""
from __future__ import annotations

import argparse
import sys
import time
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--rows", type=int, default=1_000_000, help="how many outcomes (default 1,000,000)")
    ap.add_argument("--days", type=int, default=365, help="spread over this many days up to --end")
    ap.add_argument("--end", type=date.fromisoformat, default=date.today(), help="last day (default today)")
    ap.add_argument("--seed", type=int, default=13)
    ap.add_argument("--per-district", type=int, default=10,
                    help="LSOAs per district whose real routing answers are sampled (more: slower, more varied)")
    ap.add_argument("--database-url", help="default: DATABASE_URL or the app's SQLite file")
    args = ap.parse_args(argv)
    from uec.config import Settings
    from uec.core import UrgentCare
    from uec.intelligence import volume
    overrides = {"database_url": args.database_url} if args.database_url else {}
    care = UrgentCare(Settings.from_env(**overrides))
    care.initialise()
    t0 = time.perf_counter()
    n = volume.write(care.store.engine, volume.rows(care, count=args.rows, end=args.end, days=args.days, seed=args.seed,
                                                     per_district=args.per_district))
    print(f"wrote {n:,} outcomes in {time.perf_counter() - t0:.1f} s to {care.store.engine.url.render_as_string()}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
