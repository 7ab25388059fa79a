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

    def as_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {"id": self.id, "text": self.text, "type": self.type}
        if self.type == "yes_no":
            d["options"] = [{"id": "yes", "label": "Yes"}, {"id": "no", "label": "No"}]
        elif self.options:
            d["options"] = [{"id": o.id, "label": o.label} for o in self.options]
        for k in ("unit", "help"):
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


@dataclass(frozen=True)
class Case:
    complaint: str
    age: float
    sex: str
    answers: dict[str, Any] = field(default_factory=dict)
    vitals: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Reason:
    rule: str
    text: str
    source: str
    disposition: str

    def as_dict(self) -> dict[str, str]:
        return {"rule": self.rule, "text": self.text, "source": self.source,
                "disposition": self.disposition}


@dataclass(frozen=True)
class Outcome:
    acuity: int
    acuity_name: str
    target_minutes: int
    disposition: Disposition
    reasons: tuple[Reason, ...]
    trail: tuple[tuple[str, str, Any], ...]  # (question id, text, answer)
    news2: int | None = None

    def as_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {
            "acuity": self.acuity,
            "acuity_name": self.acuity_name,
            "target_minutes": self.target_minutes,
            "disposition": self.disposition.as_dict(),
            "reasons": [r.as_dict() for r in self.reasons],
            "trail": [{"question": q, "text": t, "answer": a} for q, t, a in self.trail],
        }
        if self.news2 is not None:
            d["news2"] = self.news2
        if self.disposition.advice:
            d["safety_netting"] = self.disposition.advice
        return d
