"""Callers' own wording (tests/data/caller_phrases.csv) must find the right complaint, and never a wrong one confidently."""
from __future__ import annotations

import csv
from pathlib import Path

import pytest

from triage import load_rules, match_complaint

CORPUS = Path(__file__).parent / "data" / "caller_phrases.csv"
AMBIGUOUS = "AMBIGUOUS"
MIN_TOP3 = 0.95       # expected complaint among the first three candidates
MIN_CONFIDENT = 0.80  # expected complaint matched confidently (no pick list needed)


def _load() -> list[dict]:
    with CORPUS.open(newline="") as f:
        return list(csv.DictReader(f))


ROWS = _load()
RULES = load_rules()


def _run(row: dict):
    return match_complaint(row["phrase"], RULES, age=float(row["age"]), sex=row["sex"])


def test_corpus_is_well_formed():
    ids = set(RULES.complaints)
    assert len(ROWS) >= 400
    for i, row in enumerate(ROWS, start=2):
        assert row["phrase"].strip(), f"line {i}: empty phrase"
        assert 0 <= float(row["age"]) <= 120, f"line {i}: age {row['age']!r} out of range"
        assert row["sex"] in ("female", "male"), f"line {i}: sex must be female or male"
        exp = row["expected_complaint_id"]
        assert exp == AMBIGUOUS or exp in ids, f"line {i}: unknown complaint {exp!r}"
        if exp != AMBIGUOUS:
            c = RULES.complaints[exp]
            assert (c.min_age is None or float(row["age"]) >= c.min_age) and (
                c.max_age is None or float(row["age"]) <= c.max_age) and (
                not c.sex or c.sex == row["sex"]), f"line {i}: {exp} does not apply to this patient"
    per = {cid: sum(r["expected_complaint_id"] == cid for r in ROWS) for cid in ids}
    assert all(n >= 6 for n in per.values()), {k: v for k, v in per.items() if v < 6}
    assert sum(r["expected_complaint_id"] == AMBIGUOUS for r in ROWS) >= 10


@pytest.fixture(scope="module")
def matched():
    """Every phrase matched once: (row, confident match or None, candidate ids)."""
    out = []
    for row in ROWS:
        match, cands = _run(row)
        out.append((row, match, [c.id for c in cands]))
    return out


@pytest.fixture(scope="module")
def results(matched):
    return [m for m in matched if m[0]["expected_complaint_id"] != AMBIGUOUS]


def test_no_confident_wrong_match(matched):
    wrong = [f"{row['phrase']!r} (age {row['age']}, {row['sex']}): expected {row['expected_complaint_id']}, "
             f"got {match.id} via {match.matched!r} {match.score}"
             for row, match, _ in matched if match and match.id != row["expected_complaint_id"]]
    print(f"\nconfident wrong matches: {len(wrong)}", *wrong, sep="\n  ")
    assert not wrong


def test_expected_complaint_in_top_three(results):
    misses = [f"{r['phrase']!r}: expected {r['expected_complaint_id']}, got {ids[:3]}"
              for r, _, ids in results if r["expected_complaint_id"] not in ids[:3]]
    rate = 1 - len(misses) / len(results)
    print(f"\ntop-3 rate {rate:.1%} of {len(results)}", *misses, sep="\n  ")
    assert rate >= MIN_TOP3


def test_confident_correct_match(results):
    misses = [f"{r['phrase']!r}: expected {r['expected_complaint_id']}, candidates {ids[:3]}"
              for r, m, ids in results if not (m and m.id == r["expected_complaint_id"])]
    rate = 1 - len(misses) / len(results)
    print(f"\nconfident correct rate {rate:.1%} of {len(results)}", *misses, sep="\n  ")
    assert rate >= MIN_CONFIDENT
