"""Benchmark the triage engine: time to evaluate a complete case (python -m bench.triage)."""
from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import time

from triage import Case, Engine, Outcome, load_rules


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--cases", type=int, default=3000)
    args = ap.parse_args(argv)
    rules = load_rules()
    engine = Engine(rules)
    rng = random.Random(7)
    cases = []
    for _ in range(args.cases):  # play random complete cases, then time their final evaluation
        cid = rng.choice(sorted(rules.complaints))
        c = rules.complaints[cid]
        lo, hi = c.min_age or 0, min(c.max_age if c.max_age is not None else 95, 95)
        age, sex = int(rng.uniform(lo, hi) * 10) / 10, c.sex or rng.choice(["female", "male"])
        vitals = {"heart_rate": rng.randint(50, 140), "respiratory_rate": rng.randint(10, 30)} if rng.random() < 0.5 else {}
        answers: dict = {}
        while True:
            r = engine.evaluate(Case(cid, age, sex, answers, vitals))
            if isinstance(r, Outcome):
                break
            if r.type == "yes_no":
                answers[r.id] = rng.random() < 0.15
            elif r.type == "number":
                answers[r.id] = round(rng.uniform(r.minimum or 0, r.maximum if r.maximum is not None else 10), 1)
            else:
                answers[r.id] = rng.choice(r.options).id
        cases.append(Case(cid, age, sex, answers, vitals))
    times = []
    for case in cases:
        t = time.perf_counter()
        engine.evaluate(case)
        times.append((time.perf_counter() - t) * 1000)
    times.sort()
    p50, p99 = statistics.median(times), times[int(0.99 * (len(times) - 1))]
    print(f"{len(cases)} complete cases over {len(rules.complaints)} complaints: "
          f"median {p50:.3f} ms, p99 {p99:.3f} ms (target: median under 1 ms)")
    print(json.dumps({"cases": len(cases), "complaints": len(rules.complaints), "p50_ms": round(p50, 4),
                      "p99_ms": round(p99, 4)}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
