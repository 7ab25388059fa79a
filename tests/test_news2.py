"""NEWS2 scored exactly as the Royal College of Physicians 2017 chart, at every band edge."""
import pytest

from triage import Case, Engine, load_rules
from triage.news2 import score_news2
from triage.testing import run_case
from triage.model import RuleTest

RULES = load_rules()
TABLE = RULES.news2_table

EDGES = [
    ("respiratory_rate", [(8, 3), (9, 1), (11, 1), (12, 0), (20, 0), (21, 2), (24, 2), (25, 3)]),
    ("systolic_bp", [(90, 3), (91, 2), (100, 2), (101, 1), (110, 1), (111, 0), (219, 0), (220, 3)]),
    ("heart_rate", [(40, 3), (41, 1), (50, 1), (51, 0), (90, 0), (91, 1), (110, 1), (111, 2), (130, 2), (131, 3)]),
    ("temperature", [(35.0, 3), (35.1, 1), (36.0, 1), (36.1, 0), (38.0, 0), (38.1, 1), (39.0, 1), (39.1, 2)]),
]


@pytest.mark.parametrize("name,value,expected", [(n, v, s) for n, pairs in EDGES for v, s in pairs])
def test_band_edges(name, value, expected):
    assert score_news2({name: value}, TABLE).parameters[name] == expected


@pytest.mark.parametrize("spo2,expected", [(91, 3), (92, 2), (93, 2), (94, 1), (95, 1), (96, 0), (100, 0)])
def test_spo2_scale_1(spo2, expected):
    assert score_news2({"spo2": spo2}, TABLE).parameters["spo2"] == expected


@pytest.mark.parametrize("spo2,on_oxygen,expected", [
    (83, False, 3), (84, False, 2), (85, False, 2), (86, False, 1), (87, False, 1), (88, False, 0), (92, False, 0),
    (93, False, 0), (97, False, 0), (93, True, 1), (94, True, 1), (95, True, 2), (96, True, 2), (97, True, 3),
    (88, True, 0), (83, True, 3)])
def test_spo2_scale_2(spo2, on_oxygen, expected):
    assert score_news2({"spo2": spo2, "spo2_scale": 2, "on_oxygen": on_oxygen}, TABLE).parameters["spo2"] == expected


@pytest.mark.parametrize("level,expected", [("A", 0), ("C", 3), ("V", 3), ("P", 3), ("U", 3)])
def test_consciousness_acvpu_new_confusion_scores_3(level, expected):
    assert score_news2({"consciousness": level}, TABLE).parameters["consciousness"] == expected


def test_oxygen_scores_2_and_air_0():
    assert score_news2({"on_oxygen": True}, TABLE).parameters["air_or_oxygen"] == 2
    assert score_news2({"on_oxygen": False}, TABLE).parameters["air_or_oxygen"] == 0


def test_whole_chart_total():
    v = {"respiratory_rate": 22, "spo2": 93, "on_oxygen": True, "systolic_bp": 105, "heart_rate": 115,
         "consciousness": "A", "temperature": 38.5}
    n = score_news2(v, TABLE)
    assert n.complete and n.total == 2 + 2 + 2 + 1 + 2 + 0 + 1


def _outcome(vitals, age=60, complaint="limb_injury"):
    return run_case(Engine(RULES), RuleTest("v", complaint, age, "male", {}, vitals, None, None, None, "t"))


def test_trigger_7_or_more_is_an_emergency_ambulance():
    assert _outcome({"respiratory_rate": 25, "heart_rate": 131, "temperature": 39.5}).disposition.code == "AMB_CAT2"


def test_trigger_5_to_6_is_urgent_ed():
    out = _outcome({"respiratory_rate": 21, "heart_rate": 111, "temperature": 38.5})  # 2 + 2 + 1
    assert out.news2 == 5 and out.disposition.code == "ED_1H"


def test_trigger_single_3_is_urgent_ed():
    out = _outcome({"heart_rate": 35})
    assert out.news2 == 3 and out.disposition.code == "ED_1H"


def test_low_score_is_not_self_care():
    out = _outcome({"heart_rate": 95, "temperature": 38.5, "respiratory_rate": 22})  # 1 + 1 + 2 = 4
    assert out.disposition.code != "SELF_CARE"
