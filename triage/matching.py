"""Match a caller's free-text complaint to the rule set's complaints with rapidfuzz."""
from __future__ import annotations

import re
from dataclasses import dataclass

from rapidfuzz import fuzz, process

from triage.model import RuleSet

CONFIDENT_SCORE = 86.0
CLEAR_LEAD = 6.0
DOMINANT_SCORE, DOMINANT_LEAD = 75.0, 15.0  # a lower score is enough with no rival near it

# Lay spellings folded before matching, so "cant breath" meets "can't breathe".
_FOLD = [
    (r"\bcan'?t\b|\bcannot\b|\bcnt\b", "cant"), (r"\bwon'?t\b", "wont"), (r"\bbreath\b", "breathe"),
    (r"\bbreathin\b", "breathing"), (r"\bdoesn'?t\b", "doesnt"), (r"\bi'?ve\b", "ive"),
    (r"\bfell\b|\bfallen\b|\bfalling\b|\bfalls\b", "fall"),
    (r"\bhes\b|\bhe'?s\b|\bshes\b|\bshe'?s\b", "person"), (r"\bmum\b|\bdad\b|\bnan\b|\bgrandad\b", "person"),
    (r"[^a-z0-9 ]+", " "), (r"\s+", " "),
]


def fold(text: str) -> str:
    t = text.lower().replace("’", "'")
    for rx, rep in _FOLD:
        t = re.sub(rx, rep, t)
    return t.strip()


# Words that carry no clue to the complaint: dropped so "pain in my chest" and "my mum has
# fallen" are compared on their content words, not on "in", "my" and "has".
STOP_WORDS = frozenset("""
a an the my his her their our your its me him them us i im id ive he she they we you it
is are was were be been being am has have had having do does did done got get gets getting
to of in on at by for from with into onto about than then and or but so if as just really very
bit little lot quite some any this that these those there here what when where which who how
think thinks feel feels feeling felt keep keeps kept person people
killing agony terrible awful bad badly horrible severe severely loads
""".split())
_BOOST_PER_WORD = 5.0
_BOOST_MAX = 10.0


def _content(text: str) -> str:
    words = fold(text).split()
    kept = [w for w in words if w not in STOP_WORDS]
    # "not with it" is all stop words but "not": keep such short phrases whole
    return " ".join(kept if len("".join(kept)) >= 4 else words)


@dataclass(frozen=True)
class ComplaintMatch:
    id: str
    title: str
    score: float
    matched: str


@dataclass(frozen=True)
class _Index:
    rules: RuleSet
    texts: list[str]                      # content words of every title, id and synonym
    owners: list[tuple[str, str]]         # (complaint id, phrase as written)
    words: dict[str, dict[str, int]]      # content word -> {complaint id: phrases using it}


_INDEX: dict[int, _Index] = {}


def _index(rules: RuleSet) -> _Index:
    cached = _INDEX.get(id(rules))
    if cached and cached.rules is rules:
        return cached
    texts, owners = [], []
    words: dict[str, dict[str, int]] = {}
    for c in rules.complaints.values():
        for phrase in (c.title, c.id.replace("_", " "), *c.synonyms):
            content = _content(phrase)
            texts.append(content)
            owners.append((c.id, phrase))
            for w in set(content.split()):
                if len(w) >= 3:
                    words.setdefault(w, {})
                    words[w][c.id] = words[w].get(c.id, 0) + 1
    index = _Index(rules, texts, owners, words)
    _INDEX[id(rules)] = index
    return index


def _scorer(query: str, choice: str, **kwargs) -> float:
    # token_set handles extra words ("dad fell over cant get up"), ratio and token_sort handle
    # typos and word order. Not WRatio: its partial token-set part scores any one shared word
    # ("hurt") at 85.5, so every vague phrase looked like a near match.
    return max(fuzz.ratio(query, choice), fuzz.token_sort_ratio(query, choice),
               fuzz.token_set_ratio(query, choice) * 0.97)


def _boosts(query: str, index: _Index) -> dict[str, float]:
    """A bonus for each content word of the query (typos allowed) that belongs mostly to one
    complaint's phrases: "throat", "knee", "fell" say more than a fuzzy match on the whole text."""
    boost: dict[str, float] = {}
    vocab = list(index.words)
    for w in set(query.split()):
        if len(w) < 3:
            continue
        hit = process.extractOne(w, vocab, scorer=fuzz.ratio, score_cutoff=85 if len(w) >= 5 else 100)
        if not hit:
            continue
        uses = index.words[hit[0]]
        total = sum(uses.values())
        for cid, n in uses.items():
            if n / total > 0.5:
                boost[cid] = min(_BOOST_MAX, boost.get(cid, 0.0) + _BOOST_PER_WORD * n / total)
    return boost


def _eligible(rules: RuleSet, cid: str, age: float | None, sex: str | None) -> bool:
    c = rules.complaints[cid]
    if age is not None and ((c.min_age is not None and age < c.min_age) or
                            (c.max_age is not None and age > c.max_age)):
        return False
    return not (sex in ("female", "male") and c.sex and c.sex != sex)


def match_complaint(text: str, rules: RuleSet, *, limit: int = 5, age: float | None = None,
                    sex: str | None = None) -> tuple[ComplaintMatch | None, list[ComplaintMatch]]:
    """Return (confident match or None, ranked candidates, one per complaint).

    Give `age` (and `sex`) when known to leave out complaints that do not apply, e.g. the adult
    and child versions of the same complaint; the text alone cannot tell those apart.
    """
    raw = (text or "").strip()
    if raw in rules.complaints:
        c = rules.complaints[raw]
        m = ComplaintMatch(c.id, c.title, 100.0, raw)
        return m, [m]
    query = _content(raw)
    if not query:
        return None, []
    index = _index(rules)
    hits = process.extract(query, index.texts, scorer=_scorer, limit=len(index.texts), score_cutoff=40)
    boosts = _boosts(query, index)
    best: dict[str, tuple[float, bool, str, str]] = {}
    for _, score, idx in hits:
        cid, phrase = index.owners[idx]
        if not _eligible(rules, cid, age, sex):
            continue
        exact = query == index.texts[idx]
        s = (100.0 if exact else min(99.0, score + boosts.get(cid, 0.0)))
        if cid not in best or (s, exact) > best[cid][:2]:
            best[cid] = (s, exact, phrase, index.texts[idx])
    order = sorted(best.items(), key=lambda kv: (-kv[1][0], not kv[1][1], kv[0]))
    ranked = [ComplaintMatch(cid, rules.complaints[cid].title, round(s, 1), phrase)
              for cid, (s, _, phrase, _) in order][:limit]
    if not ranked:
        return None, []
    top_exact = order[0][1][1]
    second = ranked[1].score if len(ranked) > 1 else 0.0
    second_exact = len(order) > 1 and order[1][1][1]
    title_words = _content(rules.complaints[ranked[0].id].title).split()
    if " " not in query and not top_exact and fuzz.ratio(query, order[0][1][3]) < 85 and not any(
            fuzz.ratio(query, w) >= 85 for w in title_words):
        return None, ranked  # one word found inside a longer phrase ("unwell"): ask, do not guess
    if (top_exact and not second_exact) or (
            ranked[0].score >= CONFIDENT_SCORE and ranked[0].score - second >= CLEAR_LEAD) or (
            ranked[0].score >= DOMINANT_SCORE and ranked[0].score - second >= DOMINANT_LEAD):
        return ranked[0], ranked
    return None, ranked
