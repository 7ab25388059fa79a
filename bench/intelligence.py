"""Benchmark: every dashboard figure and a 4-week what-if over a year of outcome log in PostgreSQL (own schema).

python -m bench.intelligence [--rows 1000000] [--url postgresql+psycopg://root@127.0.0.1:5432/test]
Targets: each figure < 1 s, a what-if over 4 weeks < 10 s. Prints the figures; the schema is dropped after.
"""
from __future__ import annotations

import argparse
import os
import tempfile
import time
import uuid
from datetime import date
from pathlib import Path

from sqlalchemy import create_engine, text


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--url", default=os.environ.get("UEC_TEST_POSTGRES_URL", "postgresql+psycopg://root@127.0.0.1:5432/test"))
    ap.add_argument("--keep", action="store_true", help="keep the schema afterwards")
    ap.add_argument("--schema", help="use (and keep) this schema; outcomes already there are reused")
    args = ap.parse_args(argv)
    from uec.config import Settings
    from uec.core import UrgentCare
    from uec.intelligence import volume, whatif
    from uec.intelligence.figures import Figures, Filters
    schema = args.schema or "bench_intel_" + uuid.uuid4().hex[:8]
    args.keep = args.keep or bool(args.schema)
    admin = create_engine(args.url)
    with admin.begin() as c:
        c.execute(text(f"CREATE SCHEMA IF NOT EXISTS {schema}"))
    url = f"{args.url}?options=-csearch_path%3D{schema}"
    try:
        var = Path(tempfile.mkdtemp(prefix="bench-intel-"))
        care = UrgentCare(Settings.from_env(database_url=url, var_dir=var))
        care.initialise()
        t0 = time.perf_counter()
        with care.store.engine.connect() as c:
            have = c.execute(text("SELECT count(*) FROM outcomes")).scalar()
        if have >= args.rows:
            print(f"reusing {have:,} outcomes in schema {schema}")
        else:
            n = volume.write(care.store.engine, volume.rows(care, count=args.rows - have, end=date.today(), days=365))
            print(f"generated {n:,} outcomes (a year) in {time.perf_counter() - t0:.1f} s")
        raw = care.store.engine.raw_connection()  # VACUUM: the visibility map lets PostgreSQL scan indexes only
        try:
            raw.driver_connection.autocommit = True
            raw.driver_connection.execute("VACUUM ANALYZE outcomes")
        finally:
            raw.close()
        figs = Figures(care.store.engine, lambda: care.snapshot().services)
        t1 = time.perf_counter()  # a running server has these loaded: not a figure's cost
        care.snapshot()
        from geodata.areas import Areas
        Areas.default().area_of(53.76, -2.70)
        print(f"warm-up (directory snapshot, areas): {time.perf_counter() - t1:.1f} s")
        year = Filters(date.today().replace(year=date.today().year - 1), date.today())
        worst = 0.0
        for label, f in (("whole year", year), ("year, Blackpool", Filters(year.start, year.end, "Blackpool")),
                         ("28 days, UTC", Filters.parse({"type": "urgent_treatment_centre"}))):
            for name in Figures.NAMES:
                t1 = time.perf_counter()
                fig = figs.figure(name, f)
                dt = time.perf_counter() - t1
                worst = max(worst, dt)
                print(f"figure {name:14s} {label:16s} {dt * 1000:7.0f} ms  rows={len(fig.rows)}")
        t1 = time.perf_counter()
        figs.summary(year)
        print(f"summary API (year) {1000 * (time.perf_counter() - t1):.0f} ms")
        print(f"slowest figure: {worst * 1000:.0f} ms (target < 1000 ms)")
        for body in ({"changes": [{"service": "rph-utc", "close": True}], "weeks": 4},
                     {"changes": [{"service": "cdh-ed", "hours": "daily 08:00-16:00"}], "weeks": 4},
                     {"changes": [{"add": {"type": "urgent_treatment_centre", "postcode": "FY8 2AN"}}], "weeks": 4}):
            t1 = time.perf_counter()
            r = whatif.run(care, body)
            rep = r["replay"]
            print(f"what-if {body['changes']}: {time.perf_counter() - t1:.1f} s (target < 10 s); "
                  f"{rep['answers_in_period']:,} answers in 4 weeks, {rep['answers_the_change_could_touch']:,} touchable, "
                  f"{rep['distinct_replays']} replays{' (sampled)' if rep['sampled'] else ''}, "
                  f"changed {rep['answers_changed']:,}, net more to ED {rep['net_more_to_ed']}")
    finally:
        if not args.keep:
            with admin.begin() as c:
                c.execute(text(f"DROP SCHEMA {schema} CASCADE"))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
