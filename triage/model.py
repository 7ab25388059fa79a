"""Plain data types of the triage engine: rule sets, cases, questions and outcomes."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

Condition = dict[str, Any]

SEXES = ("female", "male")
VITAL_FIELDS = ("respiratory_rate", "spo2", "on_oxygen", "systolic_bp", "heart_rate",
                "consciousness", "temperature", "spo2_scale")


@dataclass(frozen=True)
class Disposition:
    code: str
    label: str
    cls: str
    acuity: int
    within_minutes: int | None
    urgency: int  # position in the catalogue: 0 is the most urgent
    advice: str | None = None

    def as_dict(self) -> dict[str, Any]:
        d = {"code": self.code, "label": self.label, "class": self.cls,
             "within_minutes": self.within_minutes, "acuity": self.acuity}
        if self.advice:
            d["advice"] = self.advice
        return d


@dataclass(frozen=True)
class Option:
    id: str
    label: str


@dataclass(frozen=True)
class Question:
    id: str
    text: str
    type: str  # yes_no | number | choice
    options: tuple[Option, ...] = ()
    unit: str | None = None
    minimum: float | None = None
    maximum: float | None = None
    help: str | None = None
    when: Condition | None = None
    source_file: str = ""
    unsure: str = "yes"  # what "not sure" counts as: "yes" (the cautious branch) or "no"
    unsure_help: str | None = None
    vital: str | None = None  # a number answer that is also this vital sign (NEWS2, sepsis rules)
    applies_to: Condition | None = None  # danger signs: the complaints/tags that make it relevant

    @property
    def unsure_means(self) -> str:
        if self.type == "yes_no":
            return "treated as yes" if self.unsure == "yes" else "treated as no"
        if self.type == "choice":
            return "treated as the most urgent choice"
        return "treated as yes" if self.unsure == "yes" else "treated as not measured"

    def as_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {"id": self.id, "text": self.text, "type": self.type}
        if self.type == "yes_no":
            d["options"] = [{"id": "yes", "label": "Yes"}, {"id": "no", "label": "No"},
                            {"id": "unknown", "label": "Not sure"}]
        elif self.options:
            d["options"] = [{"id": o.id, "label": o.label} for o in self.options] + \
                [{"id": "unknown", "label": "Not sure"}]
        d["unsure_means"] = self.unsure_means
        for k in ("unit", "help", "unsure_help", "vital"):
            if getattr(self, k):
                d[k] = getattr(self, k)
        if self.minimum is not None:
            d["min"] = self.minimum
        if self.maximum is not None:
            d["max"] = self.maximum
        return d


@dataclass(frozen=True)
class Rule:
    id: str
    condition: Condition
    disposition: str
    reason: str
    source: str
    source_file: str = ""


@dataclass(frozen=True)
class DefaultOutcome:
    disposition: str
    reason: str
    when: Condition | None = None


@dataclass(frozen=True)
class Score:
    id: str
    items: tuple[str, ...]
    source: str = ""


@dataclass(frozen=True)
class RuleTest:
    name: str
    complaint: str
    age: float
    sex: str
    answers: dict[str, Any]
    vitals: dict[str, Any]
    expect_disposition: str | None
    expect_question: str | None
    expect_not: str | None
    source_file: str
    complaints: tuple[str, ...] = ()

    @property
    def all_complaints(self) -> tuple[str, ...]:
        return self.complaints or (self.complaint,)


@dataclass(frozen=True)
class Complaint:
    id: str
    title: str
    synonyms: tuple[str, ...]
    sources: tuple[str, ...]
    questions: tuple[Question, ...]
    rules: tuple[Rule, ...]
    defaults: tuple[DefaultOutcome, ...]
    scores: tuple[Score, ...] = ()
    tags: tuple[str, ...] = ()
    min_age: float | None = None
    max_age: float | None = None
    sex: str | None = None
    general: bool = True
    source_file: str = ""

    def as_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {"id": self.id, "title": self.title}
        if self.min_age is not None or self.max_age is not None:
            d["age_range"] = [self.min_age, self.max_age]
        if self.sex:
            d["sex"] = self.sex
        return d


@dataclass(frozen=True)
class RuleSet:
    dispositions: dict[str, Disposition]
    acuity_names: dict[int, tuple[str, int]]
    complaints: dict[str, Complaint]
    general_questions: tuple[Question, ...]
    general_rules: tuple[Rule, ...]
    vital_rules: tuple[Rule, ...]
    news2_table: dict[str, Any]
    tests: tuple[RuleTest, ...]
    sources: dict[str, tuple[str, ...]] = field(default_factory=dict)
    danger_questions: tuple[Question, ...] = ()
    danger_rules: tuple[Rule, ...] = ()

    def question(self, qid: str) -> Question | None:
        """Any question of the rule set by id (general, danger signs, or a complaint's)."""
        return self._all_questions.get(qid)

    @property
    def _all_questions(self) -> dict[str, Question]:
        cached = self.__dict__.get("_qcache")
        if cached is None:
            cached = {q.id: q for q in (*self.general_questions, *self.danger_questions)}
            for c in self.complaints.values():
                for q in c.questions:
                    cached.setdefault(q.id, q)
            object.__setattr__(self, "_qcache", cached)
        return cached


class _Unknown:
    """The answer "not sure" (API `"unknown"`): counts as the question's cautious branch."""
    _instance: "_Unknown | None" = None

    def __new__(cls) -> "_Unknown":
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "UNKNOWN"

    def __reduce__(self):  # stays a singleton when copied or pickled
        return (_Unknown, ())


UNKNOWN = _Unknown()


@dataclass(frozen=True, init=False)
class Case:
    """One call: one or more presenting complaints, the patient, answers so far and vital signs."""
    complaint: Any  # the first complaint id (kept for callers that know one complaint)
    age: Any
    sex: Any
    answers: dict[str, Any]
    vitals: dict[str, Any]
    complaints: tuple[Any, ...]

    def __init__(self, complaint: Any = None, age: Any = None, sex: Any = None,
                 answers: dict[str, Any] | None = None, vitals: dict[str, Any] | None = None, *,
                 complaints: Any = None):
        if complaints is None:
            complaints = list(complaint) if isinstance(complaint, (list, tuple)) else [complaint]
        elif isinstance(complaints, str):
            complaints = [complaints]
        complaints = tuple(complaints) if isinstance(complaints, (list, tuple)) else (complaints,)
        object.__setattr__(self, "complaints", complaints)
        object.__setattr__(self, "complaint", complaints[0] if complaints else None)
        object.__setattr__(self, "age", age)
        object.__setattr__(self, "sex", sex)
        object.__setattr__(self, "answers", answers if answers is not None else {})
        object.__setattr__(self, "vitals", vitals if vitals is not None else {})


@dataclass(frozen=True)
class Reason:
    rule: str
    text: str
    source: str
    disposition: str
    complaint: str = ""  # the complaint id it came from, or general / danger_signs / vitals
    unsure: bool = False  # fired only because a "not sure" answer was treated as the cautious branch

    def as_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {"rule": self.rule, "text": self.text, "source": self.source,
                             "disposition": self.disposition, "complaint": self.complaint}
        if self.unsure:
            d["unsure"] = True
        return d


@dataclass(frozen=True)
class Outcome:
    acuity: int
    acuity_name: str
    target_minutes: int
    disposition: Disposition
    reasons: tuple[Reason, ...]
    trail: tuple[tuple[str, str, Any], ...]  # (question id, text, answer)
    news2: int | None = None
    complaints: tuple[str, ...] = ()
    ignored: tuple[tuple[str, str], ...] = ()  # (question id, why the answer was not used)

    def as_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {
            "acuity": self.acuity,
            "acuity_name": self.acuity_name,
            "target_minutes": self.target_minutes,
            "disposition": self.disposition.as_dict(),
            "reasons": [r.as_dict() for r in self.reasons],
            "trail": [{"question": q, "text": t, "answer": "unknown" if a is UNKNOWN else a}
                      for q, t, a in self.trail],
            "complaints": list(self.complaints),
            "ignored_answers": [{"question": q, "why": why} for q, why in self.ignored],
        }
        if self.news2 is not None:
            d["news2"] = self.news2
        if self.disposition.advice:
            d["safety_netting"] = self.disposition.advice
        return d
