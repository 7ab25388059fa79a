"""Unit tests of the triage engine's behaviour and of the loader's error messages, on small rule
sets written to a temporary folder so they do not depend on the clinical content of rules/."""
from __future__ import annotations

import shutil
import textwrap
from pathlib import Path

import pytest
import yaml

from triage import Case, CaseError, Engine, Outcome, Question, RuleFileError, load_rules
from triage.loader import DEFAULT_RULES_DIR, read_yaml

GENERAL = """\
source: ["Test general discriminators"]
questions:
  - {id: g_arrest, text: "Is the person not breathing?", type: yes_no}
  - {id: g_bleed, text: "Is there heavy bleeding?", type: yes_no}
rules:
  - {id: g_arrest, if: {yes: g_arrest}, disposition: AMB_CAT1, reason: "Not breathing", source: "General 1"}
  - {id: g_bleed, if: {yes: g_bleed}, disposition: AMB_CAT2, reason: "Heavy bleeding", source: "General 2"}
"""

WIDGET = """\
id: widget
title: Widget ache
synonyms: [widget pain, sore widget]
source: ["Widget guideline 2024", "Widget score (Smith 2020)"]
tags: [infection]
questions:
  - {id: w_red, text: "Is the widget red hot?", type: yes_no}
  - {id: w_amber, text: "Is the widget amber?", type: yes_no}
  - {id: w_flash, text: "Is the amber light flashing?", type: yes_no, when: {yes: w_amber}}
  - {id: w_floppy, text: "Is the child floppy?", type: yes_no, when: {age: {lt: 5}}}
  - {id: w_preg, text: "Is she pregnant?", type: yes_no, when: {sex: female}}
  - {id: s_one, text: "Is there item one?", type: yes_no}
  - {id: s_two, text: "Is there item two?", type: yes_no}
  - {id: s_three, text: "Is there item three?", type: yes_no}
scores:
  - {id: wscore, items: [s_one, s_two, s_three]}
rules:
  - {id: w_red, if: {yes: w_red}, disposition: AMB_CAT2, reason: "Red hot widget", source: "Widget 1.1"}
  - {id: w_flash, if: {all: [{yes: w_amber}, {yes: w_flash}]}, disposition: ED_1H, reason: "Flashing amber", source: "Widget 1.2"}
  - {id: w_floppy, if: {yes: w_floppy}, disposition: ED_1H, reason: "Floppy child", source: "Widget 1.3"}
  - {id: w_preg, if: {all: [{sex: female}, {yes: w_preg}]}, disposition: ED_4H, reason: "Pregnant", source: "Widget 1.4"}
  - {id: w_amber, if: {yes: w_amber}, disposition: UTC_4H, reason: "Amber widget", source: "Widget 1.5"}
  - {id: w_score, if: {score: wscore, gte: 2}, disposition: PC_6H, reason: "Widget score 2+", source: "Widget score"}
default:
  - {when: {age: {lt: 5}}, disposition: PC_24H, reason: "Small child: GP"}
  - {disposition: SELF_CARE, reason: "No red flags: self care"}
tests:
  - name: red is an emergency
    patient: {age: 30, sex: male}
    answers: {w_red: yes}
    expect: {disposition: AMB_CAT2}
  - name: default is self care
    patient: {age: 30, sex: male}
    expect: {disposition: SELF_CARE}
"""


def write_rules(root: Path, complaints: dict[str, str], *, general: str = GENERAL) -> Path:
    """A complete rules folder: the real catalogue and NEWS2 table, a small general file."""
    root.mkdir(parents=True, exist_ok=True)
    shutil.copy(DEFAULT_RULES_DIR / "dispositions.yaml", root / "dispositions.yaml")
    vitals = read_yaml(DEFAULT_RULES_DIR / "vitals.yaml")
    vitals.pop("tests", None)
    (root / "vitals.yaml").write_text(yaml.safe_dump(vitals, sort_keys=False))
    (root / "general.yaml").write_text(general)
    (root / "complaints").mkdir(exist_ok=True)
    for name, text in complaints.items():
        (root / "complaints" / f"{name}.yaml").write_text(textwrap.dedent(text))
    return root


@pytest.fixture(scope="module")
def engine(tmp_path_factory) -> Engine:
    return Engine(load_rules(write_rules(tmp_path_factory.mktemp("rules"), {"widget": WIDGET})))


def play(engine: Engine, complaint: str, age: float, sex: str, yes: set[str] = frozenset(),
         vitals: dict | None = None) -> tuple[Outcome, list[str]]:
    """Answer the asked questions: 'yes' for those in `yes`, else 'no'. Returns outcome, asked ids."""
    answers: dict = {}
    asked: list[str] = []
    for _ in range(100):
        r = engine.evaluate(Case(complaint, age, sex, dict(answers), dict(vitals or {})))
        if isinstance(r, Outcome):
            return r, asked
        assert r.id not in answers
        asked.append(r.id)
        answers[r.id] = ("yes" if r.id in yes else "no") if r.type == "yes_no" else "unknown"
    raise AssertionError("kept asking")


# -- ordering and settling ---------------------------------------------------------------------

def test_general_questions_come_first(engine):
    _, asked = play(engine, "widget", 30, "male")
    assert asked[:2] == ["g_arrest", "g_bleed"]
    # after two "no" the score can no longer reach 2, so the third item is not asked
    assert asked == ["g_arrest", "g_bleed", "w_red", "w_amber", "s_one", "s_two"]


def test_general_questions_come_first_for_every_real_complaint():
    rules = load_rules()
    engine = Engine(rules)
    general = [q.id for q in rules.general_questions]
    for c in rules.complaints.values():
        if not c.general:
            continue
        age = min(max(40.0, c.min_age or 0), c.max_age if c.max_age is not None else 130)
        r = engine.evaluate(Case(c.id, age, c.sex or "female"))
        assert isinstance(r, Question) and r.id == general[0], c.id


def test_the_first_positive_of_the_most_urgent_settles(engine):
    outcome, asked = play(engine, "widget", 30, "male", yes={"g_arrest"})
    assert asked == ["g_arrest"]
    assert outcome.disposition.code == "AMB_CAT1"
    outcome, asked = play(engine, "widget", 30, "male", yes={"w_red"})
    assert asked == ["g_arrest", "g_bleed", "w_red"]
    assert outcome.disposition.code == "AMB_CAT2"


def test_a_positive_still_asks_what_could_be_more_urgent(engine):
    # "amber" (UTC_4H) does not stop the engine: the flashing follow-up could make it ED_1H.
    outcome, asked = play(engine, "widget", 30, "male", yes={"w_amber"})
    assert asked == ["g_arrest", "g_bleed", "w_red", "w_amber", "w_flash"]
    assert outcome.disposition.code == "UTC_4H"
    # the score (PC_6H) is less urgent than UTC_4H, so its items are not asked
    assert not {"s_one", "s_two", "s_three"} & set(asked)


def test_questions_are_not_asked_once_they_cannot_matter(engine):
    outcome, asked = play(engine, "widget", 30, "male", yes={"s_one", "s_two"})
    assert asked[-2:] == ["s_one", "s_two"]  # s_three cannot change the outcome any more
    assert outcome.disposition.code == "PC_6H"


# -- when ------------------------------------------------------------------------------------

def test_when_follow_up_is_asked_only_after_its_trigger(engine):
    _, asked = play(engine, "widget", 30, "male")
    assert "w_flash" not in asked
    outcome, asked = play(engine, "widget", 30, "male", yes={"w_amber", "w_flash"})
    assert asked.index("w_flash") == asked.index("w_amber") + 1
    assert outcome.disposition.code == "ED_1H"


def test_when_on_age(engine):
    _, asked = play(engine, "widget", 30, "male")
    assert "w_floppy" not in asked
    _, asked = play(engine, "widget", 3, "male")
    assert "w_floppy" in asked
    outcome, _ = play(engine, "widget", 3, "male", yes={"w_floppy"})
    assert outcome.disposition.code == "ED_1H"


def test_when_on_sex(engine):
    _, asked = play(engine, "widget", 30, "male")
    assert "w_preg" not in asked
    outcome, asked = play(engine, "widget", 30, "female", yes={"w_preg"})
    assert "w_preg" in asked and outcome.disposition.code == "ED_4H"


# -- scores ----------------------------------------------------------------------------------

@pytest.mark.parametrize("yes,expected", [
    (set(), "SELF_CARE"), ({"s_one"}, "SELF_CARE"), ({"s_three"}, "SELF_CARE"),
    ({"s_one", "s_three"}, "PC_6H"), ({"s_two", "s_three"}, "PC_6H"),
    ({"s_one", "s_two", "s_three"}, "PC_6H"),
])
def test_score_counts_yes_answers(engine, yes, expected):
    outcome, _ = play(engine, "widget", 30, "male", yes=yes)
    assert outcome.disposition.code == expected


def test_score_decided_as_soon_as_it_cannot_reach_the_threshold(engine):
    # two "no" among three items: the score can no longer reach 2, so the third is not asked
    outcome, asked = play(engine, "widget", 30, "male", yes=set())
    assert asked[-2:] == ["s_one", "s_two"] and "s_three" not in asked
    _, asked = play(engine, "widget", 30, "male", yes={"s_one"})
    assert asked[-3:] == ["s_one", "s_two", "s_three"]
    r = engine.evaluate(Case("widget", 30, "male", {"g_arrest": "no", "g_bleed": "no", "w_red": "no",
                                                    "w_amber": "no", "s_one": "no", "s_two": "no"}))
    assert isinstance(r, Outcome) and r.disposition.code == "SELF_CARE"


# -- defaults ----------------------------------------------------------------------------------

def test_default_with_when_on_age(engine):
    assert play(engine, "widget", 4.9, "male")[0].disposition.code == "PC_24H"
    assert play(engine, "widget", 5, "male")[0].disposition.code == "SELF_CARE"


def test_a_rule_less_urgent_than_the_default_does_not_win(tmp_path):
    text = WIDGET.replace("disposition: PC_24H, reason", "disposition: UTC_1H, reason")
    engine = Engine(load_rules(write_rules(tmp_path / "r", {"widget": text})))
    outcome, asked = play(engine, "widget", 3, "male", yes={"s_one", "s_two"})
    assert outcome.disposition.code == "UTC_1H"
    assert outcome.reasons[0].rule == "default"
    # the score rule (PC_6H) cannot beat the default, so its items are never asked
    assert not {"s_one", "s_two", "s_three"} & set(asked)


# -- reasons, trail, outcome ---------------------------------------------------------------------

def test_reasons_carry_their_source(engine):
    outcome, _ = play(engine, "widget", 30, "male", yes={"w_red"})
    assert outcome.reasons[0].rule == "w_red"
    assert outcome.reasons[0].source == "Widget 1.1"
    assert outcome.reasons[0].text == "Red hot widget"
    assert outcome.reasons[0].disposition == "AMB_CAT2"


def test_default_reason_cites_the_complaint_sources(engine):
    outcome, _ = play(engine, "widget", 30, "male")
    assert [r.rule for r in outcome.reasons] == ["default"]
    assert outcome.reasons[0].source == "Widget guideline 2024; Widget score (Smith 2020)"
    assert outcome.reasons[0].disposition == "SELF_CARE"


def test_reasons_list_every_fired_rule_most_urgent_first(engine):
    answers = {"g_arrest": "no", "g_bleed": "no", "w_red": "yes", "w_amber": "yes", "w_flash": "yes",
               "s_one": "yes", "s_two": "yes"}
    outcome = engine.evaluate(Case("widget", 30, "male", answers))
    assert isinstance(outcome, Outcome)
    assert [r.rule for r in outcome.reasons] == ["w_red", "w_flash", "w_amber", "w_score"]
    urg = [engine.rules.dispositions[r.disposition].urgency for r in outcome.reasons]
    assert urg == sorted(urg)


def test_trail_records_answers_in_question_order(engine):
    answers = {"w_amber": "yes", "g_bleed": "no", "g_arrest": "n", "w_red": False, "w_flash": "No"}
    outcome = engine.evaluate(Case("widget", 30, "male", answers))
    assert isinstance(outcome, Outcome)
    assert [(q, a) for q, _, a in outcome.trail] == [
        ("g_arrest", False), ("g_bleed", False), ("w_red", False), ("w_amber", True), ("w_flash", False)]
    assert outcome.trail[0][1] == "Is the person not breathing?"
    d = outcome.as_dict()
    assert d["trail"][3] == {"question": "w_amber", "text": "Is the widget amber?", "answer": True}
    assert d["disposition"]["code"] == "UTC_4H"
    assert d["acuity"] == 4 and d["acuity_name"] == "Standard" and d["target_minutes"] == 120
    assert "news2" not in d


def test_outcome_carries_acuity_of_its_disposition(engine):
    outcome, _ = play(engine, "widget", 30, "male", yes={"w_red"})
    disp = engine.rules.dispositions["AMB_CAT2"]
    assert outcome.acuity == disp.acuity
    assert (outcome.acuity_name, outcome.target_minutes) == engine.rules.acuity_names[disp.acuity]


def test_vital_rules_apply_and_report_news2(engine):
    outcome, asked = play(engine, "widget", 30, "male", vitals={"heart_rate": 135})
    assert outcome.disposition.code == "AMB_CAT2"  # NG51 high risk: infection tag + HR > 130
    assert "sepsis_high_risk" in [r.rule for r in outcome.reasons]
    assert outcome.news2 == 3
    assert asked == ["g_arrest"]  # only AMB_CAT1 could still be more urgent


# -- unknown sex ---------------------------------------------------------------------------------

def test_unknown_sex_asks_sex_specific_questions(engine):
    outcome, asked = play(engine, "widget", 30, "unknown", yes={"w_preg"})
    assert "w_preg" in asked
    assert outcome.disposition.code == "ED_4H"


def test_unknown_sex_is_never_less_urgent_than_either_sex(tmp_path):
    text = WIDGET.replace(
        "  - {when: {age: {lt: 5}}, disposition: PC_24H, reason: \"Small child: GP\"}",
        "  - {when: {sex: male}, disposition: PC_24H, reason: \"Men: GP\"}\n"
        "  - {when: {sex: female}, disposition: UTC_4H, reason: \"Women: UTC\"}")
    engine = Engine(load_rules(write_rules(tmp_path / "r", {"widget": text})))
    male = play(engine, "widget", 30, "male")[0].disposition
    female = play(engine, "widget", 30, "female")[0].disposition
    unknown = play(engine, "widget", 30, "unknown")[0].disposition
    assert (male.code, female.code) == ("PC_24H", "UTC_4H")
    assert unknown.urgency <= min(male.urgency, female.urgency), unknown.code


def test_sex_restricted_complaint_accepts_unknown_and_rejects_the_other(tmp_path):
    text = WIDGET.replace("tags: [infection]", "tags: [infection]\napplies_to: {sex: female, min_age: 10}")
    engine = Engine(load_rules(write_rules(tmp_path / "r", {"widget": text})))
    assert isinstance(engine.evaluate(Case("widget", 30, "unknown")), Question)
    with pytest.raises(CaseError) as err:
        engine.evaluate(Case("widget", 30, "male"))
    assert "complaint" in err.value.errors
    with pytest.raises(CaseError) as err:
        engine.evaluate(Case("widget", 8, "female"))
    assert "complaint" in err.value.errors


# -- case errors -------------------------------------------------------------------------------

@pytest.mark.parametrize("case,field", [
    (Case("nope", 30, "male"), "complaint"),
    (Case("widget", -1, "male"), "age"),
    (Case("widget", 131, "male"), "age"),
    (Case("widget", "30", "male"), "age"),
    (Case("widget", True, "male"), "age"),
    (Case("widget", float("nan"), "male"), "age"),
    (Case("widget", 30, "M"), "sex"),
    (Case("widget", 30, "male", {"w_nope": "yes"}), "answers.w_nope"),
    (Case("widget", 30, "male", {"w_red": "maybe"}), "answers.w_red"),
    (Case("widget", 30, "male", {"w_red": 2}), "answers.w_red"),
    (Case("widget", 30, "male", {"w_red": None}), "answers.w_red"),
    (Case("widget", 30, "male", {"w_red": ["yes"]}), "answers.w_red"),
    (Case("widget", 30, "male", {"w_red": {"a": 1}}), "answers.w_red"),
    (Case("widget", 30, "male", vitals={"heart_rate": 500}), "vitals.heart_rate"),
    (Case("widget", 30, "male", vitals={"heart_rate": "fast"}), "vitals.heart_rate"),
    (Case("widget", 30, "male", vitals={"spo2": 101}), "vitals.spo2"),
    (Case("widget", 30, "male", vitals={"temperature": float("inf")}), "vitals.temperature"),
    (Case("widget", 30, "male", vitals={"consciousness": "alert"}), "vitals.consciousness"),
    (Case("widget", 30, "male", vitals={"on_oxygen": "yes"}), "vitals.on_oxygen"),
    (Case("widget", 30, "male", vitals={"spo2_scale": 3}), "vitals.spo2_scale"),
    (Case("widget", 30, "male", vitals={"spo2_scale": True}), "vitals.spo2_scale"),
    (Case("widget", 30, "male", vitals={"pulse": 80}), "vitals.pulse"),
    (Case([["widget"]], 30, "male"), "complaint"),
    (Case(complaints=[], age=30, sex="male"), "complaint"),
    (Case(complaints=["widget"] * 7, age=30, sex="male"), "complaints"),
    (Case("widget", 30, ["male"]), "sex"),
    (Case("widget", 30, "male", ["w_red"]), "answers"),
    (Case("widget", 30, "male", {}, ["heart_rate"]), "vitals"),
])
def test_bad_case_raises_case_error_naming_the_field(engine, case, field):
    with pytest.raises(CaseError) as err:
        engine.evaluate(case)
    assert field in err.value.errors, err.value.errors
    assert field in str(err.value)


def test_case_error_lists_every_bad_field(engine):
    with pytest.raises(CaseError) as err:
        engine.evaluate(Case("widget", 200, "x", {"w_zzz": 1}, {"heart_rate": -5}))
    assert set(err.value.errors) == {"age", "sex", "answers.w_zzz", "vitals.heart_rate"}


def test_lenient_spellings_of_yes_and_no(engine):
    for yes in ("yes", "YES", " y ", "true", True, 1, "1"):
        r = engine.evaluate(Case("widget", 30, "male", {"g_arrest": yes}))
        assert isinstance(r, Outcome) and r.disposition.code == "AMB_CAT1", yes
    for no in ("no", "No", "n", "false", False, 0, "0"):
        r = engine.evaluate(Case("widget", 30, "male", {"g_arrest": no}))
        assert isinstance(r, Question) and r.id == "g_bleed", no


def test_number_and_choice_answers(tmp_path):
    text = """\
    id: gadget
    title: Gadget
    source: ["Gadget guideline"]
    general: false
    questions:
      - {id: gd_temp, text: "What is the temperature?", type: number, unit: C, min: 30, max: 44}
      - {id: gd_kind, text: "Which kind of pain is it?", type: choice, options: [{id: sharp, label: Sharp}, {id: dull, label: Dull}]}
    rules:
      - {id: gd_hot, if: {answer: gd_temp, gte: 40}, disposition: ED_1H, reason: "Very hot", source: "Gadget 1"}
      - {id: gd_sharp, if: {answer: gd_kind, in: [sharp]}, disposition: UTC_4H, reason: "Sharp", source: "Gadget 2"}
    default: {disposition: SELF_CARE, reason: "Fine"}
    tests:
      - {name: a, patient: {age: 30, sex: male}, answers: {gd_temp: 41}, expect: {disposition: ED_1H}}
      - {name: b, patient: {age: 30, sex: male}, expect: {question: gd_temp}}
    """
    engine = Engine(load_rules(write_rules(tmp_path / "r", {"gadget": text})))
    q = engine.evaluate(Case("gadget", 30, "male"))
    assert isinstance(q, Question) and q.id == "gd_temp"
    assert q.as_dict()["unit"] == "C" and q.as_dict()["min"] == 30 and q.as_dict()["max"] == 44
    r = engine.evaluate(Case("gadget", 30, "male", {"gd_temp": "40.5"}))
    assert isinstance(r, Outcome) and r.disposition.code == "ED_1H"
    q = engine.evaluate(Case("gadget", 30, "male", {"gd_temp": 37}))
    assert isinstance(q, Question) and q.id == "gd_kind"
    assert [o["id"] for o in q.as_dict()["options"]] == ["sharp", "dull", "unknown"]
    r = engine.evaluate(Case("gadget", 30, "male", {"gd_temp": 37, "gd_kind": "Sharp"}))
    assert r.disposition.code == "UTC_4H"
    for bad in (29, 45, "hot", None, float("nan"), float("inf"), True, [37]):
        with pytest.raises(CaseError) as err:
            engine.evaluate(Case("gadget", 30, "male", {"gd_temp": bad}))
        assert "answers.gd_temp" in err.value.errors, bad
    for bad in ("blunt", 1, None, ["sharp"]):
        with pytest.raises(CaseError) as err:
            engine.evaluate(Case("gadget", 30, "male", {"gd_kind": bad}))
        assert "answers.gd_kind" in err.value.errors, bad


def test_engine_is_deterministic(engine):
    case = Case("widget", 30, "male", {"g_arrest": "no", "w_amber": "yes"}, {"heart_rate": 95})
    first = engine.evaluate(case)
    again = Engine(engine.rules).evaluate(case)
    assert first == again == engine.evaluate(case)


# -- loader errors -------------------------------------------------------------------------------

def load_error(tmp_path, complaints: dict[str, str], **kw) -> RuleFileError:
    root = write_rules(tmp_path / "bad", complaints, **kw)
    with pytest.raises(RuleFileError) as err:
        load_rules(root)
    return err.value


def test_the_widget_rules_load_and_pass_their_own_tests(engine):
    from triage.lint import lint
    problems = lint(engine.rules)
    assert not problems, "\n".join(map(str, problems))


def test_bad_yaml_names_the_file(tmp_path):
    err = load_error(tmp_path, {"widget": WIDGET + "\n  - [unclosed\n"})
    assert err.file.endswith("widget.yaml")
    assert "widget.yaml" in str(err) and "YAML" in str(err)


def test_unknown_disposition_names_file_rule_and_field(tmp_path):
    err = load_error(tmp_path, {"widget": WIDGET.replace("disposition: ED_4H", "disposition: ED_5H")})
    assert (err.file, err.rule, err.field) == ("complaints/widget.yaml", "w_preg", "disposition")
    assert "ED_5H" in str(err) and "w_preg" in str(err) and "widget.yaml" in str(err)


def test_unknown_default_disposition(tmp_path):
    err = load_error(tmp_path, {"widget": WIDGET.replace("disposition: SELF_CARE", "disposition: HOME")})
    assert err.file == "complaints/widget.yaml" and err.field == "default" and "HOME" in str(err)


def test_unknown_question_reference_in_a_rule(tmp_path):
    err = load_error(tmp_path, {"widget": WIDGET.replace("if: {yes: w_red}", "if: {yes: w_reed}")})
    assert (err.file, err.rule, err.field) == ("complaints/widget.yaml", "w_red", "if")
    assert "w_reed" in str(err)


def test_unknown_question_reference_in_a_when(tmp_path):
    err = load_error(tmp_path, {"widget": WIDGET.replace("when: {yes: w_amber}", "when: {yes: w_ambre}")})
    assert err.file == "complaints/widget.yaml" and err.rule == "w_flash" and err.field == "when"
    assert "w_ambre" in str(err)


def test_unknown_question_reference_in_a_default_when(tmp_path):
    err = load_error(tmp_path, {"widget": WIDGET.replace("when: {age: {lt: 5}}, disposition: PC_24H",
                                                         "when: {yes: w_nowhere}, disposition: PC_24H")})
    assert err.file == "complaints/widget.yaml" and err.field == "default" and "w_nowhere" in str(err)


def test_circular_when_is_rejected(tmp_path):
    text = WIDGET.replace('{id: w_amber, text: "Is the widget amber?", type: yes_no}',
                          '{id: w_amber, text: "Is the widget amber?", type: yes_no, when: {yes: w_flash}}')
    err = load_error(tmp_path, {"widget": text})
    assert err.file == "complaints/widget.yaml" and err.field == "when"
    assert "w_amber -> w_flash -> w_amber" in str(err) or "w_flash -> w_amber -> w_flash" in str(err)


def test_unknown_score_reference(tmp_path):
    err = load_error(tmp_path, {"widget": WIDGET.replace("if: {score: wscore", "if: {score: wscores")})
    assert (err.rule, err.field) == ("w_score", "if") and "wscores" in str(err)


def test_score_item_that_is_not_a_question(tmp_path):
    err = load_error(tmp_path, {"widget": WIDGET.replace("items: [s_one, s_two, s_three]",
                                                         "items: [s_one, s_two, s_four]")})
    assert (err.rule, err.field) == ("wscore", "items") and "s_four" in str(err)


@pytest.mark.parametrize("bad_if", [
    "{maybe: w_red}",            # unknown form
    "{yes: w_red, gte: 2}",      # extra key on a yes
    "{yes: [w_red]}",            # wrong type
    "{all: []}",                 # empty all
    "{age: {older: 5}}",         # unknown comparison
    "{vital: pulse, gt: 100}",   # unknown vital
])
def test_bad_condition_form_names_file_rule_and_field(tmp_path, bad_if):
    err = load_error(tmp_path, {"widget": WIDGET.replace("if: {yes: w_red}", f"if: {bad_if}")})
    assert err.file == "complaints/widget.yaml"
    assert err.rule == "w_red"
    assert err.field.startswith("rules.0.if")
    assert "complaints/widget.yaml" in str(err) and "'w_red'" in str(err)


def test_missing_field_names_it(tmp_path):
    err = load_error(tmp_path, {"widget": WIDGET.replace(', reason: "Red hot widget"', "")})
    assert err.rule == "w_red" and "reason" in str(err)


def test_bad_question_type(tmp_path):
    err = load_error(tmp_path, {"widget": WIDGET.replace('red hot?", type: yes_no', 'red hot?", type: yesno')})
    assert err.rule == "w_red" and err.field == "questions.0.type"


def test_duplicate_complaint_id(tmp_path):
    err = load_error(tmp_path, {"widget": WIDGET, "widget2": WIDGET})
    assert err.file == "complaints/widget2.yaml" and err.field == "id" and "widget.yaml" in str(err)


def test_last_default_must_be_unconditional(tmp_path):
    text = WIDGET.replace("  - {disposition: SELF_CARE", "  - {when: {age: {gte: 5}}, disposition: SELF_CARE")
    err = load_error(tmp_path, {"widget": text})
    assert err.field == "default" and "last default" in str(err)


def test_test_expecting_unknown_disposition(tmp_path):
    err = load_error(tmp_path, {"widget": WIDGET.replace("expect: {disposition: SELF_CARE}",
                                                         "expect: {disposition: SELFCARE}")})
    assert (err.rule, err.field) == ("default is self care", "expect")


def test_general_file_errors_name_general_yaml(tmp_path):
    err = load_error(tmp_path, {"widget": WIDGET}, general=GENERAL.replace("AMB_CAT1", "AMB_CAT0"))
    assert (err.file, err.rule, err.field) == ("general.yaml", "g_arrest", "disposition")


def test_missing_rules_folder_says_what_to_do(tmp_path):
    with pytest.raises(RuleFileError) as err:
        load_rules(tmp_path)
    assert "dispositions.yaml" in str(err.value)


# -- command line: uec rules check / test ------------------------------------------------------------

def test_cli_check_passes_on_the_bundled_rules(capsys):
    from triage.cli import main
    assert main(["rules", "check"]) == 0
    out = capsys.readouterr().out
    rules = load_rules()
    assert f"{len(rules.complaints)} complaints" in out and f"{len(rules.tests)}/{len(rules.tests)} tests passed" in out


def test_cli_check_reports_problems_and_fails(tmp_path, capsys):
    from triage.cli import main
    broken = WIDGET.replace("expect: {disposition: SELF_CARE}", "expect: {disposition: PC_24H}")
    root = write_rules(tmp_path / "r", {"widget": broken})
    assert main(["rules", "check", "--rules", str(root)]) == 1
    out = capsys.readouterr().out
    assert "complaints/widget.yaml [default is self care]: test fails" in out
    assert main(["rules", "test", "--rules", str(root)]) == 1
    out = capsys.readouterr().out
    assert "FAIL complaints/widget.yaml [default is self care]" in out and "1/2 tests passed" in out


def test_cli_reports_a_rule_file_error(tmp_path, capsys):
    from triage.cli import main
    root = write_rules(tmp_path / "r", {"widget": WIDGET.replace("disposition: ED_4H", "disposition: ED_5H")})
    assert main(["rules", "check", "--rules", str(root)]) == 1
    assert "complaints/widget.yaml, rule 'w_preg', field 'disposition'" in capsys.readouterr().err


def test_cli_test_passes(tmp_path, capsys):
    from triage.cli import main
    root = write_rules(tmp_path / "r", {"widget": WIDGET})
    assert main(["rules", "test", "--rules", str(root), "-v"]) == 0
    out = capsys.readouterr().out
    assert "ok   complaints/widget.yaml [red is an emergency]" in out and "2/2 tests passed" in out


DANGER = """\
source: ["Danger guideline"]
questions:
  - {id: ds_unwell, text: "Does the person look very unwell?", type: yes_no, applies_to: {complaints: [gadget]}}
  - {id: ds_obs, text: "Is there a reading of temperature?", type: yes_no, applies_to: {all: true}}
  - {id: ds_temp, text: "What is the temperature?", type: number, min: 30, max: 44, vital: temperature,
     when: {yes: ds_obs}, applies_to: {all: true}}
rules:
  - {id: ds_unwell, if: {yes: ds_unwell}, disposition: ED_4H, reason: "Very unwell", source: "D 1"}
  - {id: ds_hot, if: {all: [{age: {gte: 5}}, {vital: temperature, gte: 40}]}, disposition: ED_1H,
     reason: "Very hot", source: "D 2"}
tests:
  - {name: hot, complaint: widget, patient: {age: 30, sex: male}, answers: {ds_obs: yes, ds_temp: 40.5},
     expect: {disposition: ED_1H}}
"""
GADGET = """\
id: gadget
title: Gadget
source: ["Gadget guideline"]
tags: [infection]
questions:
  - {id: g_red, text: "Is the gadget red?", type: yes_no}
rules:
  - {id: g_red, if: {yes: g_red}, disposition: UTC_4H, reason: "Red gadget", source: "Gadget 1"}
default: {disposition: SELF_CARE, reason: "Fine"}
tests:
  - {name: a, patient: {age: 30, sex: male}, answers: {g_red: yes}, expect: {disposition: UTC_4H}}
"""


@pytest.fixture(scope="module")
def danger_engine(tmp_path_factory) -> Engine:
    root = write_rules(tmp_path_factory.mktemp("drules"), {"widget": WIDGET, "gadget": GADGET})
    (root / "danger_signs.yaml").write_text(DANGER)
    return Engine(load_rules(root))


def test_a_danger_sign_is_asked_only_for_the_complaints_it_applies_to(danger_engine):
    widget, asked_w = play(danger_engine, "widget", 30, "male")
    assert "ds_unwell" not in asked_w and "ds_obs" in asked_w  # applies_to: all, the temperature rule reads it
    _, asked_g = play(danger_engine, "gadget", 30, "male")
    assert "ds_unwell" in asked_g
    both = danger_engine.compiled(("widget", "gadget"))
    assert [q.id for q in both.questions].count("ds_obs") == 1


def test_a_reported_observation_feeds_vital_rules_and_news2(danger_engine):
    answers = {"ds_obs": "yes", "ds_temp": 40.2}
    out = danger_engine.evaluate(Case("widget", 30, "male", dict(answers)))
    while isinstance(out, Question):
        answers[out.id] = "no"
        out = danger_engine.evaluate(Case("widget", 30, "male", dict(answers)))
    assert out.disposition.code == "ED_1H" and out.news2 is not None
    with pytest.raises(CaseError) as err:  # a reported value is bounded like any vital sign
        danger_engine.evaluate(Case("widget", 30, "male", {"ds_obs": "yes", "ds_temp": 20}))
    assert "answers.ds_temp" in err.value.errors


def test_an_observation_not_measured_is_simply_absent(danger_engine):
    out, asked = play(danger_engine, "widget", 30, "male", yes={"ds_obs"})
    assert "ds_temp" in asked and out.disposition.code != "ED_1H"
