"""Safety properties over the whole rule set, checked with hypothesis."""
from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from triage import Case, CaseError, Engine, Outcome, Question, load_rules

RULES = load_rules()
ENGINE = Engine(RULES)
URG = {c: d.urgency for c, d in RULES.dispositions.items()}
COMPLAINTS = sorted(RULES.complaints)
SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _age_for(cid: str, draw_age: float) -> float:
    c = RULES.complaints[cid]
    lo = c.min_age if c.min_age is not None else 0
    hi = c.max_age if c.max_age is not None else 100
    return round(lo + (min(hi, 100) - lo) * draw_age, 2)


def _sex_for(cid: str, s: str) -> str:
    return RULES.complaints[cid].sex or s


def complete(cid, age, sex, answers, vitals, choices, *, limit=200):
    """Answer questions until an outcome: yes/no from `choices` (by question id), numbers mid-range."""
    answers = dict(answers)
    for _ in range(limit):
        r = ENGINE.evaluate(Case(cid, age, sex, answers, vitals))
        if isinstance(r, Outcome):
            return r, answers
        if r.type == "yes_no":
            answers[r.id] = choices.get(r.id, False)
        elif r.type == "number":
            lo = r.minimum if r.minimum is not None else 0
            hi = r.maximum if r.maximum is not None else lo + 10
            answers[r.id] = round((lo + hi) / 2, 1)
        else:
            answers[r.id] = r.options[0].id
    raise AssertionError("no outcome")


case = st.tuples(st.sampled_from(COMPLAINTS), st.floats(0, 1), st.sampled_from(["female", "male"]),
                 st.dictionaries(st.text("abcdefghijklmnopqrstuvwxyz_", min_size=1, max_size=1), st.booleans()),
                 st.integers(0, 10_000))


def _choices(cid, seed):
    import random
    rng = random.Random(seed)
    qs = RULES.general_questions + RULES.complaints[cid].questions
    return {q.id: rng.random() < 0.25 for q in qs if q.type == "yes_no"}


@SETTINGS
@given(case, st.data())
def test_a_yes_never_lowers_urgency(c, data):
    cid, a, s, _, seed = c
    age, sex = _age_for(cid, a), _sex_for(cid, s)
    choices = _choices(cid, seed)
    base, answers = complete(cid, age, sex, {}, {}, choices)
    yes_no_answered = [q for q, v in answers.items() if v is False]
    if not yes_no_answered:
        return
    flip = data.draw(st.sampled_from(yes_no_answered))
    flipped, _ = complete(cid, age, sex, {**answers, flip: True}, {}, choices)
    assert URG[flipped.disposition.code] <= URG[base.disposition.code], (cid, flip)


WORSE = {  # (parameter, normal value, worse values further from normal)
    "respiratory_rate": (16, [22, 26, 35]), "heart_rate": (75, [95, 115, 135, 160]),
    "systolic_bp": (125, [108, 98, 85]), "temperature": (37.0, [38.5, 39.5, 40.5]),
    "spo2": (98, [95, 93, 90, 85]),
}


@SETTINGS
@given(st.sampled_from(COMPLAINTS), st.floats(0, 1), st.sampled_from(sorted(WORSE)), st.integers(0, 10_000))
def test_worse_vital_signs_never_lower_urgency(cid, a, param, seed):
    age, sex = _age_for(cid, a), _sex_for(cid, "female")
    choices = _choices(cid, seed)
    normal, worse = WORSE[param]
    last = None
    for value in [normal, *worse]:
        out, _ = complete(cid, age, sex, {}, {param: value}, choices)
        if last is not None:
            assert URG[out.disposition.code] <= last, (cid, param, value)
        last = URG[out.disposition.code]


@SETTINGS
@given(case)
def test_unanswered_questions_are_asked_never_assumed_no(c):
    cid, a, s, _, seed = c
    age, sex = _age_for(cid, a), _sex_for(cid, s)
    r = ENGINE.evaluate(Case(cid, age, sex, {}, {}))
    # a fresh case always asks first: the general life-threat questions are never assumed "no"
    assert isinstance(r, Question)
    out, answers = complete(cid, age, sex, {}, {}, _choices(cid, seed))
    # dropping any answer the outcome depended on makes the engine ask again, not decide
    for qid in list(answers)[-3:]:
        partial = {k: v for k, v in answers.items() if k != qid}
        again = ENGINE.evaluate(Case(cid, age, sex, partial, {}))
        if isinstance(again, Question):
            assert again.id not in partial
        else:
            assert URG[again.disposition.code] == URG[out.disposition.code]


@SETTINGS
@given(case)
def test_same_input_same_output(c):
    cid, a, s, _, seed = c
    age, sex = _age_for(cid, a), _sex_for(cid, s)
    out1, answers = complete(cid, age, sex, {}, {}, _choices(cid, seed))
    out2 = ENGINE.evaluate(Case(cid, age, sex, answers, {}))
    assert out1 == out2


@SETTINGS
@given(st.sampled_from(COMPLAINTS),
       st.one_of(st.text(max_size=5), st.integers(-5, 500), st.floats(allow_nan=True), st.none(), st.booleans()),
       st.sampled_from(["age", "sex", "answer", "vital", "unknown_answer"]))
def test_bad_input_names_the_field(cid, junk, where):
    c = RULES.complaints[cid]
    age = c.min_age if c.min_age is not None else 30
    kwargs = dict(complaint=cid, age=age, sex=c.sex or "female", answers={}, vitals={})
    if where == "age":
        kwargs["age"] = junk if not isinstance(junk, (int, float)) or isinstance(junk, bool) else -1 - abs(junk)
        field = "age"
    elif where == "sex":
        kwargs["sex"] = f"x{junk}"
        field = "sex"
    elif where == "answer":
        q = (RULES.general_questions + c.questions)[0]
        kwargs["answers"] = {q.id: f"maybe {junk}"}
        field = f"answers.{q.id}"
    elif where == "vital":
        kwargs["vitals"] = {"heart_rate": f"{junk}x"}
        field = "vitals.heart_rate"
    else:
        kwargs["answers"] = {"no_such_question_zz": True}
        field = "answers.no_such_question_zz"
    with pytest.raises(CaseError) as exc:
        ENGINE.evaluate(Case(**kwargs))
    assert field in exc.value.errors
