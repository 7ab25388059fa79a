"""NEWS2 scoring matches the Royal College of Physicians 2017 chart at every band edge, and its
trigger thresholds escalate the outcome of every complaint through the engine."""
from __future__ import annotations

import os

import pytest

from triage import Case, Engine, Outcome, load_rules
from triage.news2 import score_news2

RULES = load_rules(os.environ.get("TRIAGE_RULES_DIR") or None)
ENGINE = Engine(RULES)
TABLE = RULES.news2_table

# RCP, National Early Warning Score (NEWS) 2, 2017: chart 1. (value, expected parameter score)
RESPIRATORY_RATE = [
    (0, 3), (5, 3), (8, 3), (9, 1), (11, 1), (12, 0), (16, 0), (20, 0), (21, 2), (24, 2),
    (25, 3), (40, 3), (80, 3),
]
SPO2_SCALE1 = [
    (40, 3), (85, 3), (91, 3), (92, 2), (93, 2), (94, 1), (95, 1), (96, 0), (99, 0), (100, 0),
]
# Scale 2 (hypercapnic respiratory failure): 88-92 scores 0, and so does >= 93 on air;
# on oxygen 93-94 scores 1, 95-96 scores 2, >= 97 scores 3.
SPO2_SCALE2 = [  # (spo2, on_oxygen, expected)
    (40, False, 3), (83, False, 3), (83, True, 3), (84, False, 2), (85, True, 2), (86, False, 1),
    (87, True, 1), (88, False, 0), (88, True, 0), (90, True, 0), (92, False, 0), (92, True, 0),
    (93, False, 0), (96, False, 0), (100, False, 0),
    (93, True, 1), (94, True, 1), (95, True, 2), (96, True, 2), (97, True, 3), (100, True, 3),
]
SYSTOLIC_BP = [
    (30, 3), (70, 3), (90, 3), (91, 2), (100, 2), (101, 1), (110, 1), (111, 0), (150, 0),
    (219, 0), (220, 3), (300, 3),
]
HEART_RATE = [
    (10, 3), (40, 3), (41, 1), (50, 1), (51, 0), (90, 0), (91, 1), (110, 1), (111, 2), (130, 2),
    (131, 3), (300, 3),
]
CONSCIOUSNESS = [("A", 0), ("C", 3), ("V", 3), ("P", 3), ("U", 3)]
TEMPERATURE = [
    (25.0, 3), (34.0, 3), (35.0, 3), (35.1, 1), (35.5, 1), (36.0, 1), (36.1, 0), (37.0, 0),
    (38.0, 0), (38.1, 1), (39.0, 1), (39.1, 2), (41.0, 2), (45.0, 2),
]


def one_param_name(name: str) -> str:
    return "air_or_oxygen" if name == "on_oxygen" else name


def one(name: str, value) -> int:
    news = score_news2({name: value}, TABLE)
    assert list(news.parameters) == [one_param_name(name)]
    assert news.total == news.max_single == news.parameters[one_param_name(name)]
    return news.parameters[one_param_name(name)]


@pytest.mark.parametrize("value,expected", RESPIRATORY_RATE)
def test_respiratory_rate(value, expected):
    assert one("respiratory_rate", value) == expected


@pytest.mark.parametrize("value,expected", SPO2_SCALE1)
def test_spo2_scale1(value, expected):
    assert one("spo2", value) == expected
    news = score_news2({"spo2": value, "spo2_scale": 1}, TABLE)
    assert news.parameters["spo2"] == expected


@pytest.mark.parametrize("value,on_oxygen,expected", SPO2_SCALE2)
def test_spo2_scale2(value, on_oxygen, expected):
    news = score_news2({"spo2": value, "spo2_scale": 2, "on_oxygen": on_oxygen}, TABLE)
    assert news.parameters["spo2"] == expected
    assert news.parameters["air_or_oxygen"] == (2 if on_oxygen else 0)
    assert news.total == expected + (2 if on_oxygen else 0)


def test_spo2_scale2_unknown_oxygen_scores_the_lower_bound():
    # Without knowing air/oxygen the partial score is a lower bound: on-air scoring, no air/O2 item.
    news = score_news2({"spo2": 97, "spo2_scale": 2}, TABLE)
    assert news.parameters == {"spo2": 0}
    assert not news.complete


@pytest.mark.parametrize("on_oxygen,expected", [(False, 0), (True, 2)])
def test_air_or_oxygen(on_oxygen, expected):
    assert one("on_oxygen", on_oxygen) == expected


@pytest.mark.parametrize("value,expected", SYSTOLIC_BP)
def test_systolic_bp(value, expected):
    assert one("systolic_bp", value) == expected


@pytest.mark.parametrize("value,expected", HEART_RATE)
def test_heart_rate(value, expected):
    assert one("heart_rate", value) == expected


@pytest.mark.parametrize("value,expected", CONSCIOUSNESS)
def test_consciousness(value, expected):
    assert one("consciousness", value) == expected


@pytest.mark.parametrize("value,expected", TEMPERATURE)
def test_temperature(value, expected):
    assert one("temperature", value) == expected


NORMAL = {"respiratory_rate": 16, "spo2": 97, "on_oxygen": False, "systolic_bp": 125,
          "heart_rate": 72, "consciousness": "A", "temperature": 37.0}

# Whole vital sets: (vitals, total, highest single parameter score)
VITAL_SETS = [
    (NORMAL, 0, 0),
    ({**NORMAL, "respiratory_rate": 22, "spo2": 95, "systolic_bp": 105, "heart_rate": 95,
      "temperature": 38.5}, 6, 2),
    ({**NORMAL, "consciousness": "C"}, 3, 3),
    ({**NORMAL, "heart_rate": 115, "respiratory_rate": 22, "temperature": 38.2}, 5, 2),
    ({**NORMAL, "heart_rate": 115, "respiratory_rate": 22, "temperature": 38.2, "spo2": 94,
      "systolic_bp": 108}, 7, 2),
    ({"respiratory_rate": 8, "spo2": 91, "on_oxygen": True, "systolic_bp": 90, "heart_rate": 40,
      "consciousness": "U", "temperature": 35.0}, 20, 3),
    ({"respiratory_rate": 25, "spo2": 97, "spo2_scale": 2, "on_oxygen": True, "systolic_bp": 220,
      "heart_rate": 131, "consciousness": "V", "temperature": 39.1}, 19, 3),
    ({"respiratory_rate": 18, "spo2": 90, "spo2_scale": 2, "on_oxygen": False, "systolic_bp": 115,
      "heart_rate": 88, "consciousness": "A", "temperature": 36.5}, 0, 0),
    ({"respiratory_rate": 18, "spo2": 94, "spo2_scale": 2, "on_oxygen": True, "systolic_bp": 115,
      "heart_rate": 88, "consciousness": "A", "temperature": 36.5}, 3, 2),
    ({"respiratory_rate": 10, "heart_rate": 45, "temperature": 35.8}, 3, 1),
]


@pytest.mark.parametrize("vitals,total,max_single", VITAL_SETS)
def test_totals(vitals, total, max_single):
    news = score_news2(vitals, TABLE)
    assert news.total == total
    assert news.max_single == max_single
    assert news.complete == (len(news.parameters) == 7)
    assert news.total == sum(news.parameters.values())


def test_complete_only_with_all_seven_parameters():
    assert score_news2(NORMAL, TABLE).complete
    for name in NORMAL:
        partial = {k: v for k, v in NORMAL.items() if k != name}
        news = score_news2(partial, TABLE)
        assert not news.complete and one_param_name(name) not in news.parameters


def test_empty_and_none_vitals_score_nothing():
    assert score_news2({}, TABLE).parameters == {}
    assert score_news2({k: None for k in NORMAL}, TABLE).total == 0
    assert score_news2({}, TABLE).max_single == 0


# -- triggers through the engine, for every complaint ------------------------------------------

def _age_sex(c) -> tuple[float, str]:
    lo = c.min_age if c.min_age is not None else 0
    hi = c.max_age if c.max_age is not None else 130
    age = min(max(40.0, lo), hi)
    return age, c.sex or "female"


def complete_with_no(complaint: str, age: float, sex: str, vitals: dict) -> Outcome:
    """Play the case through, answering every yes/no question 'no', numbers with their minimum."""
    answers: dict = {}
    for _ in range(500):
        result = ENGINE.evaluate(Case(complaint, age, sex, answers, vitals))
        if isinstance(result, Outcome):
            return result
        assert result.id not in answers, f"{result.id} asked twice"
        if result.type == "yes_no":
            answers[result.id] = "no"
        elif result.type == "number" and result.vital:
            answers[result.id] = "unknown"  # a caller-reported observation: not measured (vitals are given)
        elif result.type == "number":
            answers[result.id] = result.minimum if result.minimum is not None else 0
        else:
            answers[result.id] = result.options[-1].id
    raise AssertionError("the engine kept asking")


def urgency(code: str) -> int:
    return RULES.dispositions[code].urgency


AMB_CAT2 = urgency("AMB_CAT2")
ED_1H = urgency("ED_1H")
NOT_SELF_CARE = urgency("SELF_CARE")

TRIGGERS = [  # (name, vitals, expected total, least urgent acceptable disposition)
    ("single parameter 3 (new confusion)", {**NORMAL, "consciousness": "C"}, 3, "ED_1H"),
    ("single parameter 3 (respiratory rate 8)", {**NORMAL, "respiratory_rate": 8}, 3, "ED_1H"),
    ("single parameter 3 (systolic 90)", {"systolic_bp": 90}, 3, "ED_1H"),
    ("total 5", VITAL_SETS[3][0], 5, "ED_1H"),
    ("total 6", VITAL_SETS[1][0], 6, "ED_1H"),
    ("total 7", VITAL_SETS[4][0], 7, "AMB_CAT2"),
    ("total 20", VITAL_SETS[5][0], 20, "AMB_CAT2"),
]


# NEWS2 is validated for adults (16+): complaints only for children are scored on NG51/NG143 bands instead
ADULT_COMPLAINTS = sorted(c.id for c in RULES.complaints.values() if c.max_age is None or c.max_age >= 16)


@pytest.mark.parametrize("complaint", ADULT_COMPLAINTS)
@pytest.mark.parametrize("name,vitals,total,at_least", TRIGGERS, ids=[t[0] for t in TRIGGERS])
def test_trigger_escalates_every_complaint(complaint, name, vitals, total, at_least):
    age, sex = _age_sex(RULES.complaints[complaint])
    baseline = complete_with_no(complaint, age, sex, NORMAL)
    outcome = complete_with_no(complaint, age, sex, vitals)
    assert outcome.news2 == total
    assert outcome.disposition.urgency <= urgency(at_least), (
        f"{complaint}: NEWS2 {name} gave {outcome.disposition.code}, expected {at_least} or more urgent")
    assert outcome.disposition.urgency <= baseline.disposition.urgency
    assert outcome.acuity <= 2
    assert any("NEWS2" in r.text or "NEWS2" in r.source or "NG51" in r.source for r in outcome.reasons)


@pytest.mark.parametrize("complaint", ADULT_COMPLAINTS)
def test_low_score_3_to_4_is_never_self_care(complaint):
    age, sex = _age_sex(RULES.complaints[complaint])
    vitals = VITAL_SETS[-1][0]  # total 3, no single 3
    outcome = complete_with_no(complaint, age, sex, vitals)
    assert outcome.news2 == 3
    assert outcome.disposition.code != "SELF_CARE"
    assert outcome.disposition.urgency <= urgency("PC_6H")


@pytest.mark.parametrize("complaint", sorted(RULES.complaints))
def test_normal_vitals_do_not_escalate(complaint):
    age, sex = _age_sex(RULES.complaints[complaint])
    with_vitals = complete_with_no(complaint, age, sex, NORMAL)
    without = complete_with_no(complaint, age, sex, {})
    assert with_vitals.news2 == 0 and without.news2 is None
    assert with_vitals.disposition.code == without.disposition.code


def test_engine_reports_the_news2_total_in_the_outcome_dict():
    complaint = sorted(RULES.complaints)[0]
    age, sex = _age_sex(RULES.complaints[complaint])
    outcome = complete_with_no(complaint, age, sex, VITAL_SETS[4][0])
    assert outcome.as_dict()["news2"] == 7
