"""Match a caller's free-text complaint to the rule set's complaints with rapidfuzz."""
from __future__ import annotations

import re
from dataclasses import dataclass

from rapidfuzz import fuzz, process

from triage.model import RuleSet

CONFIDENT_SCORE = 86.0
CLEAR_LEAD = 6.0

# Lay spellings folded before matching, so "cant breath" meets "can't breathe".
_FOLD = [
    (r"\bcan'?t\b|\bcannot\b|\bcnt\b", "cant"), (r"\bwon'?t\b", "wont"), (r"\bbreath\b", "breathe"),
    (r"\bbreathin\b", "breathing"), (r"\bdoesn'?t\b", "doesnt"), (r"\bi'?ve\b", "ive"),
    (r"\bhes\b|\bhe'?s\b|\bshes\b|\bshe'?s\b", "person"), (r"\bmum\b|\bdad\b|\bnan\b|\bgrandad\b", "person"),
    (r"[^a-z0-9 ]+", " "), (r"\s+", " "),
]


def fold(text: str) -> str:
    t = text.lower().replace("’", "'")
    for rx, rep in _FOLD:
        t = re.sub(rx, rep, t)
    return t.strip()


@dataclass(frozen=True)
class ComplaintMatch:
    id: str
    title: str
    score: float
    matched: str


_CHOICES: dict[int, tuple[RuleSet, list[str], list[tuple[str, str]]]] = {}


def _choices(rules: RuleSet) -> tuple[list[str], list[tuple[str, str]]]:
    cached = _CHOICES.get(id(rules))
    if cached and cached[0] is rules:
        return cached[1], cached[2]
    texts, owners = [], []
    for c in rules.complaints.values():
        for phrase in (c.title, c.id.replace("_", " "), *c.synonyms):
            texts.append(fold(phrase))
            owners.append((c.id, phrase))
    _CHOICES[id(rules)] = (rules, texts, owners)
    return texts, owners


def _scorer(query: str, choice: str, **kwargs) -> float:
    # token_set handles extra words ("my dad fell over and cant get up"); WRatio handles typos.
    return max(fuzz.WRatio(query, choice), fuzz.token_set_ratio(query, choice) * 0.97)


def _applies(c, age: float | None, sex: str | None) -> bool:
    if age is not None and ((c.min_age is not None and age < c.min_age) or (c.max_age is not None and age > c.max_age)):
        return False
    return not (c.sex and sex in ("female", "male") and sex != c.sex)


def match_complaint(text: str, rules: RuleSet, *, limit: int = 5, age: float | None = None,
                    sex: str | None = None) -> tuple[ComplaintMatch | None, list[ComplaintMatch]]:
    """Return (confident match or None, ranked candidates, one per complaint).

    With the patient's age and sex, complaints that do not apply to them (an adult's fever,
    a child's fever) are left out, so "high temperature" finds the right version."""
    raw = (text or "").strip()
    if raw in rules.complaints:
        c = rules.complaints[raw]
        m = ComplaintMatch(c.id, c.title, 100.0, raw)
        return m, [m]
    query = fold(raw)
    if not query:
        return None, []
    texts, owners = _choices(rules)
    hits = process.extract(query, texts, scorer=_scorer, limit=len(texts), score_cutoff=40)
    best: dict[str, tuple[ComplaintMatch, bool]] = {}
    for _, score, idx in hits:
        cid, phrase = owners[idx]
        if not _applies(rules.complaints[cid], age, sex):
            continue
        exact = query == texts[idx]
        s = min(100.0, score + (4.0 if exact else 0.0))
        if cid not in best or (s, exact) > (best[cid][0].score, best[cid][1]):
            best[cid] = (ComplaintMatch(cid, rules.complaints[cid].title, round(s, 1), phrase), exact)
    order = sorted(best.values(), key=lambda m: (-m[0].score, not m[1], m[0].id))
    ranked = [m for m, _ in order][:limit]
    if not ranked:
        return None, []
    second = ranked[1].score if len(ranked) > 1 else 0.0
    # the caller's words are exactly one complaint's phrase, and no other complaint's
    exact_only = order[0][1] and not (len(order) > 1 and order[1][1])
    if exact_only or (ranked[0].score >= CONFIDENT_SCORE and ranked[0].score - second >= CLEAR_LEAD):
        return ranked[0], ranked
    return None, ranked
