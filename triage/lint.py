"""Lint the whole rule set: the checks a clinical reviewer should never have to do by eye."""
from __future__ import annotations

import re
from dataclasses import dataclass

from triage.loader import question_refs
from triage.model import Condition, RuleSet
from triage.testing import run_all

_DISCRIMINATOR_START = re.compile(
    r"^(Is|Are|Has|Have|Had|Does|Do|Did|Was|Were|Can|Could|Will|Would|Might|May|Should|Any)\b")
_FACT_KEYS = {"age", "sex", "tag", "complaint", "all", "any"}


@dataclass(frozen=True)
class Problem:
    file: str
    rule: str | None
    message: str

    def __str__(self) -> str:
        return f"{self.file}{f' [{self.rule}]' if self.rule else ''}: {self.message}"


def _only_facts(cond: Condition | None) -> bool:
    if not cond:
        return True
    if not set(cond) <= _FACT_KEYS:
        return False
    return all(_only_facts(c) for key in ("all", "any") for c in cond.get(key, []))


def _lowering(cond: Condition | None) -> list[str]:
    """Conditions under which more concern (a higher score or NEWS2, a 'yes') could stop a rule firing."""
    if not cond:
        return []
    found = []
    if ("score" in cond or "news2" in cond or "news2_single" in cond) and (
            {"lt", "lte", "eq"} & set(cond) or {"lt", "lte", "eq"} & set(cond.get("news2") or cond.get("news2_single") or {})):
        found.append(str(cond))
    for key in ("all", "any"):
        for sub in cond.get(key, []):
            found += _lowering(sub)
    return found


def lint(rules: RuleSet, *, run_tests: bool = True) -> list[Problem]:
    """Return every problem found; an empty list means the rule set is clean."""
    problems: list[Problem] = []
    add = lambda f, r, m: problems.append(Problem(f, r, m))  # noqa: E731
    general_ids = [q.id for q in rules.general_questions]
    for q in rules.general_questions:
        if not _DISCRIMINATOR_START.match(q.text):
            add("general.yaml", q.id, "yes/no question should be a discriminator ('Is there ...?', 'Has ...?')")
    tested = {t.complaint for t in rules.tests}
    for c in rules.complaints.values():
        f = c.source_file
        if not c.sources or any(len(s.strip()) < 3 for s in c.sources):
            add(f, c.id, "missing guideline source")
        ids = [q.id for q in c.questions]
        for dup in {i for i in ids if ids.count(i) > 1} | (set(ids) & set(general_ids)):
            add(f, dup, "duplicate question id")
        rids = [r.id for r in c.rules]
        for dup in {i for i in rids if rids.count(i) > 1}:
            add(f, dup, "duplicate rule id")
        used: set[str] = set()
        for r in c.rules:
            for bad in _lowering(r.condition):
                add(f, r.id, f"condition {bad} fires on a LOWER score: more concern could lower urgency; "
                             "use gte/gt on scores and NEWS2")
            for kind, ref in question_refs(r.condition):
                if kind == "score":
                    used.update(next(s.items for s in c.scores if s.id == ref))
                else:
                    used.add(ref)
            if len(r.source.strip()) < 3:
                add(f, r.id, "missing guideline source")
        for q in c.questions:
            for _, ref in question_refs(q.when or {}):
                used.add(ref)
                if ref not in ids and ref not in general_ids:
                    add(f, q.id, f"`when` refers to unknown question {ref!r}: the question is unreachable")
            if q.when and "age" in q.when:
                a = q.when["age"]
                if (c.max_age is not None and a.get("gte", a.get("gt", -1)) > c.max_age) or (
                        c.min_age is not None and a.get("lt", a.get("lte", 999)) < c.min_age):
                    add(f, q.id, "age condition excludes every patient this complaint applies to: unreachable")
            if q.type == "yes_no" and not _DISCRIMINATOR_START.match(q.text):
                add(f, q.id, "yes/no question should be phrased so that 'yes' is the answer of concern")
        for q in c.questions:
            if q.id not in used:
                add(f, q.id, "question is never asked: no rule, score or question depends on it")
        least_urgent_default = max(rules.dispositions[d.disposition].urgency for d in c.defaults)
        for r in c.rules:
            if rules.dispositions[r.disposition].urgency > least_urgent_default:
                add(f, r.id, f"rule is less urgent than every default ({r.disposition}), so it can never "
                             "change the outcome: make it more urgent or remove it")
        for d in c.defaults:
            if not _only_facts(d.when):
                add(f, c.id, "a default's `when` may only use age, sex and tags (never an answer)")
        if c.id not in tested:
            add(f, c.id, "missing test cases")
        elif sum(1 for t in rules.tests if t.complaint == c.id) < 2:
            add(f, c.id, "needs at least two test cases (one reaching the default, one a red flag)")
    problems += _lint_danger_signs(rules)
    if run_tests:
        for res in run_all(rules):
            if not res.passed:
                add(res.test.source_file, res.test.name, f"test fails: {res.detail}")
    return problems


def _lint_danger_signs(rules: RuleSet) -> list[Problem]:
    """Shared danger signs: each question used somewhere, phrased as a discriminator, each rule sourced."""
    problems: list[Problem] = []
    if not rules.danger_questions:
        return problems
    f = "danger_signs.yaml"
    conds = [r.condition for r in (*rules.danger_rules, *(r for c in rules.complaints.values() for r in c.rules))]
    conds += [q.when for q in (*rules.danger_questions, *(q for c in rules.complaints.values() for q in c.questions))
              if q.when]
    used = {ref for cond in conds for _, ref in question_refs(cond)}
    read_vitals = {node["vital"] for cond in conds + [r.condition for r in rules.vital_rules]
                   for node in _nodes(cond) if "vital" in node}
    for q in rules.danger_questions:
        if q.id not in used and not (q.vital and q.vital in read_vitals):
            problems.append(Problem(f, q.id, "question is never asked: no rule, `when` or vital rule reads it"))
        if q.type == "yes_no" and not _DISCRIMINATOR_START.match(q.text):
            problems.append(Problem(f, q.id, "yes/no question should be phrased so that 'yes' is the answer of concern"))
    for r in rules.danger_rules:
        if len(r.source.strip()) < 3:
            problems.append(Problem(f, r.id, "missing guideline source"))
    if not any(t.source_file == f for t in rules.tests):
        problems.append(Problem(f, None, "missing test cases"))
    return problems


def _nodes(cond: Condition | None):
    if not cond:
        return
    yield cond
    for key in ("all", "any"):
        for sub in cond.get(key, []):
            yield from _nodes(sub)
