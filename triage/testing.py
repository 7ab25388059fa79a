"""Run the test cases that rule files carry beside their rules."""
from __future__ import annotations

from dataclasses import dataclass

from triage.engine import Engine
from triage.model import Case, Outcome, Question, RuleSet, RuleTest


@dataclass(frozen=True)
class TestResult:
    test: RuleTest
    passed: bool
    detail: str


def run_case(engine: Engine, test: RuleTest, *, max_steps: int = 200) -> Question | Outcome:
    """Play a test through the engine: listed answers as given, any other yes/no question 'no'.

    Stops at the question the test expects, if it expects one.
    """
    answers = dict(test.answers)
    for _ in range(max_steps):
        result = engine.evaluate(Case(complaints=test.all_complaints, age=test.age, sex=test.sex,
                                      answers=answers, vitals=test.vitals))
        if isinstance(result, Outcome):
            return result
        if result.id == test.expect_question:
            return result
        if result.id in answers:
            raise AssertionError(f"question {result.id} asked again although answered")
        if result.type == "number" and result.vital:
            answers[result.id] = "unknown"  # a caller-reported observation the test does not give: not measured
            continue
        if result.type != "yes_no":
            raise AssertionError(f"the test must answer {result.type} question {result.id!r}")
        answers[result.id] = False
    raise AssertionError("the engine kept asking questions")


def check(engine: Engine, test: RuleTest) -> TestResult:
    try:
        result = run_case(engine, test)
    except Exception as exc:  # report, do not crash the whole run
        return TestResult(test, False, f"error: {exc}")
    if test.expect_question:
        ok = isinstance(result, Question) and result.id == test.expect_question
        got = result.id if isinstance(result, Question) else f"outcome {result.disposition.code}"
        return TestResult(test, ok, f"expected question {test.expect_question}, got {got}")
    if not isinstance(result, Outcome):
        return TestResult(test, False, f"expected an outcome, got question {result.id}")
    code = result.disposition.code
    ok = True
    if test.expect_disposition and code != test.expect_disposition:
        ok = False
    if test.expect_not and code == test.expect_not:
        ok = False
    return TestResult(test, ok, f"expected {test.expect_disposition or 'not ' + str(test.expect_not)}, "
                                f"got {code} ({'; '.join(r.text for r in result.reasons)})")


def run_all(rules: RuleSet) -> list[TestResult]:
    engine = Engine(rules)
    return [check(engine, t) for t in rules.tests]
