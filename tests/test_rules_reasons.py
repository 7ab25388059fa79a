"""Reasons shown beside an outcome only state what the answers established (issue 10 item 6).

A rule's reason is shown whenever the rule fires, beside every other fired rule, so it may only
say what its own condition guarantees ("uninjured faller" must not sit beside a suspected hip
fracture); a default is shown when nothing more urgent fired, so it claims no facts either.
"""
from __future__ import annotations

import re

import pytest

from triage import load_rules
from triage.engine import Engine
from triage.model import Outcome, RuleTest
from triage.testing import run_case

RULES = load_rules()
ENGINE = Engine(RULES)

# (case name, complaint, age, sex, answers, rule ids that must fire, words no reason may contain)
CASES = [
    ("a 40-minute stroke is not 'started more than 24 hours ago'", "stroke_symptoms", 72, "female",
     {"stk_now": "yes", "stk_onset": "under_24h"}, {"stk_now_recent"}, ["more than 24 hours"]),
    ("a faller on the floor with hip pain is not 'uninjured'", "fall", 84, "female",
     {"fall_on_floor": "yes", "fall_intense_pain": "yes"}, {"fall_on_floor", "fall_intense_pain_floor"},
     ["uninjured", "no istumble red flags"]),
    ("calf pain after an operation is not 'without DVT risk factors'", "leg_swelling", 66, "male",
     {"ls_calf_pain": "yes", "ds_vte_risk": "yes"}, {"ls_calf_pain", "ls_calf_pain_risk"}, ["without dvt"]),
    ("palpitations now, with heart disease, are not 'now settled'", "palpitations", 60, "male",
     {"pp_now": "yes", "pp_heart_disease": "yes"}, {"pp_now", "pp_heart_disease"}, ["settled", "without red flags"]),
    ("new confusion with infection signs is not 'without red flags'", "confusion", 80, "female",
     {"cf_new": "yes", "cf_infection": "yes"}, {"cf_new_older"}, ["without red flags"]),
    ("confusion in diabetes with a low sugar is not 'with a normal sugar'", "confusion", 70, "male",
     {"cf_diabetes": "yes", "cf_sugar_low": "yes"}, {"cf_diabetes"}, ["normal sugar"]),
    ("a non-blanching rash with a fever is not 'without fever'", "rash", 20, "female",
     {"rash_non_blanching": "yes", "rash_fever": "yes"}, {"rash_non_blanching"}, ["without fever"]),
    ("early pregnancy bleeding with pain is not 'without pain'", "pregnancy_problems", 28, "female",
     {"pg_stage": "under_14", "pg_bleeding": "yes", "pg_early_pain": "yes"}, {"pg_bleeding_early"},
     ["without pain"]),
    ("chronic sinus symptoms with a red flag are not 'without red flags'", "sinusitis", 40, "female",
     {"sin_chronic": "yes", "sin_frontal": "yes"}, {"sin_chronic"}, ["without red flags"]),
    ("a febrile fit that is not recovering is not 'recovered'", "seizure", 2, "male",
     {"sz_not_recovering": "yes", "sz_fever": "yes"}, {"sz_fever"}, ["recovered febrile"]),
    ("suicidal thoughts with a plan are not 'without plan'", "mental_health_crisis", 30, "male",
     {"mh_plan_means": "yes", "mh_thoughts": "yes"}, {"mh_thoughts"}, ["without plan"]),
    ("lip swelling with a swelling throat is not 'without airway compromise'", "allergic_reaction", 40, "female",
     {"ar_airway": "yes", "ar_face_swelling": "yes"}, {"ar_face_swelling", "ar_airway"}, ["without airway"]),
    ("a nosebleed still going on a blood thinner is not 'now stopped'", "nosebleed", 75, "male",
     {"nb_not_stopping": "yes", "nb_bleeding_risk": "yes"}, {"nb_not_stopping", "nb_bleeding_risk"},
     ["now stopped"]),
    ("dental swelling that blocks breathing is not 'not affecting the airway'", "dental_pain", 30, "male",
     {"dp_airway": "yes", "dp_swelling": "yes"}, {"dp_swelling"}, ["not affecting the airway"]),
    ("a seizure in the 6 weeks after a miscarriage is not 'after birth'", "seizure", 30, "female",
     {"ds_pregnant_postnatal": "yes"}, {"sz_pregnant"}, ["after birth"]),
]


def _outcome(complaint: str, age: float, sex: str, answers: dict) -> Outcome:
    test = RuleTest(name="reason check", complaint=complaint, age=age, sex=sex, answers=dict(answers), vitals={},
                    expect_disposition=None, expect_question=None, expect_not=None, source_file="test")
    result = run_case(ENGINE, test)
    assert isinstance(result, Outcome), result
    return result


@pytest.mark.parametrize("name,complaint,age,sex,answers,must_fire,banned", CASES, ids=[c[0] for c in CASES])
def test_reasons_only_state_what_the_answers_established(name, complaint, age, sex, answers, must_fire, banned):
    outcome = _outcome(complaint, age, sex, answers)
    fired = {r.rule for r in outcome.reasons}
    assert must_fire <= fired, f"{name}: expected {must_fire} to fire, got {fired}"
    for r in outcome.reasons:
        for word in banned:
            assert word not in r.text.lower(), f"{name}: reason {r.rule!r} says {word!r}: {r.text}"


def test_an_old_stroke_still_says_more_than_24_hours():
    outcome = _outcome("stroke_symptoms", 72, "female", {"stk_now": "yes", "stk_onset": "days_1_7"})
    assert outcome.disposition.code == "AMB_CAT3"
    assert any(r.rule == "stk_now_older" for r in outcome.reasons)


# A rule's condition has no "not", so a reason may never claim something is absent.
_ABSENCE = re.compile(r"\b(without (red flags|fever|pain|plan|airway|dvt)|uninjured|now settled|now stopped|"
                      r"normal sugar|not affecting)\b", re.I)


def test_no_rule_reason_claims_an_absence():
    rules = [*RULES.general_rules, *RULES.vital_rules, *getattr(RULES, "danger_rules", ()),
             *(r for c in RULES.complaints.values() for r in c.rules)]
    bad = [(r.source_file, r.id, r.reason) for r in rules if _ABSENCE.search(r.reason)]
    assert not bad, "\n".join(map(str, bad))


# A default is shown only when nothing more urgent fired: it describes what was not reported,
# never asserts a finding ("bleeding stopped", "Ottawa rules negative", "uninjured").
_DEFAULT_CLAIMS = re.compile(r"\b(bleeding stopped|ottawa rules negative|now fully recovered|red skin only|"
                             r"apparently uncomplicated|green features only|mild tummy pain|known epilepsy, usual seizure|"
                             r"fall without injury|that have settled)\b", re.I)


def test_no_default_reason_asserts_a_finding():
    bad = [(c.id, d.reason) for c in RULES.complaints.values() for d in c.defaults if _DEFAULT_CLAIMS.search(d.reason)]
    assert not bad, "\n".join(map(str, bad))


def test_a_fall_with_a_limb_injury_does_not_call_the_person_uninjured():
    test = RuleTest(name="fall and limb", complaint="fall", age=80, sex="female",
                    answers={"fall_intense_pain": "yes"}, vitals={}, expect_disposition=None,
                    expect_question=None, expect_not=None, source_file="test", complaints=("fall", "limb_injury"))
    outcome = run_case(ENGINE, test)
    assert isinstance(outcome, Outcome)
    assert not any("uninjured" in r.text.lower() or "no injury" in r.text.lower() for r in outcome.reasons), \
        [r.text for r in outcome.reasons]
