"""Match a caller's free-text complaint to the rule set's complaints by whole words, with rapidfuzz for typos."""
from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
from rapidfuzz import fuzz, process

from triage.model import RuleSet

CONFIDENT_SCORE = 86.0
CLEAR_LEAD = 6.0

# A phrase whose every meaningful word is in the caller's words scores CONTAINED, less a little per
# missing filler word and per misspelt word; a partly covered phrase scores at most PARTIAL_MAX,
# below CONFIDENT_SCORE, so it can only rank candidates.
CONTAINED = 97.0
PARTIAL_MAX = 80.0
APART = 85.0              # every word of a phrase, but not said as that phrase: just below CONFIDENT_SCORE
MISSING_FILLER = 1.0      # a phrase's filler word the caller did not say ("pain in chest" for "pain in my chest")
WHOLE_TYPO = 85.0         # whole-text similarity this high is a misspelling or spacing ("nose bleed")
SHORT_PHRASE = 3          # phrases this short ("od", "af", "uti", "d&v") match only as whole words
STEMMED = 95.0            # an inflected form ("hitting") stands for its known word ("hit") at this similarity
FUZZY_WORD = 80.0         # a misspelt word ("throte") stands for a known one at this similarity

# Lay spellings folded before matching, so "cant breath" meets "can't breathe".
_FOLD = [
    (r"\bcan'?t\b|\bcannot\b|\bcnt\b", "cant"), (r"\bwon'?t\b", "wont"), (r"\bbreath\b", "breathe"),
    (r"\bbreathin\b", "breathing"), (r"\b(does|do|did|is|was|has|have|are|were|would|could)n'?t\b", r"\1nt"),
    (r"\bi'?ve\b", "ive"), (r"\bi'?m\b", "im"), (r"\bswelled( up)?\b", "swollen"),
    # "a cold" / "the cold" is the illness; a bare "cold" ("my leg is cold", "cold and white") is a finding,
    # often a cold limb (ischaemia), and must not match the common cold
    (r"\b(a|the) (cold|colds)\b", "common cold"),
    # "she's breathing fine": a statement that breathing is normal names no breathing problem
    (r"\bbreathing ?(is |s |seems |looks )?(fine|ok|okay|alright|all right|normal|normally)\b", " "),
    (r"\bhes\b|\bhe'?s\b|\bshes\b|\bshe'?s\b", "person"), (r"\bmum\b|\bdad\b|\bnan\b|\bgrandad\b", "person"),
    # a gestation said first ("36 weeks and bleeding", "at 30 wks") is a pregnancy
    (r"^(person |im |i am |at )?([4-9]|[1-3][0-9]|4[0-2]) ?(weeks?|wks?)\b(?! old| ago| of| pregnant)",
     r"\1\2 weeks pregnant"),
    (r"\b(in|from|out in) the sun\b", r"\1 the sun burn"),  # "blistering from the sun" may be sunburn
    (r"[^a-z0-9 ]+", " "), (r"\s+", " "),
]

# Filler words: they neither make a phrase match nor stop it matching (a missing one costs a point).
# Negations ("not", "no", "cant", "wont") are NOT filler: they change the meaning.
_FILLER = frozenset("""
a an the my me i im ive his her him he she person they their our your its it s in on of and or to with at
for from by got has have had been be is am are was were very really so just quite all
this that these there some today now since after when then but as if while because also
""".split())

# Words that on their own say something is wrong but not what: callers' words made only of these
# (and filler) never give a confident match, whatever the rule files' synonyms say.
_VAGUE = frozenset("""
pain pains painful sore sores hurt hurts hurting ache aches aching achy weak weakness unwell ill poorly
help please badly bad rough awful terrible rubbish funny wrong right well good not feel feels feeling
swollen swelling bleeding emergency urgent problem problems something
gone going went come came keeps keep get getting
""".split())

_NEGATION = frozenset("not no cant wont dont doesnt didnt isnt never".split())

# Context complaints and the plain symptoms their pathway's own questions already cover (read from
# the rule files' questions, e.g. pregnancy_problems asks about headache, vomiting, tummy pain,
# bleeding and fever). When the caller's words match a context complaint and only symptoms it
# covers ("pregnant and being sick", "copd and breathless"), the context complaint is the confident
# match and the symptoms stay among the candidates. Hand-maintained data: add a pair only when the
# context pathway really asks about that symptom's red flags.
CONTEXT_COVERS: dict[str, frozenset[str]] = {
    "pregnancy_problems": frozenset({
        "diarrhoea_vomiting", "abdominal_pain", "headache", "fever_adult", "leg_swelling",
        "bleeding_wound", "fainting_collapse", "breathing_difficulty", "seizure", "mental_health_crisis",
        "urinary_symptoms"}),
    "copd_breathlessness": frozenset({"breathing_difficulty", "cough", "leg_swelling", "confusion"}),
    "diabetes": frozenset({"diarrhoea_vomiting", "abdominal_pain", "abdominal_pain_child", "confusion"}),
    "catheter_problems": frozenset({
        "urinary_symptoms", "fever_adult", "confusion", "abdominal_pain", "back_pain", "bleeding_wound"}),
    "self_harm": frozenset({"bleeding_wound", "burns_scalds", "mental_health_crisis", "limb_injury"}),
    "repeat_medication": frozenset({"diabetes", "seizure"}),
    "allergic_reaction": frozenset({"bites_stings"}),
    "seizure": frozenset({"fever_child", "fever_adult"}),
    "chest_pain": frozenset({"diarrhoea_vomiting"}),  # asks about being sick with the pain
}


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


@dataclass(frozen=True)
class _Phrase:
    text: str                   # folded
    owner: str                  # complaint id
    original: str               # as written in the rule file
    words: tuple[str, ...]
    content: tuple[str, ...]    # meaningful words in order (all words if none says what is wrong)
    filler: frozenset[str]
    short: bool


@dataclass
class _Index:
    rules: RuleSet
    texts: list[str]
    phrases: list[_Phrase]
    by_word: dict[str, list[int]]   # meaningful word -> phrases (not short ones) holding it
    short: list[int]
    vocab: list[str]                # meaningful words long enough to be misspelt
    urgency: dict[str, int]         # complaint -> its most urgent default outcome (lower is sooner)


_INDEX: dict[int, _Index] = {}


def _index(rules: RuleSet) -> _Index:
    cached = _INDEX.get(id(rules))
    if cached and cached.rules is rules:
        return cached
    phrases: list[_Phrase] = []
    for c in rules.complaints.values():
        for original in (c.title, c.id.replace("_", " "), *c.synonyms):
            text = fold(original)
            if not text:
                continue
            words = tuple(text.split())
            content = tuple(dict.fromkeys(w for w in words if w not in _FILLER))
            if set(content) <= _VAGUE:  # "not with it": the filler words carry the meaning
                content = tuple(dict.fromkeys(words))
            phrases.append(_Phrase(text, c.id, original, words, content, frozenset(words) - set(content),
                                   len(text) <= SHORT_PHRASE))
    by_word: dict[str, list[int]] = {}
    for i, p in enumerate(phrases):
        if not p.short:
            for w in p.content:
                by_word.setdefault(w, []).append(i)
    vocab = sorted(w for w in by_word if len(w) >= 4)
    urgency = {c.id: min((rules.dispositions[d.disposition].urgency for d in c.defaults
                          if d.disposition in rules.dispositions), default=99)
               for c in rules.complaints.values()}
    idx = _Index(rules, [p.text for p in phrases], phrases, by_word,
                 [i for i, p in enumerate(phrases) if p.short], vocab, urgency)
    if len(_INDEX) >= 8:  # rule sets reloaded by the admin: do not keep every old one alive
        _INDEX.clear()
    _INDEX[id(rules)] = idx
    return idx


def _stem(word: str, idx: _Index) -> str | None:
    """A known word this unknown one is an inflection of, if any."""
    for suffix in ("ing", "ed", "es", "s"):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            base = word[: -len(suffix)]
            for cand in (base, base + "e", base[:-1] if len(base) > 3 and base[-1] == base[-2] else ""):
                if cand and cand in idx.by_word:
                    return cand
    return None


def _word_matches(words: list[str], idx: _Index) -> dict[str, tuple[float, tuple[int, ...]]]:
    """Known word -> (similarity, positions of the caller's words it stands for)."""
    out: dict[str, tuple[float, tuple[int, ...]]] = {}
    for pos, w in enumerate(words):
        if w in _FILLER:
            continue
        if w in idx.by_word:
            out.setdefault(w, (100.0, (pos,)))
        elif (stem := _stem(w, idx)) is not None:  # unknown "vomitted" for "vomit"; known words keep
            # their own sense ("burning" is not "burn")
            out.setdefault(stem, (STEMMED, (pos,)))
        elif len(w) >= 5:  # a word we do not know, long enough to tell a misspelling from another word
            for known, sim, _ in process.extract(w, idx.vocab, scorer=fuzz.ratio, score_cutoff=FUZZY_WORD,
                                                 limit=5):
                # same first letter: "crash" must not stand for "rash"
                if known != w and known[0] == w[0] and sim > out.get(known, (0.0, ()))[0]:
                    out[known] = (sim, (pos,))
        # two words written as one in the rules ("tummy ache" for "tummyache", "nose bleed")
        if pos + 1 < len(words) and (joined := w + words[pos + 1]) in idx.by_word:
            out.setdefault(joined, (100.0, (pos, pos + 1)))
    return out


def _applies(c, age: float | None, sex: str | None) -> bool:
    if age is not None and ((c.min_age is not None and age < c.min_age) or (c.max_age is not None and age > c.max_age)):
        return False
    return not (c.sex and sex in ("female", "male") and sex != c.sex)


@dataclass
class _Best:
    score: float
    exact: bool
    covered: frozenset[int]     # positions of the caller's words the phrase accounts for
    ordered: bool               # the phrase's words came in the phrase's own order
    phrase: _Phrase


def _scores(query: str, idx: _Index) -> dict[int, tuple[float, frozenset[int], bool]]:
    """Phrase index -> (score, caller's word positions it covers, said in order), for phrases worth ranking."""
    words = query.split()
    out: dict[int, tuple[float, frozenset[int], bool]] = {}
    # whole-text similarity catches typos in short texts ("sore throte") and reordered words
    whole = np.maximum(process.cdist([query], idx.texts, scorer=fuzz.ratio)[0],
                       process.cdist([query], idx.texts, scorer=fuzz.token_sort_ratio)[0] * 0.95)
    # below a near-miss spelling it is letters in common, not meaning ("pain" and "sprain")
    whole = np.where(whole >= WHOLE_TYPO, whole, whole * 0.6)
    for i in np.nonzero(whole >= 40)[0]:
        if not idx.phrases[i].short:
            out[int(i)] = (float(whole[i]), frozenset(), True)
    # short phrases: the caller's words must hold them as whole words, in order
    padded = f" {query} "
    for i in idx.short:
        p = idx.phrases[i]
        at = padded.find(f" {p.text} ")
        if at >= 0:
            start = padded[:at].count(" ")
            out[i] = (CONTAINED, frozenset(range(start, start + len(p.words))), True)
    # longer phrases: how many of their meaningful words the caller used (misspelt ones count less)
    known = _word_matches(words, idx)
    touched: set[int] = set()
    for w in known:
        touched.update(idx.by_word[w])
    wordset = set(words)
    said = sum(_weight(w) for w in wordset if w not in _FILLER) or 1.0
    for i in touched:
        p = idx.phrases[i]
        got = [known[w] for w in p.content if w in known]
        if len(got) == len(p.content):
            penalty = sum(0.25 * (100.0 - sim) + 2.0 for sim, _ in got if sim < 100.0)
            penalty += sum(MISSING_FILLER for w in p.filler if w not in wordset)
            s = CONTAINED - penalty
            if not _together(p, got, words):
                s = min(s, APART)
        else:
            # half for how much of the phrase the caller said, half for how much of the caller's words
            # it explains, telling words counting more than "hurts" or "cant"
            hit = sum(sim / 100.0 * _weight(words[at[0]]) for sim, at in got)
            s = PARTIAL_MAX / 2.0 * (hit / sum(_weight(w) for w in p.content) + hit / said)
        covered = frozenset(q for _, at in got for q in at if words[q] not in _VAGUE)
        if s >= out.get(i, (0.0,))[0]:
            out[i] = (s, covered, _in_order(got))
    return out


def _together(p: _Phrase, got: list[tuple[float, tuple[int, ...]]], words: list[str]) -> bool:
    """Whether the caller said a phrase's telling words as a phrase: in its order, or reordered
    only around filler ("arm is broken" for "broken arm"), not scattered ("hot swollen red" is
    not "red hot")."""
    at = [q for (_, pos), w in zip(got, p.content) if w not in _VAGUE for q in pos[:1]]
    if len(at) < 2:
        return True
    if at == sorted(at):
        return True
    between = set(range(min(at), max(at) + 1)) - set(at)
    return all(words[q] in _FILLER for q in between)


def _in_order(got: list[tuple[float, tuple[int, ...]]]) -> bool:
    at = [pos[0] for _, pos in got]
    return at == sorted(at)


def _weight(word: str) -> float:
    """How much a word says about what is wrong: "hurts" and "cant" little, "filling" a lot."""
    return 0.3 if word in _VAGUE or word in _NEGATION else 1.0


def _is_vague(query: str) -> bool:
    return all(w in _VAGUE or w in _FILLER for w in query.split())


def _resolve(tier: list[_Best]) -> _Best | None:
    """The complaint clearly meant among those that all matched the caller's words well, if any.

    The longest reading wins: a complaint whose phrase, said in its own order, accounts for every
    telling word another's does and more ("tooth abscess" over "abscess", "boiling hot" over "boiling"). Then a context
    complaint beats the symptoms its pathway covers (CONTEXT_COVERS)."""
    if len(tier) == 1:
        return tier[0]
    keep = [b for b in tier if not any(a is not b and a.ordered and b.covered and b.covered < a.covered
                                       for a in tier)]
    if len(keep) == 1:
        return keep[0]
    ids = {b.phrase.owner for b in keep}
    for b in keep:
        if ids - {b.phrase.owner} <= CONTEXT_COVERS.get(b.phrase.owner, frozenset()):
            return b
    return None


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
    idx = _index(rules)
    best: dict[str, _Best] = {}
    for i, (score, covered, ordered) in _scores(query, idx).items():
        p = idx.phrases[i]
        if not _applies(rules.complaints[p.owner], age, sex):
            continue
        exact = query == p.text
        s = round(min(100.0, score + (4.0 if exact else 0.0)), 1)
        b = best.get(p.owner)
        if b is None or (s, exact, len(covered)) > (b.score, b.exact, len(b.covered)):
            best[p.owner] = _Best(s, exact, covered, ordered, p)
    if not best:
        return None, []
    # equal scores: the more urgent complaint first (judged by the outcome its pathway gives when no
    # red flag is found: chest pain's "clinician within 1 hour" before vomiting's "within 12 hours"),
    # then the phrase accounting for more of the caller's words, then context complaints
    order = sorted(best.values(), key=lambda b: (-b.score, not b.exact, idx.urgency[b.phrase.owner],
                                                 -len(b.covered), b.phrase.owner not in CONTEXT_COVERS,
                                                 b.phrase.owner))
    top = order[0]
    confident = top.exact and not (len(order) > 1 and order[1].exact)
    if not confident and top.score >= CONFIDENT_SCORE:
        tier = [b for b in order if b.score >= max(CONFIDENT_SCORE, top.score - CLEAR_LEAD)]
        meant = _resolve(tier)
        if meant is not None:
            confident = True
            if meant is not top:  # shown first, with the tier's best score
                order.remove(meant)
                order.insert(0, _Best(top.score, meant.exact, meant.covered, meant.ordered, meant.phrase))
    # vague words alone ("pain", "feeling unwell") are never enough; a rule file's own
    # several-word phrase typed exactly ("bleeding badly") still is
    if _is_vague(query) and not (top.exact and order[0] is top and " " in query):
        confident = False
    ranked = [ComplaintMatch(b.phrase.owner, rules.complaints[b.phrase.owner].title, b.score,
                             b.phrase.original) for b in order[:limit]]
    # candidates keep the score order except where a tie was resolved
    return (ranked[0] if confident else None), ranked


_SEVERAL = re.compile(r"\s*(?:[,;+&/]|\band\b|\bor\b|\bwith\b|\bplus\b|\balso\b|\bas well as\b|\bafter\b|\bthen\b)\s*",
                      re.IGNORECASE)
TIE_MARGIN = 10.0  # candidates this close to the best score are offered together when the words tie


def match_complaints(text: str, rules: RuleSet, *, limit: int = 5, age: float | None = None,
                     sex: str | None = None) -> tuple[list[ComplaintMatch], list[ComplaintMatch]]:
    """Every complaint the caller's words name with confidence, and the ranked candidates.

    A call naming several things ("cough and fever", "fell and hit her head") is matched part by
    part as well as whole, so each named complaint's danger signs are asked; an empty first list
    means the words tie and the candidates must be offered (or sent all together)."""
    match, candidates = match_complaint(text, rules, limit=limit, age=age, sex=sex)
    found = [match] if match is not None else []
    if match is not None and (fold(match.matched) == fold(text or "") or match.id == (text or "").strip()):
        return found, candidates  # one of a rule file's own phrases, word for word
    parts = [p for p in _SEVERAL.split(text or "") if p and p.strip()]
    if len(parts) > 1:
        for part in parts:
            m, part_candidates = match_complaint(part, rules, limit=limit, age=age, sex=sex)
            # a part that clearly names something but ties between pathways ("his eye's swollen shut":
            # eye problem or allergic reaction) brings every tied pathway, so none of its danger signs
            # goes unasked because another part of the call matched confidently
            named = [m] if m is not None else [c for c in tied(part_candidates, most=3) if c.score >= CONFIDENT_SCORE]
            for c in named:
                if all(c.id != f.id for f in found):
                    found.append(c)
    return found, candidates


def tied(candidates: list[ComplaintMatch], *, most: int = 4) -> list[ComplaintMatch]:
    """The candidates close enough to the best that a handler could not choose between them safely."""
    if not candidates:
        return []
    top = candidates[0].score
    return [c for c in candidates if c.score >= top - TIE_MARGIN][:most]
