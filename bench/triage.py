"""Benchmark: time to evaluate a complete triage case, over random cases for every complaint."""
from __future__ import annotations

import argparse
import json
import math
import random
import statistics
import sys
import time
from pathlib import Path

from triage import Case, Engine, Outcome, load_rules
from triage.engine import VITAL_LIMITS
from triage.model import Complaint, Question


def _answer(q: Question, rng: random.Random, yes_rate: float):
    if q.type == "yes_no":
        return "yes" if rng.random() < yes_rate else "no"
    if q.type == "number":
        lo = q.minimum if q.minimum is not None else 0.0
        hi = q.maximum if q.maximum is not None else lo + 100.0
        return round(rng.uniform(lo, hi), 1)
    return rng.choice(q.options).id


def _vitals(rng: random.Random) -> dict:
    if rng.random() < 0.5:
        return {}
    v = {name: (round(rng.uniform(lo, hi), 1) if name == "temperature" else rng.randint(int(lo), int(hi)))
         for name, (lo, hi) in VITAL_LIMITS.items() if rng.random() < 0.7}
    if rng.random() < 0.5:
        v["on_oxygen"] = rng.random() < 0.2
    if rng.random() < 0.5:
        v["consciousness"] = rng.choice("AAAAACVPU")
    return v


def random_complete_case(engine: Engine, c: Complaint, rng: random.Random) -> Case:
    """Play a random patient through to an outcome; return the case that gives that outcome."""
    lo = c.min_age if c.min_age is not None else 0.0
    hi = min(c.max_age if c.max_age is not None else 100.0, 100.0)
    age = max(lo, math.floor(rng.uniform(lo, hi) * 10) / 10)
    sex = c.sex or rng.choice(["female", "male", "unknown"])
    vitals, answers = _vitals(rng), {}
    yes_rate = rng.choice([0.0, 0.05, 0.15])  # all-"no" cases are the longest
    while True:
        result = engine.evaluate(Case(c.id, age, sex, dict(answers), vitals))
        if isinstance(result, Outcome):
            return Case(c.id, age, sex, answers, vitals)
        answers[result.id] = _answer(result, rng, yes_rate)


def run(*, cases: int = 3000, seed: int = 1, rules_dir: Path | None = None) -> dict:
    rules = load_rules(rules_dir)
    engine = Engine(rules)
    rng = random.Random(seed)
    ids = sorted(rules.complaints)
    sample = [random_complete_case(engine, rules.complaints[ids[i % len(ids)]], rng) for i in range(cases)]
    for case in sample[:200]:  # warm up
        engine.evaluate(case)
    times = []
    clock = time.perf_counter_ns
    for case in sample:
        t0 = clock()
        engine.evaluate(case)
        times.append((clock() - t0) / 1e6)
    times.sort()
    return {"p50_ms": round(statistics.median(times), 4),
            "p99_ms": round(times[min(len(times) - 1, int(len(times) * 0.99))], 4),
            "cases": len(times), "complaints": len(ids),
            "mean_answers": round(statistics.mean(len(c.answers) for c in sample), 1)}


def match_timing(rules) -> dict:
    """Free-text complaint matching over the callers' phrase corpus (if the test data is present)."""
    import csv
    from triage import match_complaint
    corpus = Path(__file__).resolve().parents[1] / "tests" / "data" / "caller_phrases.csv"
    if not corpus.exists():
        return {}
    with corpus.open(newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    match_complaint("warm up", rules)
    times = []
    for row in rows:
        t0 = time.perf_counter_ns()
        match_complaint(row["phrase"], rules, age=float(row["age"]), sex=row["sex"])
        times.append((time.perf_counter_ns() - t0) / 1e6)
    times.sort()
    return {"match_p50_ms": round(statistics.median(times), 3),
            "match_p99_ms": round(times[min(len(times) - 1, int(len(times) * 0.99))], 3), "phrases": len(times)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--cases", type=int, default=3000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--rules", type=Path, default=None, metavar="DIR")
    args = parser.parse_args(argv)
    result = run(cases=args.cases, seed=args.seed, rules_dir=args.rules)
    print(f"{result['cases']} complete cases over {result['complaints']} complaints "
          f"({result['mean_answers']} answers each on average)")
    print(f"evaluate a complete case: median {result['p50_ms']:.3f} ms, p99 {result['p99_ms']:.3f} ms "
          f"(target: median under 1 ms)")
    matching = match_timing(load_rules(args.rules))
    if matching:
        print(f"match a caller's words ({matching['phrases']} phrases): median {matching['match_p50_ms']} ms, "
              f"p99 {matching['match_p99_ms']} ms")
    print(json.dumps({**{k: result[k] for k in ("p50_ms", "p99_ms", "cases")}, **matching}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
