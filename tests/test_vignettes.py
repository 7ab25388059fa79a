"""Clinical vignettes: whole cases played through the engine against the guideline's expected disposition.

Vignette files live in `tests/vignettes/*.yaml`. Each file holds a list under `vignettes:`; each
vignette is one patient, written from a guideline (not from the rule files) and cited:

```yaml
vignettes:
  - id: silent_mi_diabetic_woman          # unique across all files
    complaint: abdominal_pain             # the presenting complaint's id (rules/complaints/<id>.yaml)
    patient: {age: 74, sex: female}       # age in years (0.1 for five weeks), sex female|male
    story: "Upper tummy 'indigestion' for an hour, cold sweat and breathless; type 2 diabetes."
    answers: {ap_cardiac: yes}            # the discriminators that are PRESENT, by question id;
                                          # every number or choice question that is asked must be
                                          # answered here (e.g. {ds_temperature: 38.4, dz_kind: spinning})
    vitals: {heart_rate: 112}             # optional, only the signs the vignette gives
    expect:
      class: ambulance                    # disposition class, or a list of acceptable classes
      at_most: AMB_CAT2                   # optional: the outcome must be at least this urgent
      at_least: ED_4H                     # optional: and no more urgent than this (over-triage guard)
      codes: [ED_1H, ED_4H]               # optional: or exactly one of these codes
    source: "NICE CG95 1.1.1.1; JRCALC ACS"   # the guideline the expectation comes from
```

Urgency is the order of `rules/dispositions.yaml` (most urgent first), so `at_most: PC_6H` means
"PC_6H or anything more urgent". The case is played as `triage.testing.run_case` plays a rule test:
the listed answers as given, every other yes/no question the engine asks answered "no"; a number or
choice question the vignette does not answer fails the vignette (a real caller would answer it).
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
_FIELDS = {"id", "complaint", "patient", "story", "answers", "vitals", "expect", "source"}


def _load() -> list[dict]:
    out = []
    for path in sorted(VIGNETTE_DIR.glob("*.yaml")):
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
        for v in doc["vignettes"]:
            v["_file"] = path.name
            out.append(v)
    return out


VIGNETTES = _load()


def _check_shape(v: dict) -> None:
    where = f"{v.get('_file')} [{v.get('id')}]"
    extra = set(v) - _FIELDS - {"_file"}
    assert not extra, f"{where}: unknown fields {sorted(extra)}"
    for key in ("id", "complaint", "patient", "story", "expect", "source"):
        assert v.get(key), f"{where}: missing {key!r}"
    assert v["complaint"] in RULES.complaints, f"{where}: unknown complaint {v['complaint']!r}"
    assert v["patient"].get("sex") in ("female", "male"), f"{where}: patient.sex must be female or male"
    exp = v["expect"]
    assert set(exp) <= {"class", "at_most", "at_least", "codes"}, f"{where}: unknown expect keys"
    classes = exp["class"] if isinstance(exp["class"], list) else [exp["class"]]
    assert set(classes) <= CLASSES, f"{where}: unknown class in {classes}; known: {sorted(CLASSES)}"
    for code in [exp.get("at_most"), exp.get("at_least"), *exp.get("codes", [])]:
        assert code is None or code in RULES.dispositions, f"{where}: unknown disposition {code!r}"


def play(v: dict, *, max_steps: int = 200) -> Outcome:
    """Play a vignette through the engine: its answers as given, other yes/no questions 'no'."""
    answers = {k: ("yes" if val is True else "no" if val is False else val)
               for k, val in (v.get("answers") or {}).items()}
    p = v["patient"]
    for _ in range(max_steps):
        result = ENGINE.evaluate(Case(v["complaint"], p["age"], p["sex"], answers, v.get("vitals") or {}))
        if isinstance(result, Outcome):
            return result
        assert result.id not in answers, f"question {result.id} asked again although answered"
        if result.type == "number" and result.vital:
            answers[result.id] = "unknown"  # a caller-reported observation the vignette does not give
            continue
        assert result.type == "yes_no", (
            f"the vignette must answer {result.type} question {result.id!r}: {result.text}")
        answers[result.id] = "no"
    raise AssertionError("the engine kept asking questions")


def judge(v: dict, outcome: Outcome) -> str | None:
    """Return why the outcome does not meet the vignette's expectation, or None if it does."""
    exp, d = v["expect"], outcome.disposition
    classes = exp["class"] if isinstance(exp["class"], list) else [exp["class"]]
    why = []
    if d.cls not in classes:
        why.append(f"class {d.cls}, expected {classes}")
    if exp.get("at_most") and d.urgency > RULES.dispositions[exp["at_most"]].urgency:
        why.append(f"under-triage: {d.code} is less urgent than {exp['at_most']}")
    if exp.get("at_least") and d.urgency < RULES.dispositions[exp["at_least"]].urgency:
        why.append(f"over-triage: {d.code} is more urgent than {exp['at_least']}")
    if exp.get("codes") and d.code not in exp["codes"]:
        why.append(f"{d.code} is not one of {exp['codes']}")
    if not why:
        return None
    reasons = "; ".join(f"{r.rule}: {r.disposition}" for r in outcome.reasons)
    return f"{v['id']} ({v['complaint']}, {v['patient']}): got {d.code}: " + ", ".join(why) + f" [{reasons}]"


@pytest.mark.parametrize("v", VIGNETTES, ids=lambda v: f"{v['complaint']}:{v['id']}")
def test_vignette(v):
    _check_shape(v)
    problem = judge(v, play(v))
    assert problem is None, f"{problem}\n  story: {v['story']}\n  source: {v['source']}"


def test_vignette_ids_are_unique():
    ids = [v["id"] for v in VIGNETTES]
    assert len(ids) == len(set(ids)), sorted({i for i in ids if ids.count(i) > 1})


def test_vignettes_cover_every_complaint_age_band_and_sex():
    assert len(VIGNETTES) >= 150
    covered = {v["complaint"] for v in VIGNETTES}
    assert set(RULES.complaints) <= covered, sorted(set(RULES.complaints) - covered)
    ages = [v["patient"]["age"] for v in VIGNETTES]
    bands = {"baby (<1)": sum(a < 1 for a in ages), "child (1-15)": sum(1 <= a < 16 for a in ages),
             "adult (16-64)": sum(16 <= a < 65 for a in ages), "older (65+)": sum(a >= 65 for a in ages)}
    assert all(n >= 10 for n in bands.values()), bands
    sexes = [v["patient"]["sex"] for v in VIGNETTES]
    assert min(sexes.count("female"), sexes.count("male")) >= 50

