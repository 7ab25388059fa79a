"""Safety properties of the triage engine, checked with hypothesis over every complaint the rule
set holds and random patients: a "yes" or a worse vital sign never lowers urgency, a question
that matters is asked (never assumed "no"), the same input gives the same output, and bad input
raises CaseError naming the field."""
from __future__ import annotations

import math
import operator
import os
import random
from typing import Any

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from triage import Case, CaseError, Engine, Outcome, Question, load_rules
from triage.engine import VITAL_LIMITS
from triage.loader import question_refs
from triage.model import Complaint, Condition
from triage.news2 import score_news2

RULES = load_rules(os.environ.get("TRIAGE_RULES_DIR") or None)
ENGINE = Engine(RULES)
COMPLAINTS = sorted(RULES.complaints)
FAST = settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def urgency(code: str) -> int:
    return RULES.dispositions[code].urgency


def questions(c: Complaint):
    """Every question a call with this complaint may ask: general, the complaint's, relevant danger signs."""
    return ENGINE.compiled(c.id).questions


def rules_of(c: Complaint):
    return ENGINE.compiled(c.id).rules


VITAL_QUESTIONS = {q.vital: q.id for q in RULES.danger_questions if q.vital}


def conditions_of(c: Complaint):
    yield from (r.condition for r in rules_of(c))
    yield from (q.when for q in questions(c) if q.when)
    yield from (d.when for d in c.defaults if d.when)


def _walk(cond: Condition):
    yield cond
    for key in ("all", "any"):
        for sub in cond.get(key, []):
            yield from _walk(sub)


def _thresholds(cond: Condition) -> list[float]:
    return [v for k, v in cond.items() if k in ("gte", "gt", "lte", "lt", "eq") and isinstance(v, (int, float))]


# -- a reference evaluator: plain two-valued logic over a fully known case ---------------------------

def _cmp(value: Any, cond: Condition) -> bool:
    # operator functions, not value.__lt__: int.__lt__(float) is NotImplemented (an int answer of 30
    # against a 36.0 threshold would read as false)
    ops = {"gte": operator.ge, "gt": operator.gt, "lte": operator.le, "lt": operator.lt, "eq": operator.eq}
    if value == "unknown" and any(k in cond for k in ops):
        return False  # a number answered "not measured" meets no threshold
    ok = all(ops[k](value, cond[k]) is True for k in ops if k in cond)
    return ok and ("in" not in cond or value in cond["in"])


def _merged(vitals: dict, answers: dict) -> dict:
    """Vitals given, completed by number answers to observation questions (as the engine does)."""
    out = {k: v for k, v in vitals.items() if v is not None}
    for name, qid in VITAL_QUESTIONS.items():
        value = answers.get(qid)
        if name in out or value is None or isinstance(value, str):
            continue
        if name == "spo2_scale":
            if value is True:
                out[name] = 2
        elif not isinstance(value, bool):
            out[name] = value
    return out


def ref_eval(cond: Condition, c: Complaint, age: float, sex: str, answers: dict, vitals: dict) -> bool:
    """True if the condition holds; unanswered questions and missing vitals are simply false;
    sex 'unknown' satisfies every sex condition (the engine's escalating choice)."""
    if "all" in cond:
        return all(ref_eval(x, c, age, sex, answers, vitals) for x in cond["all"])
    if "any" in cond:
        return any(ref_eval(x, c, age, sex, answers, vitals) for x in cond["any"])
    if "yes" in cond:
        return answers.get(cond["yes"]) is True
    if "answer" in cond:
        return cond["answer"] in answers and _cmp(answers[cond["answer"]], cond)
    if "age" in cond:
        return _cmp(age, cond["age"])
    if "sex" in cond:
        return sex == "unknown" or sex == cond["sex"]
    if "tag" in cond:
        return cond["tag"] in c.tags
    if "complaint" in cond:
        return cond["complaint"] == c.id
    if "vital" in cond:
        value = vitals.get(cond["vital"])
        if value is None:  # a caller-reported observation answered as a question
            value = answers.get(VITAL_QUESTIONS.get(cond["vital"], ""))
            if cond["vital"] == "spo2_scale":
                value = 2 if value is True else None
            if not isinstance(value, (int, float)) or isinstance(value, bool):
                value = None
        return value is not None and _cmp(value, cond)
    if "news2" in cond:
        return _cmp(score_news2(_merged(vitals, answers), RULES.news2_table).total, cond["news2"])
    if "news2_single" in cond:
        return _cmp(score_news2(_merged(vitals, answers), RULES.news2_table).max_single, cond["news2_single"])
    if "score" in cond:
        items = next(s.items for s in c.scores if s.id == cond["score"])
        return _cmp(sum(1 for q in items if answers.get(q) is True), cond)
    raise AssertionError(f"condition form unknown to the test: {cond}")


def askable(q, c: Complaint, age, sex, answers, vitals) -> bool:
    return q.when is None or ref_eval(q.when, c, age, sex, answers, vitals)


def close(c: Complaint, age, sex, assignment: dict, vitals, start: dict | None = None) -> dict:
    """Answer every question that becomes askable, from `assignment`, until nothing changes.

    Caller-reported observations (questions with `vital:`) count only when in `start` (asked by the
    engine, or given): like `vitals`, a reading the call never needed is not part of the case (NEWS2
    would score it, but no rule asks for a reading only NEWS2 reads)."""
    answers = dict(start or {})
    changed = True
    while changed:
        changed = False
        for q in questions(c):
            if q.vital and q.id not in answers:
                continue
            if q.id not in answers and askable(q, c, age, sex, answers, vitals):
                answers[q.id] = assignment[q.id]
                changed = True
    return answers


def oracle(c: Complaint, age, sex, answers: dict, vitals) -> int:
    """Urgency of the outcome the rules define for a fully answered case (brute force)."""
    fired = [urgency(r.disposition) for r in rules_of(c) if ref_eval(r.condition, c, age, sex, answers, vitals)]
    sexes = ("female", "male") if sex == "unknown" else (sex,)
    defaults = [next(d for d in c.defaults if d.when is None or ref_eval(d.when, c, age, s, answers, vitals))
                for s in sexes]
    return min(fired + [urgency(d.disposition) for d in defaults])


def engine_answer(value: Any) -> Any:
    return ("yes" if value else "no") if isinstance(value, bool) else value


def play(c: Complaint, age, sex, assignment: dict, vitals, *, check=None) -> tuple[Outcome, dict]:
    """Run the case through the engine, answering each asked question from `assignment`."""
    given_answers: dict = {}
    answers: dict = {}
    for _ in range(len(questions(c)) + 2):
        result = ENGINE.evaluate(Case(c.id, age, sex, dict(given_answers), dict(vitals)))
        if check:
            check(result, dict(answers))
        if isinstance(result, Outcome):
            return result, answers
        assert result.id not in answers, f"{c.id}: {result.id} asked again"
        answers[result.id] = assignment[result.id]
        given_answers[result.id] = engine_answer(assignment[result.id])
    raise AssertionError(f"{c.id}: the engine asked more questions than the complaint has")


# -- strategies ------------------------------------------------------------------------------

def interesting_ages(c: Complaint) -> list[float]:
    lo = c.min_age if c.min_age is not None else 0.0
    hi = min(c.max_age if c.max_age is not None else 130.0, 130.0)
    points = {lo, hi, (lo + hi) / 2, min(max(30.0, lo), hi)}
    for cond in conditions_of(c):
        for node in _walk(cond):
            if "age" in node:
                for t in _thresholds(node["age"]):
                    points.update({t - 0.5, t - 0.01, t, t + 0.01, t + 0.5})
    return sorted(round(p, 2) for p in points if lo <= round(p, 2) <= hi)


def number_values(c: Complaint, q) -> list[float]:
    lo = q.minimum if q.minimum is not None else 0.0
    hi = q.maximum if q.maximum is not None else max(lo + 100.0, 100.0)
    points = {lo, hi, (lo + hi) / 2}
    for cond in conditions_of(c):
        for node in _walk(cond):
            if node.get("answer") == q.id:
                for t in _thresholds(node):
                    points.update({t - 1, t - 0.1, t, t + 0.1, t + 1})
    return sorted(p for p in points if lo <= p <= hi)


@st.composite
def patients(draw, complaint_ids=None):
    cid = draw(st.sampled_from(complaint_ids or COMPLAINTS))
    c = RULES.complaints[cid]
    age = draw(st.one_of(st.sampled_from(interesting_ages(c)),
                         st.floats(c.min_age or 0, min(c.max_age if c.max_age is not None else 130, 130))))
    sex = draw(st.sampled_from([c.sex, "unknown"] if c.sex else ["female", "male", "unknown"]))
    assignment: dict[str, Any] = {}
    # "yes" is drawn rarely: with every answer a coin flip, a general life-threat question would
    # almost always be "yes" and settle the case before the complaint's own questions.
    yes_percent = draw(st.sampled_from([0, 10, 25, 50]))
    for q in questions(c):
        if q.type == "yes_no":
            assignment[q.id] = draw(st.integers(0, 99)) >= 100 - yes_percent
        elif q.type == "number":
            assignment[q.id] = draw(st.sampled_from(number_values(c, q)))
        else:
            assignment[q.id] = draw(st.sampled_from([o.id for o in q.options]))
    vitals = draw(vital_signs())
    return c, age, sex, assignment, vitals


def _interesting_vitals() -> dict[str, list[float]]:
    """NEWS2 band edges and every threshold a vital-sign condition uses, with their neighbours."""
    points: dict[str, set[float]] = {name: set() for name in VITAL_LIMITS}
    table = RULES.news2_table
    for name, key in (("respiratory_rate", "respiratory_rate"), ("spo2", "spo2_scale1"), ("spo2", "spo2_scale2"),
                      ("spo2", "spo2_scale2_on_oxygen"), ("systolic_bp", "systolic_bp"),
                      ("heart_rate", "heart_rate"), ("temperature", "temperature")):
        for upper, _ in table[key]:
            if upper is not None:
                points[name].update({upper, upper + (0.1 if name == "temperature" else 1)})
    for c in RULES.complaints.values():
        for cond in conditions_of(c):
            for node in _walk(cond):
                if node.get("vital") in points:
                    for t in _thresholds(node):
                        d = 0.1 if node["vital"] == "temperature" else 1
                        points[node["vital"]].update({t - d, t, t + d})
    out = {}
    for name, vals in points.items():
        lo, hi = VITAL_LIMITS[name]
        out[name] = sorted(round(v, 1) if name == "temperature" else int(v) for v in vals if lo <= v <= hi)
    return out


INTERESTING_VITALS = _interesting_vitals()


@st.composite
def vital_signs(draw):
    v: dict[str, Any] = {}
    if draw(st.integers(0, 2)) == 0:
        return v  # many calls come without observations
    for name, (lo, hi) in VITAL_LIMITS.items():
        if draw(st.booleans()):
            if draw(st.integers(0, 3)) > 0 and INTERESTING_VITALS[name]:
                v[name] = draw(st.sampled_from(INTERESTING_VITALS[name]))
            elif name == "temperature":
                v[name] = draw(st.integers(int(lo * 10), int(hi * 10))) / 10
            else:
                v[name] = draw(st.integers(int(lo), int(hi)))
    if draw(st.booleans()):
        v["on_oxygen"] = draw(st.booleans())
    if draw(st.booleans()):
        v["consciousness"] = draw(st.sampled_from("ACVPU"))
    if "spo2" in v and draw(st.integers(0, 3)) == 0:
        v["spo2_scale"] = 2
    return v


# -- (a) a "yes" never lowers urgency --------------------------------------------------------------

@FAST
@given(patients(), st.data())
def test_yes_never_lowers_urgency(patient, data):
    c, age, sex, assignment, vitals = patient
    yes_no = [q.id for q in questions(c) if q.type == "yes_no"]
    qid = data.draw(st.sampled_from(yes_no))
    with_yes, _ = play(c, age, sex, {**assignment, qid: True}, vitals)
    with_no, _ = play(c, age, sex, {**assignment, qid: False}, vitals)
    assert with_yes.disposition.urgency <= with_no.disposition.urgency, (
        f"{c.id}: 'yes' to {qid} gave {with_yes.disposition.code}, 'no' gave {with_no.disposition.code}")


def _few(values: list, n: int) -> list:
    """At most n values spread over the list, keeping both ends."""
    if len(values) <= n:
        return values
    return [values[round(i * (len(values) - 1) / (n - 1))] for i in range(n)]


@pytest.mark.parametrize("cid", COMPLAINTS)
def test_each_single_yes_exhaustively(cid):
    """Deterministic companion of the random properties: from the all-"no" case, a single "yes"
    to each question, at the ages the rules distinguish and for each sex (and unknown). The
    engine must agree with brute force, and the "yes" must not lower urgency."""
    c = RULES.complaints[cid]
    base = {q.id: (False if q.type == "yes_no" else (number_values(c, q)[0] if q.type == "number"
                                                      else q.options[-1].id)) for q in questions(c)}
    for age in _few(interesting_ages(c), 4):
        for sex in ([c.sex, "unknown"] if c.sex else ["female", "male", "unknown"]):
            no_outcome, asked = play(c, age, sex, base, {})
            assert no_outcome.disposition.urgency == oracle(c, age, sex, close(c, age, sex, base, {}, asked), {})
            for q in questions(c):
                if q.type != "yes_no":
                    continue
                assignment = {**base, q.id: True}
                yes_outcome, asked = play(c, age, sex, assignment, {})
                expected = oracle(c, age, sex, close(c, age, sex, assignment, {}, asked), {})
                assert yes_outcome.disposition.urgency == expected, (
                    f"{cid} age {age} {sex}, yes to {q.id}: engine {yes_outcome.disposition.code}, "
                    f"brute force {list(RULES.dispositions)[expected]}")
                assert yes_outcome.disposition.urgency <= no_outcome.disposition.urgency, (cid, age, sex, q.id)


# -- (b) worse vital signs never lower urgency -----------------------------------------------------

NORMAL_MIDDLE = {"respiratory_rate": 16, "systolic_bp": 165, "heart_rate": 70, "temperature": 37.0}
ACVPU = "ACVPU"


def worsen(vitals: dict, name: str, step: float) -> dict | None:
    """Move one parameter further from normal, in the direction it already lies."""
    v = dict(vitals)
    if name in NORMAL_MIDDLE:
        if name not in v:
            return None
        lo, hi = VITAL_LIMITS[name]
        sign = 1 if v[name] >= NORMAL_MIDDLE[name] else -1
        new = min(hi, max(lo, v[name] + sign * step))
        v[name] = round(new, 1) if name == "temperature" else int(round(new))
    elif name == "spo2":
        if name not in v:
            return None
        if v.get("spo2_scale") == 2 and v.get("on_oxygen") and v["spo2"] > 92:
            v["spo2"] = min(100, int(v["spo2"] + step))
        else:
            v["spo2"] = max(40, int(v["spo2"] - step))
    elif name == "on_oxygen":
        v["on_oxygen"] = True
    elif name == "consciousness":
        now = ACVPU.index(v.get("consciousness") or "A")
        v["consciousness"] = ACVPU[min(4, now + max(1, int(step) % 4))]
    return None if v == vitals else v


@FAST
@given(patients(), st.sampled_from([*NORMAL_MIDDLE, "spo2", "on_oxygen", "consciousness"]),
       st.sampled_from([0.1, 1, 2, 5, 10, 25]))
def test_worse_vital_signs_never_lower_urgency(patient, name, step):
    c, age, sex, assignment, vitals = patient
    worse = worsen(vitals, name, step)
    assume(worse is not None)
    before, _ = play(c, age, sex, assignment, vitals)
    after, _ = play(c, age, sex, assignment, worse)
    assert after.disposition.urgency <= before.disposition.urgency, (
        f"{c.id}: {name} {vitals.get(name)} -> {worse.get(name)} changed "
        f"{before.disposition.code} to {after.disposition.code}")
    if before.news2 is not None:
        assert after.news2 >= before.news2


@pytest.mark.parametrize("cid", COMPLAINTS)
def test_each_single_observation_exhaustively(cid):
    """Deterministic companion: every band edge and rule threshold of each vital sign, alone,
    on the all-"no" case; the engine must agree with brute force and never fall below no vitals."""
    c = RULES.complaints[cid]
    sex = c.sex or "female"
    age = min(max(30.0, c.min_age or 0), c.max_age if c.max_age is not None else 130)
    base = {q.id: (False if q.type == "yes_no" else (number_values(c, q)[0] if q.type == "number"
                                                      else q.options[-1].id)) for q in questions(c)}
    # the vital signs under test are given as vitals: observation questions are "not measured"
    base.update({q.id: "unknown" for q in questions(c) if q.vital and q.type == "number"})
    plain, _ = play(c, age, sex, base, {})
    singles = [{name: v} for name, values in INTERESTING_VITALS.items() for v in values]
    singles += [{"consciousness": x} for x in ACVPU] + [{"on_oxygen": True}, {"on_oxygen": False}]
    for vitals in singles:
        outcome, asked = play(c, age, sex, base, vitals)
        expected = oracle(c, age, sex, close(c, age, sex, base, vitals, asked), vitals)
        assert outcome.disposition.urgency == expected, (
            f"{cid} with {vitals}: engine {outcome.disposition.code}, brute force {list(RULES.dispositions)[expected]}")
        assert outcome.disposition.urgency <= plain.disposition.urgency, (cid, vitals)


@FAST
@given(patients(), vital_signs())
def test_adding_observations_never_lowers_urgency(patient, extra):
    c, age, sex, assignment, vitals = patient
    more = {**extra, **vitals}
    if "spo2" in vitals:
        # choosing SpO2 scale 2 re-reads the existing saturation (88-92% is then normal): that is
        # a clinical decision about the patient, not an added observation
        more.pop("spo2_scale", None)
        if "spo2_scale" in vitals:
            more["spo2_scale"] = vitals["spo2_scale"]
    before, _ = play(c, age, sex, assignment, vitals)
    after, _ = play(c, age, sex, assignment, more)
    assert after.disposition.urgency <= before.disposition.urgency, (c.id, vitals, more)


# -- (c) a question that matters is asked, never assumed "no" --------------------------------------

def _yes_no_only(c: Complaint) -> bool:
    return all(q.type == "yes_no" for q in questions(c))


@FAST
@given(patients())
def test_the_engine_agrees_with_brute_force_over_every_askable_question(patient):
    """Stopping early is safe: the engine's outcome equals the outcome of answering every question
    that applies (from the same answers), so no unasked question could have changed it."""
    c, age, sex, assignment, vitals = patient
    outcome, answers = play(c, age, sex, assignment, vitals)
    full = close(c, age, sex, assignment, vitals, answers)
    assert set(answers) <= set(full)
    assert outcome.disposition.urgency == oracle(c, age, sex, full, vitals), (
        f"{c.id}: engine {outcome.disposition.code} after {sorted(answers)}; answering every "
        f"applicable question gives {list(RULES.dispositions)[oracle(c, age, sex, full, vitals)]}")


@FAST
@given(patients())
def test_every_step_asks_only_what_matters_and_stops_only_when_settled(patient):
    c, age, sex, assignment, vitals = patient
    all_yes = {q: (True if v is False or v is True else v) for q, v in assignment.items()}
    all_no = {q: (False if v is False or v is True else v) for q, v in assignment.items()}

    def check(result, answers):
        if isinstance(result, Question):
            q = result
            assert q.id not in answers
            assert askable(q, c, age, sex, answers, vitals), f"{c.id}: {q.id} asked while its `when` is false"
            if _yes_no_only(c):
                worst = oracle(c, age, sex, close(c, age, sex, all_yes, vitals, answers), vitals)
                best = oracle(c, age, sex, close(c, age, sex, all_no, vitals, answers), vitals)
                assert worst < best, f"{c.id}: {q.id} asked although no answer could change the outcome"
        else:
            # Nothing was assumed "no": answering "yes" to everything still open changes nothing.
            worst = oracle(c, age, sex, close(c, age, sex, all_yes, vitals, answers), vitals)
            assert result.disposition.urgency == worst, (
                f"{c.id}: outcome {result.disposition.code} after {sorted(answers)} but open questions "
                f"answered 'yes' give {list(RULES.dispositions)[worst]}")

    play(c, age, sex, assignment, vitals, check=check)


@FAST
@given(patients())
def test_unknown_sex_is_never_less_urgent_than_either_sex(patient):
    c, age, _, assignment, vitals = patient
    assume(c.sex is None)
    unknown = play(c, age, "unknown", assignment, vitals)[0].disposition.urgency
    for sex in ("female", "male"):
        assert unknown <= play(c, age, sex, assignment, vitals)[0].disposition.urgency, (c.id, sex)


# -- (d) determinism -------------------------------------------------------------------------------

@FAST
@given(patients(), st.randoms(use_true_random=False))
def test_same_input_same_output(patient, rnd: random.Random):
    c, age, sex, assignment, vitals = patient
    outcome, answers = play(c, age, sex, assignment, vitals)
    given_answers = {k: engine_answer(v) for k, v in answers.items()}
    # a prefix of the answers: may be a question or an outcome
    keys = list(given_answers)
    prefix = {k: given_answers[k] for k in keys[: rnd.randint(0, len(keys))]}
    for ans in (given_answers, prefix):
        case = Case(c.id, age, sex, ans, vitals)
        first = ENGINE.evaluate(case)
        shuffled = list(ans.items())
        rnd.shuffle(shuffled)
        again = Engine(RULES).evaluate(Case(c.id, age, sex, dict(shuffled), dict(reversed(list(vitals.items())))))
        assert first == again == ENGINE.evaluate(case)
        assert first.as_dict() == again.as_dict()


# -- (e) bad input raises CaseError naming the field ------------------------------------------------

JUNK = st.one_of(
    st.none(), st.booleans(), st.integers(-10**6, 10**6), st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=8), st.sampled_from(["yes", "no", "Y", "maybe", "", " true ", "1", "2", "A", "C", "x"]),
    st.lists(st.integers(), max_size=2), st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
)
YES_NO_OK = {"yes", "y", "true", "1", "no", "n", "false", "0"}


def yes_no_valid(v: Any) -> bool:
    if isinstance(v, bool):
        return True
    if isinstance(v, int):
        return v in (0, 1)
    return isinstance(v, str) and v.strip().lower() in YES_NO_OK


def number_valid(v: Any, q) -> bool:
    if isinstance(v, bool):
        return False
    try:
        f = float(v.strip() if isinstance(v, str) else v)
    except (TypeError, ValueError):
        return False
    return math.isfinite(f) and (q.minimum is None or f >= q.minimum) and (q.maximum is None or f <= q.maximum)


def vital_valid(name: str, v: Any) -> bool:
    if v is None:
        return True
    if name in VITAL_LIMITS:
        lo, hi = VITAL_LIMITS[name]
        return isinstance(v, (int, float)) and not isinstance(v, bool) and lo <= v <= hi
    if name == "consciousness":
        return isinstance(v, str) and v in tuple(ACVPU)
    if name == "on_oxygen":
        return isinstance(v, bool)
    if name == "spo2_scale":
        return not isinstance(v, bool) and isinstance(v, (int, float)) and v in (1, 2)
    return False


@FAST
@given(patients(), st.data())
def test_bad_answers_and_vitals_raise_case_error_naming_each_field(patient, data):
    c, age, sex, _, _ = patient
    qs = questions(c)
    answers: dict[Any, Any] = {}
    expected: set[str] = set()
    for q in data.draw(st.lists(st.sampled_from(qs), max_size=3, unique_by=lambda q: q.id)):
        v = data.draw(JUNK)
        answers[q.id] = v
        ok = (yes_no_valid(v) if q.type == "yes_no" else number_valid(v, q) if q.type == "number"
              else isinstance(v, str) and v.strip().lower() in [o.id for o in q.options])
        if not ok:
            expected.add(f"answers.{q.id}")
    if data.draw(st.booleans()):
        unknown = data.draw(st.one_of(st.text(min_size=1, max_size=10), st.integers()))
        if unknown not in {q.id for q in qs}:
            answers[unknown] = "yes"
            expected.add(f"answers.{unknown}")
    vitals: dict[Any, Any] = {}
    names = [*VITAL_LIMITS, "consciousness", "on_oxygen", "spo2_scale", "pulse", "bp"]
    for name in data.draw(st.lists(st.sampled_from(names), max_size=3, unique=True)):
        v = data.draw(st.one_of(JUNK, st.integers(-50, 350), st.floats(-50, 350)))
        vitals[name] = v
        if not vital_valid(name, v):
            expected.add(f"vitals.{name}")
    case = Case(c.id, age, sex, answers, vitals)
    if expected:
        with pytest.raises(CaseError) as err:
            ENGINE.evaluate(case)
        assert set(err.value.errors) == expected, (answers, vitals)
        for key in expected:
            assert key in str(err.value)
    else:
        assert isinstance(ENGINE.evaluate(case), (Question, Outcome))


@FAST
@given(st.sampled_from(COMPLAINTS), JUNK, JUNK)
def test_bad_age_and_sex_raise_case_error(cid, age, sex):
    c = RULES.complaints[cid]
    age_ok = isinstance(age, (int, float)) and not isinstance(age, bool) and 0 <= age <= 130
    sex_ok = isinstance(sex, str) and sex in ("female", "male", "unknown")
    try:
        result = ENGINE.evaluate(Case(cid, age, sex))
    except CaseError as err:
        bad = set(err.errors)
        assert bad, "a CaseError must name at least one field"
        if not age_ok:
            assert "age" in bad
        if not sex_ok:
            assert "sex" in bad
        assert bad <= {"age", "sex", "complaint"}
        if "complaint" in bad:  # outside the complaint's age range or sex
            assert (age_ok and ((c.min_age is not None and age < c.min_age) or
                                (c.max_age is not None and age > c.max_age))) or (sex_ok and c.sex and sex not in (c.sex, "unknown"))
    else:
        assert age_ok and sex_ok and isinstance(result, (Question, Outcome))


@FAST
@given(st.one_of(JUNK, st.text(max_size=20)))
def test_unknown_complaint_raises_case_error(cid):
    assume(not (isinstance(cid, str) and cid in RULES.complaints))
    with pytest.raises(CaseError) as err:
        ENGINE.evaluate(Case(cid, 30, "female"))
    assert set(err.value.errors) in ({"complaint"}, {"complaints"})  # a list names several
