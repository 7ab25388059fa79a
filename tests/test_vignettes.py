"""Clinical vignettes: whole cases played through the engine against the guideline's expected disposition.

Vignette files live in `tests/vignettes/*.yaml`. Each file holds a list under `vignettes:`; each
vignette is one patient, written from a guideline (not from the rule files) and cited:

```yaml
vignettes:
  - id: silent_mi_diabetic_woman          # unique across all files
    complaint: abdominal_pain             # the presenting complaint's id (rules/complaints/<id>.yaml)
                                          # or `complaints: [a, b]` for a call naming two or more
    patient: {age: 74, sex: female}       # age in years (0.1 for five weeks), sex female|male
    story: "Upper tummy 'indigestion' for an hour, cold sweat and breathless; type 2 diabetes."
    answers: {ap_cardiac: yes}            # the discriminators that are PRESENT, by question id
                                          # ('unknown' where the caller is not sure);
                                          # every number or choice question that is asked must be
                                          # answered here (e.g. {ds_temperature: 38.4, dz_kind: spinning})
    vitals: {heart_rate: 112}             # optional, only the signs the vignette gives
    expect:
      class: ambulance                    # disposition class, or a list of acceptable classes
      at_most: AMB_CAT2                   # optional: the outcome must be at least this urgent
      at_least: ED_4H                     # optional: and no more urgent than this (over-triage guard)
      codes: [ED_1H, ED_4H]               # optional: or exactly one of these codes
      exact: ED_1H                        # optional: the single best code (reported by bench.sensitivity,
                                          # never asserted)
    source: "NICE CG95 1.1.1.1; JRCALC ACS"   # the guideline the expectation comes from
```

Urgency is the order of `rules/dispositions.yaml` (most urgent first), so `at_most: PC_6H` means
"PC_6H or anything more urgent". The case is played as `triage.testing.run_case` plays a rule test:
the listed answers as given, every other yes/no question the engine asks answered "no"; a number or
choice question the vignette does not answer fails the vignette (a real caller would answer it); a number
question that is also a vital sign takes the vignette's `vitals` value, or "unknown" (not measured).
A file may say `checks: [at_most]` to assert only under-triage (its class and over-triage are reported by
`python -m bench.sensitivity`); a vignette's `known_miss: <why>` marks an under-triage still open (xfail).
Optional `mapping:` and `correction:` notes record how a blind vignette was mapped and any change to its
pre-registered expectation.
The classes are those of `rules/dispositions.yaml`: ambulance, emergency_department, sdec, utc,
mental_health_crisis, falls_response, urgent_community_response, primary_care, pharmacy, dental,
self_care.
"""
from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from triage import load_rules
from triage.engine import Engine
from triage.model import Case, Outcome

RULES = load_rules()
ENGINE = Engine(RULES)
VIGNETTE_DIR = Path(__file__).resolve().parent / "vignettes"
CLASSES = {d.cls for d in RULES.dispositions.values()}
_FIELDS = {"id", "complaint", "complaints", "patient", "story", "answers", "vitals", "expect", "source",
           "mapping", "correction", "known_miss"}
_CHECKS = ("class", "at_most", "at_least", "codes")


def _load() -> list[dict]:
    out = []
    for path in sorted(VIGNETTE_DIR.glob("*.yaml")):
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
        checks = tuple(doc.get("checks") or _CHECKS)
        for v in doc["vignettes"]:
            v["_file"] = path.name
            v["_checks"] = checks
            out.append(v)
    return out


VIGNETTES = _load()


def _check_shape(v: dict) -> None:
    where = f"{v.get('_file')} [{v.get('id')}]"
    extra = set(v) - _FIELDS - {"_file", "_checks"}
    assert not extra, f"{where}: unknown fields {sorted(extra)}"
    for key in ("id", "patient", "story", "expect", "source"):
        assert v.get(key), f"{where}: missing {key!r}"
    assert bool(v.get("complaint")) != bool(v.get("complaints")), f"{where}: give complaint or complaints"
    for c in complaints_of(v):
        assert c in RULES.complaints, f"{where}: unknown complaint {c!r}"
    assert v["patient"].get("sex") in ("female", "male"), f"{where}: patient.sex must be female or male"
    exp = v["expect"]
    assert set(exp) <= {"class", "at_most", "at_least", "codes", "exact"}, f"{where}: unknown expect keys"
    classes = exp["class"] if isinstance(exp["class"], list) else [exp["class"]]
    assert set(classes) <= CLASSES, f"{where}: unknown class in {classes}; known: {sorted(CLASSES)}"
    for code in [exp.get("at_most"), exp.get("at_least"), exp.get("exact"), *exp.get("codes", [])]:
        assert code is None or code in RULES.dispositions, f"{where}: unknown disposition {code!r}"


def complaints_of(v: dict) -> tuple[str, ...]:
    """The vignette's presenting complaint(s)."""
    return tuple(v.get("complaints") or [v["complaint"]])


def play(v: dict, *, max_steps: int = 200) -> Outcome:
    """Play a vignette through the engine: its answers as given, other yes/no questions 'no'."""
    answers = {k: ("yes" if val is True else "no" if val is False else val)
               for k, val in (v.get("answers") or {}).items()}
    p, vitals = v["patient"], v.get("vitals") or {}
    for _ in range(max_steps):
        result = ENGINE.evaluate(Case(age=p["age"], sex=p["sex"], answers=answers, vitals=vitals,
                                      complaints=complaints_of(v)))
        if isinstance(result, Outcome):
            return result
        assert result.id not in answers, f"question {result.id} asked again although answered"
        if result.type == "number" and result.vital:
            answers[result.id] = vitals.get(result.vital, "unknown")
            continue
        assert result.type == "yes_no", (
            f"the vignette must answer {result.type} question {result.id!r}: {result.text}")
        answers[result.id] = "no"
    raise AssertionError("the engine kept asking questions")


def judge(v: dict, outcome: Outcome, *, checks: tuple[str, ...] = _CHECKS) -> str | None:
    """Return why the outcome does not meet the vignette's expectation (the given checks), or None."""
    exp, d = v["expect"], outcome.disposition
    classes = exp["class"] if isinstance(exp["class"], list) else [exp["class"]]
    why = []
    if "class" in checks and d.cls not in classes:
        why.append(f"class {d.cls}, expected {classes}")
    if "at_most" in checks and exp.get("at_most") and d.urgency > RULES.dispositions[exp["at_most"]].urgency:
        why.append(f"under-triage: {d.code} is less urgent than {exp['at_most']}")
    if "at_least" in checks and exp.get("at_least") and d.urgency < RULES.dispositions[exp["at_least"]].urgency:
        why.append(f"over-triage: {d.code} is more urgent than {exp['at_least']}")
    if "codes" in checks and exp.get("codes") and d.code not in exp["codes"]:
        why.append(f"{d.code} is not one of {exp['codes']}")
    if not why:
        return None
    reasons = "; ".join(f"{r.rule}: {r.disposition}" for r in outcome.reasons)
    return (f"{v['id']} ({'+'.join(complaints_of(v))}, {v['patient']}): got {d.code}: " + ", ".join(why)
            + f" [{reasons}]")


@pytest.mark.parametrize("v", VIGNETTES, ids=lambda v: f"{'+'.join(complaints_of(v))}:{v['id']}")
def test_vignette(v):
    _check_shape(v)
    problem = judge(v, play(v), checks=v["_checks"])
    if problem and v.get("known_miss"):
        pytest.xfail(f"known miss: {v['known_miss']}")
    assert problem is None, f"{problem}\n  story: {v['story']}\n  source: {v['source']}"


def test_vignette_ids_are_unique():
    ids = [v["id"] for v in VIGNETTES]
    assert len(ids) == len(set(ids)), sorted({i for i in ids if ids.count(i) > 1})


def test_vignettes_cover_every_complaint_age_band_and_sex():
    assert len(VIGNETTES) >= 150
    covered = {c for v in VIGNETTES for c in complaints_of(v)}
    assert set(RULES.complaints) <= covered, sorted(set(RULES.complaints) - covered)
    ages = [v["patient"]["age"] for v in VIGNETTES]
    bands = {"baby (<1)": sum(a < 1 for a in ages), "child (1-15)": sum(1 <= a < 16 for a in ages),
             "adult (16-64)": sum(16 <= a < 65 for a in ages), "older (65+)": sum(a >= 65 for a in ages)}
    assert all(n >= 10 for n in bands.values()), bands
    sexes = [v["patient"]["sex"] for v in VIGNETTES]
    assert min(sexes.count("female"), sexes.count("male")) >= 50

