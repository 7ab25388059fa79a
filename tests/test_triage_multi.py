"""One call, several complaints, "not sure", and answers that do not apply (issue 10): hypothesis
properties over the whole rule set plus worked examples."""
from __future__ import annotations

import random
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from triage import Case, CaseError, Engine, Outcome, Question, load_rules
from triage.model import UNKNOWN

RULES = load_rules()
ENGINE = Engine(RULES)
FAST = settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def urgency(code: str) -> int:
    return RULES.dispositions[code].urgency


def applicable(age: float, sex: str) -> list[str]:
    return sorted(c.id for c in RULES.complaints.values()
                  if (c.min_age is None or age >= c.min_age) and (c.max_age is None or age <= c.max_age)
                  and (c.sex is None or c.sex == sex))


def value_for(q, rng: random.Random, yes_share: float) -> Any:
    if q.type == "yes_no":
        return "yes" if rng.random() < yes_share else "no"
    if q.type == "number":
        lo = q.minimum if q.minimum is not None else 0
        hi = q.maximum if q.maximum is not None else 100
        return round(rng.uniform(lo, hi), 1)
    return rng.choice([o.id for o in q.options])


def play(complaints, age, sex, assignment: dict, *, vitals=None, limit: int = 200) -> tuple[Outcome, list[str]]:
    """Ask one question at a time, answering from `assignment` (drawn lazily, so any question can be answered)."""
    given_: dict = {}
    asked: list[str] = []
    for _ in range(limit):
        r = ENGINE.evaluate(Case(complaints=tuple(complaints), age=age, sex=sex, answers=dict(given_),
                                 vitals=dict(vitals or {})))
        if isinstance(r, Outcome):
            return r, asked
        assert r.id not in given_, f"{r.id} asked twice"
        asked.append(r.id)
        given_[r.id] = assignment[r.id]
    raise AssertionError("the engine kept asking")


class Assignment(dict):
    """Answers drawn on first use, so every question has exactly one answer across all plays."""

    def __init__(self, seed: int, yes_share: float):
        super().__init__()
        self.rng, self.yes_share = random.Random(seed), yes_share

    def __missing__(self, qid: str) -> Any:
        q = RULES.question(qid)
        self[qid] = value_for(q, self.rng, self.yes_share)
        return self[qid]


@st.composite
def calls(draw, n: int = 2):
    age = draw(st.sampled_from([0.1, 0.4, 2, 7, 13, 17, 30, 55, 70, 88]))
    sex = draw(st.sampled_from(["female", "male"]))
    ids = applicable(age, sex)
    chosen = draw(st.lists(st.sampled_from(ids), min_size=n, max_size=n, unique=True))
    return chosen, age, sex, draw(st.integers(0, 10**6)), draw(st.sampled_from([0.0, 0.1, 0.3]))


@FAST
@given(calls())
def test_adding_a_complaint_never_lowers_urgency(call):
    chosen, age, sex, seed, share = call
    answers = Assignment(seed, share)
    alone, _ = play(chosen[:1], age, sex, answers)
    both, asked = play(chosen, age, sex, answers)
    assert urgency(both.disposition.code) <= urgency(alone.disposition.code), (chosen, alone.reasons, both.reasons)
    assert len(asked) == len(set(asked))  # the union never asks one question twice


@FAST
@given(calls(n=3))
def test_the_order_of_complaints_never_changes_the_outcome(call):
    chosen, age, sex, seed, share = call
    answers = Assignment(seed, share)
    a, _ = play(chosen, age, sex, answers)
    b, _ = play(list(reversed(chosen)), age, sex, answers)
    assert a.disposition.code == b.disposition.code and a.complaints == b.complaints


@FAST
@given(calls(n=2))
def test_a_complaint_s_red_flags_are_asked_in_a_combined_call(call):
    """Whatever each pathway alone would reach, the combined call reaches at least the worse of the two."""
    chosen, age, sex, seed, share = call
    answers = Assignment(seed, share)
    each = [play([c], age, sex, answers)[0] for c in chosen]
    both, _ = play(chosen, age, sex, answers)
    assert urgency(both.disposition.code) <= min(urgency(o.disposition.code) for o in each)


@FAST
@given(calls(n=1), st.integers(0, 10**6))
def test_not_sure_never_lowers_urgency_below_no(call, pick):
    """Replacing a "no" with "not sure" never makes the outcome less urgent."""
    chosen, age, sex, seed, share = call
    answers = Assignment(seed, share)
    base, asked = play(chosen, age, sex, answers)
    noes = [q for q in asked if answers[q] == "no"]
    if not noes:
        return
    q = noes[pick % len(noes)]
    unsure = Assignment(seed, share)
    unsure.update(answers)
    unsure[q] = "unknown"
    out, _ = play(chosen, age, sex, unsure)
    assert urgency(out.disposition.code) <= urgency(base.disposition.code), (q, base.reasons, out.reasons)


@FAST
@given(calls(n=2))
def test_every_answer_up_front_gives_the_same_outcome_as_one_at_a_time(call):
    chosen, age, sex, seed, share = call
    answers = Assignment(seed, share)
    stepwise, asked = play(chosen, age, sex, answers)
    comp = ENGINE.compiled(tuple(chosen))
    # Caller-reported observations (questions with `vital:`) are information like `vitals`: one
    # given up front is used (NEWS2 scores every observation given) even where the stepwise call
    # never needed to ask for it, so only those the stepwise call asked are sent.
    everything = {q.id: answers[q.id] for q in comp.questions if not q.vital or q.id in asked}
    # plus answers to questions of other complaints and gated-out ones: they must be ignored
    if age >= 0.25:
        everything["gen_infant_fever"] = "yes"
    up_front = ENGINE.evaluate(Case(complaints=tuple(chosen), age=age, sex=sex, answers=everything))
    assert isinstance(up_front, Outcome)
    assert up_front.disposition.code == stepwise.disposition.code


# -- worked examples --------------------------------------------------------------------------

def answer_rest(complaints, age, sex, answers: dict, default: str = "no") -> Outcome:
    answers = dict(answers)
    while True:
        r = ENGINE.evaluate(Case(complaints=tuple(complaints), age=age, sex=sex, answers=dict(answers)))
        if isinstance(r, Outcome):
            return r
        answers[r.id] = default if r.type == "yes_no" else "unknown"


def test_an_answer_about_a_young_baby_sent_for_an_adult_is_ignored_and_listed():
    out = answer_rest(["constipation"], 40, "male", {"gen_infant_fever": "yes"})
    assert out.disposition.code != "ED_1H"
    assert ("gen_infant_fever", "does not apply to this patient (age, sex or an earlier answer)") in out.ignored
    assert all(r.rule != "gen_infant_fever" for r in out.reasons)
    assert out.as_dict()["ignored_answers"][0]["question"] == "gen_infant_fever"


def test_an_answer_to_another_complaint_s_question_is_ignored_not_an_error():
    other = next(q.id for q in RULES.complaints["chest_pain"].questions)
    r = ENGINE.evaluate(Case("sore_throat", 30, "female", {other: "yes"}))
    if isinstance(r, Question):
        assert r.id != other
    with pytest.raises(CaseError) as err:
        ENGINE.evaluate(Case("sore_throat", 30, "female", {"no_such_question": "yes"}))
    assert "answers.no_such_question" in err.value.errors


def _first_rule_question(cid: str) -> tuple[str, str]:
    """A yes/no question of the complaint that alone fires a rule more urgent than its default."""
    c = RULES.complaints[cid]
    ungated = {q.id for q in c.questions if q.when is None}
    for r in c.rules:
        if set(r.condition) == {"yes"} and r.condition["yes"] in ungated:
            return r.condition["yes"], r.disposition
    raise AssertionError(cid)


@pytest.mark.parametrize("cid", ["chest_pain", "headache", "abdominal_pain", "cough", "fall"])
def test_not_sure_is_the_cautious_branch_and_says_so(cid):
    qid, code = _first_rule_question(cid)
    answers = {qid: "unknown"}
    while True:
        r = ENGINE.evaluate(Case(cid, 45, "female", dict(answers)))
        if isinstance(r, Outcome):
            break
        answers[r.id] = "no" if r.type == "yes_no" else "unknown"
    assert urgency(r.disposition.code) <= urgency(code)
    reason = next(x for x in r.reasons if x.rule == qid or qid in x.text or x.unsure)
    assert reason.unsure and "treated as yes: caller not sure" in reason.text
    assert r.as_dict()["trail"][[t[0] for t in r.trail].index(qid)]["answer"] == "unknown"


def test_every_yes_no_question_offers_not_sure_and_says_what_it_means():
    for q in [*RULES.general_questions, *RULES.danger_questions,
              *(q for c in RULES.complaints.values() for q in c.questions)]:
        d = q.as_dict()
        if q.type == "yes_no":
            assert [o["id"] for o in d["options"]] == ["yes", "no", "unknown"], q.id
            assert d["unsure_means"] in ("treated as yes", "treated as no"), q.id


def test_unknown_is_accepted_in_its_usual_spellings():
    for word in ("unknown", "Not sure", "unsure", "don't know"):
        r = ENGINE.evaluate(Case("chest_pain", 50, "male", {"gen_not_breathing": word}))
        assert isinstance(r, Outcome) and r.disposition.code == "AMB_CAT1"
        assert r.trail[0][2] is UNKNOWN


def test_a_combined_call_asks_the_most_dangerous_question_first_and_names_each_complaint():
    r = ENGINE.evaluate(Case(complaints=("cough", "chest_pain"), age=60, sex="male"))
    assert isinstance(r, Question) and r.id.startswith("gen_")  # life threat first
    cp_q, cp_code = _first_rule_question("chest_pain")
    out = answer_rest(["cough", "chest_pain"], 60, "male", {cp_q: "yes"})
    assert out.complaints == ("chest_pain", "cough")
    assert urgency(out.disposition.code) <= urgency(cp_code)
    assert any(x.complaint == "chest_pain" and x.rule != "default" for x in out.reasons)
    calm = answer_rest(["cough", "chest_pain"], 60, "male", {})
    asked = {t[0] for t in calm.trail}
    for cid in ("cough", "chest_pain"):  # with no red flag yet, both pathways' red flags are asked
        assert asked & {q.id for q in RULES.complaints[cid].questions}, cid


def test_compiled_sets_are_bounded_in_memory():
    engine = Engine(RULES)
    ids = sorted(RULES.complaints)
    for a in ids:
        for b in ids:
            if a < b:
                try:
                    engine.compiled((a, b))
                except Exception:
                    pass
    assert len(engine._compiled) <= 256


@pytest.mark.parametrize("words,expected", [
    ("fell or fainted", {"fall", "fainting_collapse"}),
    ("cough and fever", {"cough", "fever_adult"}),
    ("breathless with chest pain", {"breathing_difficulty", "chest_pain"}),
    ("fell and hit her head", {"fall", "head_injury"}),
    ("confused and weeing a lot", {"confusion", "urinary_symptoms"}),
])
def test_a_call_naming_several_things_matches_each(words, expected):
    from triage import match_complaints
    found, _ = match_complaints(words, RULES, age=70, sex="female")
    assert {m.id for m in found} >= expected


def test_a_rule_file_s_own_phrase_with_and_is_one_complaint():
    from triage import match_complaints
    found, _ = match_complaints("diarrhoea and vomiting", RULES, age=30, sex="male")
    assert [m.id for m in found] == ["diarrhoea_vomiting"]


@pytest.mark.parametrize("words, age, sex, must", [
    # a part that ties between pathways brings all of them, beside the part matched confidently
    ("his eye's swollen shut and he's got a temperature", 6, "male", {"eye_problems", "fever_adult"}),
    ("I'm bleeding from my back passage and I feel faint", 70, "male", {"rectal_problems", "fainting_collapse"}),
])
def test_a_tied_part_of_a_call_is_not_dropped(words, age, sex, must):
    from triage import match_complaints
    found, _ = match_complaints(words, RULES, age=age, sex=sex)
    assert must <= {c.id for c in found}

