"""The generic triage engine: asks the next question that could change the outcome, or decides."""
from __future__ import annotations

import math
import operator
from collections import OrderedDict
from dataclasses import dataclass, replace
from typing import Any, Mapping

from triage.errors import CaseError
from triage.loader import question_refs
from triage.model import (UNKNOWN, Case, Complaint, Condition, DefaultOutcome, Outcome, Question, Reason, Rule,
                          RuleSet, Score)
from triage.news2 import News2, score_news2

_CMP = {"gte": operator.ge, "gt": operator.gt, "lte": operator.le, "lt": operator.lt, "eq": operator.eq}

VITAL_LIMITS: dict[str, tuple[float, float]] = {
    "respiratory_rate": (0, 80), "spo2": (40, 100), "systolic_bp": (30, 300),
    "heart_rate": (10, 300), "temperature": (25, 45),
}
CONSCIOUSNESS = ("A", "C", "V", "P", "U")
YES = {True, "yes", "y", "true", "1", 1}
NO = {False, "no", "n", "false", "0", 0}
UNSURE = {"unknown", "not sure", "not_sure", "unsure", "dont know", "don't know", "dont_know", "?"}
SEX_VALUES = ("female", "male", "unknown")
MAX_COMPLAINTS = 6
_CACHE_SIZE = 256

# Where a rule or default came from, for the reasons shown beside the outcome.
GENERAL, DANGER, VITALS = "general", "danger_signs", "vitals"


def _compare(value: Any, cond: Mapping[str, Any]) -> bool:
    for key, fn in _CMP.items():
        if key in cond and not fn(value, cond[key]):
            return False
    if "in" in cond and value not in cond["in"]:
        return False
    return True


@dataclass
class _Compiled:
    """The union of one call's complaints: questions once each, every rule with where it came from."""
    complaints: tuple[Complaint, ...]
    ids: tuple[str, ...]
    tags: frozenset[str]
    questions: tuple[Question, ...]
    by_id: dict[str, Question]
    rules: tuple[Rule, ...]
    origins: tuple[str, ...]  # per rule: complaint id, general, danger_signs or vitals
    needs: tuple[frozenset[str], ...]  # per rule: the questions it may need (with `when` dependencies)
    scores: dict[str, Score]
    vital_questions: dict[str, str]  # vital sign -> the question whose answer gives it

    @property
    def complaint(self) -> Complaint:  # the first complaint (kept for older callers)
        return self.complaints[0]


class _Context:
    """One evaluation: the case's facts, answers and vitals, with three-valued logic.

    `world` says what a "not sure" answer counts as: "unsure" is each question's declared cautious
    branch (what rules fire on); "other" is the opposite branch (used only to keep the more urgent
    of two possible defaults).
    """

    def __init__(self, compiled: _Compiled, case: Case, answers: dict[str, Any], vitals: Mapping[str, Any],
                 news2: News2, *, world: str = "unsure"):
        self.c, self.case, self.answers, self.vitals, self.news2 = compiled, case, answers, vitals, news2
        self.world = world
        self._askable: dict[str, bool | None] = {}

    def askable(self, qid: str) -> bool | None:
        """True if the question applies, False if it cannot, None if that depends on an open answer."""
        if qid not in self._askable:
            q = self.c.by_id.get(qid)
            if q is None:
                return False
            self._askable[qid] = None  # guard against cycles
            self._askable[qid] = True if q.when is None else self.ev(q.when)
        return self._askable[qid]

    def _unsure(self, qid: str) -> bool:
        declared = self.c.by_id[qid].unsure == "yes"
        return declared if self.world == "unsure" else not declared

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
                if value is UNKNOWN:
                    return self._unsure(qid)
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
            return cond["tag"] in self.c.tags
        if "complaint" in cond:
            return cond["complaint"] in self.c.ids
        if "vital" in cond:
            value = self.vitals.get(cond["vital"])
            if value is None:
                qid = self.c.vital_questions.get(cond["vital"])
                if qid and qid not in self.answers and self.askable(qid) is not False:
                    return None  # a caller-reported observation could still be given
                return False
            return _compare(value, cond)
        if "news2" in cond:
            return _compare(self.news2.total, cond["news2"])
        if "news2_single" in cond:
            return _compare(self.news2.max_single, cond["news2_single"])
        if "score" in cond:
            return self._score(cond)
        raise ValueError(f"unknown condition {cond!r}")

    def _score(self, cond: Condition) -> bool | None:
        score = self.c.scores[cond["score"]]
        lo = sum(1 for q in score.items if self.answers.get(q) is True
                 or (self.answers.get(q) is UNKNOWN and self._unsure(q)))
        open_items = sum(1 for q in score.items if q not in self.answers and self.askable(q) is not False)
        results = {_compare(v, cond) for v in range(lo, lo + open_items + 1)}
        return results.pop() if len(results) == 1 else None


def _static(cond: Condition | None, ids: frozenset[str], tags: frozenset[str]) -> bool:
    """Evaluate an `applies_to` condition (complaints and tags only) for a set of complaints."""
    if cond is None:
        return True
    if "any" in cond:
        return any(_static(c, ids, tags) for c in cond["any"])
    if "all" in cond:
        return all(_static(c, ids, tags) for c in cond["all"])
    if "complaint" in cond:
        return cond["complaint"] in ids
    if "tag" in cond:
        return cond["tag"] in tags
    return True


class Engine:
    """Evaluates cases against a RuleSet. Stateless and deterministic."""

    def __init__(self, rules: RuleSet):
        self.rules = rules
        self._compiled: OrderedDict[tuple[str, ...], _Compiled] = OrderedDict()

    # -- compiling a call's complaints into one question and rule set --------------------------
    def compiled(self, complaints: str | tuple[str, ...] | list[str]) -> _Compiled:
        key = tuple(sorted(set([complaints] if isinstance(complaints, str) else complaints)))
        hit = self._compiled.get(key)
        if hit is not None:
            self._compiled.move_to_end(key)
            return hit
        comp = self._compile(key)
        self._compiled[key] = comp
        if len(self._compiled) > _CACHE_SIZE:  # callers choose the combinations: keep memory bounded
            self._compiled.popitem(last=False)
        return comp

    def _compile(self, key: tuple[str, ...]) -> _Compiled:
        rs = self.rules
        cs = tuple(rs.complaints[cid] for cid in key)
        ids = frozenset(key)
        tags = frozenset(t for c in cs for t in c.tags)
        general = any(c.general for c in cs)
        own = [q for c in cs for q in c.questions]
        referenced = {ref for c in cs for cond in (*(r.condition for r in c.rules), *(q.when for q in c.questions),
                                                   *(d.when for d in c.defaults))
                      for _, ref in question_refs(cond)}
        danger_by_id = {q.id: q for q in rs.danger_questions}
        relevant = {q.id for q in rs.danger_questions if _static(q.applies_to, ids, tags)} | \
            (referenced & set(danger_by_id))
        stack = list(relevant)
        while stack:  # a relevant danger sign's `when` may depend on another danger sign
            for _, ref in question_refs(danger_by_id[stack.pop()].when):
                if ref in danger_by_id and ref not in relevant:
                    relevant.add(ref)
                    stack.append(ref)
        danger = [q for q in rs.danger_questions if q.id in relevant]
        questions = (rs.general_questions if general else ()) + tuple(own) + tuple(danger)
        by_id: dict[str, Question] = {}
        for q in questions:
            by_id.setdefault(q.id, q)
        questions = tuple(by_id.values())
        pairs: list[tuple[Rule, str]] = [(r, GENERAL) for r in (rs.general_rules if general else ())]
        pairs += [(r, c.id) for c in cs for r in c.rules]
        pairs += [(r, DANGER) for r in rs.danger_rules] + [(r, VITALS) for r in rs.vital_rules]
        scores = {s.id: s for c in cs for s in c.scores}
        vital_questions: dict[str, str] = {}
        for q in questions:
            if q.vital:
                vital_questions.setdefault(q.vital, q.id)

        def closure(cond: Condition | None) -> frozenset[str]:
            seen: set[str] = set()
            stack = [cond] if cond else []
            while stack:
                cur = stack.pop()
                refs = list(question_refs(cur)) + [("q", vital_questions[v]) for v in _vital_refs(cur)
                                                   if v in vital_questions]
                for kind, ref in refs:
                    qids = set(scores[ref].items) if kind == "score" else {ref}
                    for qid in qids - seen:
                        seen.add(qid)
                        if qid in by_id and by_id[qid].when:
                            stack.append(by_id[qid].when)
            return frozenset(seen)

        return _Compiled(cs, key, tags, questions, by_id, tuple(r for r, _ in pairs), tuple(o for _, o in pairs),
                         tuple(closure(r.condition) for r, _ in pairs), scores, vital_questions)

    # -- validation -----------------------------------------------------------------------
    def validate(self, case: Case) -> tuple[_Compiled, dict[str, Any], list[tuple[str, str]]]:
        """Check a case; return the compiled complaints, the parsed answers and the answers set aside."""
        errors: dict[str, str] = {}
        raw_ids = case.complaints
        field = "complaint" if len(raw_ids) <= 1 else "complaints"
        if not raw_ids or len(raw_ids) > MAX_COMPLAINTS:
            raise CaseError({field: f"give from 1 to {MAX_COMPLAINTS} complaint ids "
                                    "(GET /api/v1/complaints lists them)"})
        bad = [c for c in raw_ids if not isinstance(c, str) or c not in self.rules.complaints]
        if bad:
            raise CaseError({field: f"unknown complaint {bad[0]!r}; GET /api/v1/complaints lists the ids"})
        comp = self.compiled(raw_ids)
        if not isinstance(case.age, (int, float)) or isinstance(case.age, bool) or not 0 <= case.age <= 130:
            errors["age"] = "must be a number of years from 0 to 130 (use 0.5 for six months)"
        else:
            for c in comp.complaints:
                if (c.min_age is not None and case.age < c.min_age) or (c.max_age is not None and case.age > c.max_age):
                    errors[field] = (f"{c.title!r} is for ages {c.min_age if c.min_age is not None else 0}"
                                     f"-{c.max_age if c.max_age is not None else 'any'}; choose the version "
                                     "for this age")
        if not isinstance(case.sex, str) or case.sex not in SEX_VALUES:
            errors["sex"] = "must be 'female', 'male' or 'unknown'"
        else:
            for c in comp.complaints:
                if c.sex and case.sex not in (c.sex, "unknown"):
                    errors[field] = f"{c.title!r} applies to {c.sex} patients only"
        answers: dict[str, Any] = {}
        ignored: list[tuple[str, str]] = []
        raw_answers = case.answers if case.answers is not None else {}
        if not isinstance(raw_answers, Mapping):
            errors["answers"] = "must be an object mapping question ids to answers"
            raw_answers = {}
        for qid, raw in raw_answers.items():
            key = f"answers.{qid}"
            q = comp.by_id.get(qid)
            if q is None:
                if isinstance(qid, str) and self.rules.question(qid) is not None:
                    ignored.append((qid, "not a question of this call's complaints"))
                else:
                    errors[key] = (f"is not a question of complaint {comp.ids[0]!r}" if len(comp.ids) == 1 else
                                   f"is not a question of complaints {list(comp.ids)!r}")
                continue
            parsed = _parse_answer(q, raw)
            if isinstance(parsed, _Bad):
                errors[key] = parsed.message
            else:
                answers[qid] = parsed
        vitals = case.vitals if case.vitals is not None else {}
        if isinstance(vitals, Mapping):
            errors.update(self._vital_errors(vitals))
        else:
            errors["vitals"] = "must be an object mapping vital-sign names to values"
        if errors:
            raise CaseError(errors)
        return comp, answers, ignored

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
    def _applicable(self, comp: _Compiled, case: Case, answers: dict[str, Any],
                    ignored: list[tuple[str, str]]) -> dict[str, Any]:
        """Set aside answers to questions gated out (by age, sex or another answer), to a fixed point."""
        while True:
            ctx = _Context(comp, case, answers, {}, News2(0, 0, {}))
            gated = [qid for qid in answers if ctx.askable(qid) is False]
            if not gated:
                return answers
            for qid in gated:
                ignored.append((qid, "does not apply to this patient (age, sex or an earlier answer)"))
            answers = {k: v for k, v in answers.items() if k not in gated}

    @staticmethod
    def _vitals(comp: _Compiled, case: Case, answers: dict[str, Any]) -> dict[str, Any]:
        """The vital signs given, completed by caller-reported observations answered as questions."""
        vitals = {k: v for k, v in (case.vitals or {}).items() if v is not None}
        for name, qid in comp.vital_questions.items():
            value = answers.get(qid)
            if name in vitals or value is None or value is UNKNOWN:
                continue
            if name == "spo2_scale":
                if value is True:  # a clinician set an 88-92% target: hypercapnic respiratory failure
                    vitals[name] = 2
            else:
                vitals[name] = value
        return vitals

    def _default(self, comp: _Compiled, ctxs: list[_Context]) -> tuple[DefaultOutcome, str]:
        """The most urgent default over every complaint, both readings of "not sure", and both sexes if unknown."""
        picks: list[tuple[DefaultOutcome, str]] = []
        for ctx in ctxs:
            case = ctx.case
            variants = [ctx] if case.sex != "unknown" else [
                _Context(comp, replace(case, sex=sex), ctx.answers, ctx.vitals, ctx.news2, world=ctx.world)
                for sex in ("female", "male")]
            for c in comp.complaints:
                for v in variants:
                    picks.append((next(d for d in c.defaults
                                       if d.when is None or v.ev(d.when, optimistic=False) is True), c.id))
        return min(picks, key=lambda p: self.rules.dispositions[p[0].disposition].urgency)

    def evaluate(self, case: Case) -> Question | Outcome:
        """Return the next question to ask, or the outcome when no answer could change it."""
        comp, answers, ignored = self.validate(case)
        answers = self._applicable(comp, case, answers, ignored)
        vitals = self._vitals(comp, case, answers)
        reported = {k: v for k, v in vitals.items() if k not in (case.vitals or {})}
        bad = {f"answers.{comp.vital_questions[key.split('.', 1)[1]]}": msg
               for key, msg in self._vital_errors(reported).items()}
        if bad:
            raise CaseError(bad)
        news2 = score_news2(vitals, self.rules.news2_table)
        ctx = _Context(comp, case, answers, vitals, news2)
        other = _Context(comp, case, answers, vitals, news2, world="other")
        disp = self.rules.dispositions

        fired = [i for i, r in enumerate(comp.rules) if ctx.ev(r.condition) is True]
        default, default_from = self._default(comp, [ctx, other])
        floor = min([disp[comp.rules[i].disposition].urgency for i in fired] + [disp[default.disposition].urgency])

        pending = sorted((i for i, r in enumerate(comp.rules)
                          if disp[r.disposition].urgency < floor and ctx.ev(r.condition) is None),
                         key=lambda i: disp[comp.rules[i].disposition].urgency)
        for i in pending:  # the question the most dangerous still-open rule needs, first
            wanted = comp.needs[i]
            for q in comp.questions:
                if q.id in wanted and q.id not in answers and ctx.askable(q.id) is True:
                    return q

        fired.sort(key=lambda i: disp[comp.rules[i].disposition].urgency)
        reasons = [self._reason(comp, i, answers, other) for i in fired]
        first = disp[comp.rules[fired[0]].disposition] if fired else None
        winner = first if first is not None and first.urgency == floor else disp[default.disposition]
        if first is None or disp[default.disposition].urgency < first.urgency:
            src = next(c for c in comp.complaints if c.id == default_from)
            reasons.insert(0, Reason("default", default.reason, "; ".join(src.sources), default.disposition,
                                     default_from))
        name, target = self.rules.acuity_names[winner.acuity]
        trail = tuple((q.id, q.text, answers[q.id]) for q in comp.questions if q.id in answers)
        return Outcome(acuity=winner.acuity, acuity_name=name, target_minutes=target, disposition=winner,
                       reasons=tuple(reasons), trail=trail,
                       news2=news2.total if news2.parameters else None,
                       complaints=comp.ids, ignored=tuple(ignored))

    @staticmethod
    def _reason(comp: _Compiled, i: int, answers: dict[str, Any], other: _Context) -> Reason:
        r = comp.rules[i]
        unsure = [q for q in comp.needs[i] if answers.get(q) is UNKNOWN]
        if unsure and other.ev(r.condition) is not True:
            q = comp.by_id[unsure[0]]
            return Reason(r.id, f"{r.reason} ({q.unsure_means}: caller not sure)", r.source, r.disposition,
                          comp.origins[i], unsure=True)
        return Reason(r.id, r.reason, r.source, r.disposition, comp.origins[i])


class _Bad:
    def __init__(self, message: str):
        self.message = message


def _parse_answer(q: Question, raw: Any) -> Any:
    """One answer in its question's type, UNKNOWN for "not sure", or _Bad naming what to send."""
    value = raw.strip().lower() if isinstance(raw, str) else raw
    if q.type == "choice" and isinstance(value, str) and value in {o.id for o in q.options}:
        return value  # a choice's own "unsure" option keeps the meaning its rules give it
    if isinstance(value, str) and value in UNSURE:
        return UNKNOWN
    if q.type == "yes_no":
        if isinstance(value, (str, bool, int)) and not isinstance(value, float):
            if value in YES:
                return True
            if value in NO:
                return False
        return _Bad("must be yes, no or unknown (not sure)")
    if q.type == "number":
        try:
            if isinstance(value, bool):
                raise TypeError("a boolean is not a number")
            num = float(value)
        except (TypeError, ValueError, OverflowError):
            return _Bad(f"must be a number{f' in {q.unit}' if q.unit else ''}, or unknown if not measured")
        if not math.isfinite(num) or (q.minimum is not None and num < q.minimum) or (
                q.maximum is not None and num > q.maximum):
            return _Bad(f"must be between {q.minimum} and {q.maximum}{f' {q.unit}' if q.unit else ''}")
        return num
    ids = [o.id for o in q.options]
    if not isinstance(value, str) or value not in ids:
        return _Bad(f"must be one of {ids} or unknown")
    return value


def _vital_refs(cond: Any):
    """Yield every vital-sign name a condition reads."""
    if not isinstance(cond, dict):
        return
    if "vital" in cond:
        yield cond["vital"]
    for key in ("all", "any"):
        for sub in cond.get(key, []):
            yield from _vital_refs(sub)
