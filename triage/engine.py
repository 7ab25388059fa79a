"""The generic triage engine: asks the next question that could change the outcome, or decides."""
from __future__ import annotations

import math
import operator
from dataclasses import dataclass, replace
from functools import cached_property
from typing import Any, Mapping

from triage.errors import CaseError
from triage.loader import question_refs
from triage.model import Case, Complaint, Condition, DefaultOutcome, Outcome, Question, Reason, Rule, RuleSet
from triage.news2 import News2, score_news2

_CMP = {"gte": operator.ge, "gt": operator.gt, "lte": operator.le, "lt": operator.lt, "eq": operator.eq}

VITAL_LIMITS: dict[str, tuple[float, float]] = {
    "respiratory_rate": (0, 80), "spo2": (40, 100), "systolic_bp": (30, 300),
    "heart_rate": (10, 300), "temperature": (25, 45),
}
CONSCIOUSNESS = ("A", "C", "V", "P", "U")
YES = {True, "yes", "y", "true", "1", 1}
NO = {False, "no", "n", "false", "0", 0}
SEX_VALUES = ("female", "male", "unknown")


def _compare(value: Any, cond: Mapping[str, Any]) -> bool:
    for key, fn in _CMP.items():
        if key in cond and not fn(value, cond[key]):
            return False
    if "in" in cond and value not in cond["in"]:
        return False
    return True


@dataclass
class _Compiled:
    complaint: Complaint
    questions: tuple[Question, ...]
    by_id: dict[str, Question]
    rules: tuple[Rule, ...]
    needs: dict[str, frozenset[str]]  # rule id -> questions it may need (with `when` dependencies)


class _Context:
    """One evaluation: the case's facts, answers and vitals, with three-valued logic."""

    def __init__(self, compiled: _Compiled, case: Case, answers: dict[str, Any], news2: News2):
        self.c, self.case, self.answers, self.news2 = compiled, case, answers, news2
        self.scores = {s.id: s for s in compiled.complaint.scores}
        self._askable: dict[str, bool | None] = {}

    def askable(self, qid: str) -> bool | None:
        """True if the question applies, False if it cannot, None if that depends on an open answer."""
        if qid not in self._askable:
            self._askable[qid] = None  # guard against cycles
            q = self.c.by_id[qid]
            self._askable[qid] = True if q.when is None else self.ev(q.when)
        return self._askable[qid]

    def ev(self, cond: Condition, *, optimistic: bool = True) -> bool | None:
        if "all" in cond:
            vals = [self.ev(c, optimistic=optimistic) for c in cond["all"]]
            return False if False in vals else (True if all(v is True for v in vals) else None)
        if "any" in cond:
            vals = [self.ev(c, optimistic=optimistic) for c in cond["any"]]
            return True if True in vals else (False if all(v is False for v in vals) else None)
        if "yes" in cond or "answer" in cond:
            qid = cond.get("yes") or cond["answer"]
            if qid in self.answers:
                value = self.answers[qid]
                return value is True if "yes" in cond else _compare(value, cond)
            ask = self.askable(qid)
            return False if ask is False else None
        if "age" in cond:
            return _compare(self.case.age, cond["age"])
        if "sex" in cond:
            if self.case.sex == "unknown":
                return optimistic
            return self.case.sex == cond["sex"]
        if "tag" in cond:
            return cond["tag"] in self.c.complaint.tags
        if "vital" in cond:
            value = self.case.vitals.get(cond["vital"])
            return False if value is None else _compare(value, cond)
        if "news2" in cond:
            return _compare(self.news2.total, cond["news2"])
        if "news2_single" in cond:
            return _compare(self.news2.max_single, cond["news2_single"])
        if "score" in cond:
            return self._score(cond)
        raise ValueError(f"unknown condition {cond!r}")

    def _score(self, cond: Condition) -> bool | None:
        score = self.scores[cond["score"]]
        lo = sum(1 for q in score.items if self.answers.get(q) is True)
        open_items = sum(1 for q in score.items if q not in self.answers and self.askable(q) is not False)
        results = {_compare(v, cond) for v in range(lo, lo + open_items + 1)}
        return results.pop() if len(results) == 1 else None


class Engine:
    """Evaluates cases against a RuleSet. Stateless and deterministic."""

    def __init__(self, rules: RuleSet):
        self.rules = rules
        self._compiled: dict[str, _Compiled] = {}

    @cached_property
    def _general_ids(self) -> set[str]:
        return {q.id for q in self.rules.general_questions}

    def compiled(self, complaint_id: str) -> _Compiled:
        if complaint_id not in self._compiled:
            c = self.rules.complaints[complaint_id]
            questions = (self.rules.general_questions if c.general else ()) + c.questions
            by_id = {q.id: q for q in questions}
            rules = (self.rules.general_rules if c.general else ()) + c.rules + self.rules.vital_rules
            score_items = {s.id: set(s.items) for s in c.scores}

            def closure(cond: Condition | None) -> set[str]:
                seen: set[str] = set()
                stack = [cond] if cond else []
                while stack:
                    for kind, ref in question_refs(stack.pop()):
                        ids = score_items[ref] if kind == "score" else {ref}
                        for qid in ids - seen:
                            seen.add(qid)
                            if qid in by_id and by_id[qid].when:
                                stack.append(by_id[qid].when)
                return seen

            needs = {r.id: frozenset(closure(r.condition)) for r in rules}
            self._compiled[complaint_id] = _Compiled(c, questions, by_id, rules, needs)
        return self._compiled[complaint_id]

    # -- validation -----------------------------------------------------------------------
    def validate(self, case: Case) -> tuple[_Compiled, dict[str, Any]]:
        errors: dict[str, str] = {}
        if not isinstance(case.complaint, str) or case.complaint not in self.rules.complaints:
            raise CaseError({"complaint": f"unknown complaint {case.complaint!r}; "
                                          "GET /api/v1/complaints lists the ids"})
        comp = self.compiled(case.complaint)
        c = comp.complaint
        if not isinstance(case.age, (int, float)) or isinstance(case.age, bool) or not 0 <= case.age <= 130:
            errors["age"] = "must be a number of years from 0 to 130 (use 0.5 for six months)"
        elif (c.min_age is not None and case.age < c.min_age) or (c.max_age is not None and case.age > c.max_age):
            errors["complaint"] = (f"{c.title!r} is for ages {c.min_age if c.min_age is not None else 0}"
                                   f"-{c.max_age if c.max_age is not None else 'any'}; choose the version "
                                   "for this age")
        if not isinstance(case.sex, str) or case.sex not in SEX_VALUES:
            errors["sex"] = "must be 'female', 'male' or 'unknown'"
        elif c.sex and case.sex not in (c.sex, "unknown"):
            errors["complaint"] = f"{c.title!r} applies to {c.sex} patients only"
        answers: dict[str, Any] = {}
        raw_answers = case.answers if case.answers is not None else {}
        if not isinstance(raw_answers, Mapping):
            errors["answers"] = "must be an object mapping question ids to answers"
            raw_answers = {}
        for qid, raw in raw_answers.items():
            q = comp.by_id.get(qid)
            key = f"answers.{qid}"
            if q is None:
                errors[key] = f"is not a question of complaint {c.id!r}"
                continue
            value = raw.strip().lower() if isinstance(raw, str) else raw
            if q.type == "yes_no":
                if not isinstance(value, (str, bool, int)):
                    errors[key] = "must be yes or no (true or false)"
                elif value in YES and not isinstance(value, float):
                    answers[qid] = True
                elif value in NO and not isinstance(value, float):
                    answers[qid] = False
                else:
                    errors[key] = "must be yes or no (true or false)"
            elif q.type == "number":
                try:
                    if isinstance(value, bool):
                        raise TypeError("a boolean is not a number")
                    num = float(value)
                except (TypeError, ValueError):
                    errors[key] = f"must be a number{f' in {q.unit}' if q.unit else ''}"
                    continue
                if not math.isfinite(num) or (q.minimum is not None and num < q.minimum) or (
                        q.maximum is not None and num > q.maximum):
                    errors[key] = f"must be between {q.minimum} and {q.maximum}{f' {q.unit}' if q.unit else ''}"
                    continue
                answers[qid] = num
            else:
                ids = [o.id for o in q.options]
                if not isinstance(value, str) or value not in ids:
                    errors[key] = f"must be one of {ids}"
                else:
                    answers[qid] = value
        vitals = case.vitals if case.vitals is not None else {}
        if isinstance(vitals, Mapping):
            errors.update(self._vital_errors(vitals))
        else:
            errors["vitals"] = "must be an object mapping vital-sign names to values"
        if errors:
            raise CaseError(errors)
        return comp, answers

    @staticmethod
    def _vital_errors(vitals: Mapping[str, Any]) -> dict[str, str]:
        errors = {}
        for name, value in vitals.items():
            key = f"vitals.{name}"
            if value is None:
                continue
            if name in VITAL_LIMITS:
                lo, hi = VITAL_LIMITS[name]
                if not isinstance(value, (int, float)) or isinstance(value, bool) or not lo <= value <= hi:
                    errors[key] = f"must be a number from {lo} to {hi}"
            elif name == "consciousness":
                if not isinstance(value, str) or value not in CONSCIOUSNESS:
                    errors[key] = "must be one of A, C (new confusion), V, P, U (ACVPU)"
            elif name == "on_oxygen":
                if not isinstance(value, bool):
                    errors[key] = "must be true or false"
            elif name == "spo2_scale":
                if isinstance(value, bool) or value not in (1, 2):
                    errors[key] = "must be 1, or 2 for hypercapnic respiratory failure (target 88-92%)"
            else:
                errors[key] = ("is not a known vital sign (respiratory_rate, spo2, spo2_scale, on_oxygen, "
                               "systolic_bp, heart_rate, consciousness, temperature)")
        return errors

    # -- evaluation -----------------------------------------------------------------------
    def _default(self, ctx: _Context) -> DefaultOutcome:
        """The first default whose `when` holds; for unknown sex, the more urgent of both sexes'."""
        case = ctx.case
        contexts = [ctx] if case.sex != "unknown" else [
            _Context(ctx.c, replace(case, sex=sex), ctx.answers, ctx.news2) for sex in ("female", "male")]
        picks = [next(d for d in ctx.c.complaint.defaults
                      if d.when is None or c.ev(d.when, optimistic=False) is True) for c in contexts]
        return min(picks, key=lambda d: self.rules.dispositions[d.disposition].urgency)

    def evaluate(self, case: Case) -> Question | Outcome:
        """Return the next question to ask, or the outcome when no answer could change it."""
        comp, answers = self.validate(case)
        news2 = score_news2(case.vitals or {}, self.rules.news2_table)
        ctx = _Context(comp, case, answers, news2)
        disp = self.rules.dispositions

        fired = [r for r in comp.rules if ctx.ev(r.condition) is True]
        default = self._default(ctx)
        floor = min([disp[r.disposition].urgency for r in fired] + [disp[default.disposition].urgency])

        pending = [r for r in comp.rules
                   if disp[r.disposition].urgency < floor and ctx.ev(r.condition) is None]
        if pending:
            wanted = set().union(*(comp.needs[r.id] for r in pending))
            for q in comp.questions:
                if q.id in wanted and q.id not in answers and ctx.askable(q.id) is True:
                    return q

        fired.sort(key=lambda r: disp[r.disposition].urgency)
        reasons = [Reason(r.id, r.reason, r.source, r.disposition) for r in fired]
        winner = disp[fired[0].disposition] if fired and disp[fired[0].disposition].urgency == floor \
            else disp[default.disposition]
        if not fired or disp[default.disposition].urgency < disp[fired[0].disposition].urgency:
            reasons.insert(0, Reason("default", default.reason,
                                     "; ".join(comp.complaint.sources), default.disposition))
        name, target = self.rules.acuity_names[winner.acuity]
        trail = tuple((q.id, q.text, answers[q.id]) for q in comp.questions if q.id in answers)
        return Outcome(acuity=winner.acuity, acuity_name=name, target_minutes=target, disposition=winner,
                       reasons=tuple(reasons), trail=trail,
                       news2=news2.total if news2.parameters else None)
