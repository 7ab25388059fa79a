"""Sensitivity of the triage outcome to "not sure" answers and to the complaint the handler picks, over every vignette.

    python -m bench.sensitivity [--set blind2] [--before 6e7bfac] [--quiet]

Every vignette in tests/vignettes/ is played as tests/test_vignettes.py plays it (its answers, other yes/no
questions "no", a vital-sign number question from its vitals or "unknown"), then re-played:
  (b) with "unknown" (not sure) for each yes/no question it answered or that was asked, one at a time;
  (c) through each of its complaints alone, and through each complaint the matcher finds or ties on the
      caller's words (found/tied by triage.matching) alone and together with the vignette's own.
A variant that meets a choice or number question the vignette has no fact for answers it "unknown".
Every under-triage (an outcome less urgent than the vignette's `at_most`) is listed with the rules that fired; a
variant that repeats its vignette's as-written miss is counted but listed once (as written). "of which new":
variant under-triages of vignettes that are safe as written.
Totals per file: under-triage, safe band (at_most..at_least and an accepted class) and exact (`exact`, or one of
`codes`) for the vignettes as written, and the variants' under-triage.

--before REV plays the same vignettes on the engine and rules of commit REV (a detached git worktree under
/tmp, run in a child process): a multi-complaint vignette through its first complaint that REV knows (a handler
had to pick one), "unknown" answered "no" (the forced guess), answers REV does not know dropped; its variants
flip each answered "yes" to "no" (the other guess) and take each complaint alone.
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import yaml

ROOT = Path(__file__).resolve().parent.parent
VIGNETTE_DIR = ROOT / "tests" / "vignettes"

Play = Callable[[tuple[str, ...], float, str, dict[str, Any], dict[str, Any]], "Result"]


@dataclass
class Result:
    code: str | None                      # disposition code, or None if the case could not be played
    asked: list[str] = field(default_factory=list)   # yes/no questions asked and answered "no" by default
    reasons: str = ""
    error: str = ""


def load_vignettes(only: str | None = None) -> list[dict]:
    out = []
    for path in sorted(VIGNETTE_DIR.glob("*.yaml")):
        if only and path.stem != only:
            continue
        for v in yaml.safe_load(path.read_text(encoding="utf-8"))["vignettes"]:
            v["_set"] = path.stem
            out.append(v)
    return out


def complaints_of(v: dict) -> tuple[str, ...]:
    return tuple(v.get("complaints") or [v["complaint"]])


def _norm(val: Any) -> Any:
    return "yes" if val is True else "no" if val is False else val


# --- the engine of this checkout -----------------------------------------------------------------------------

def current_player() -> tuple[Play, Any]:
    from triage import load_rules
    from triage.engine import CaseError, Engine
    from triage.model import Case, Outcome

    rules = load_rules()
    engine = Engine(rules)

    def play(complaints, age, sex, answers, vitals, *, variant: bool = False) -> Result:
        answers = {k: _norm(v) for k, v in answers.items()}
        asked: list[str] = []
        try:
            for _ in range(300):
                r = engine.evaluate(Case(age=age, sex=sex, answers=answers, vitals=vitals, complaints=complaints))
                if isinstance(r, Outcome):
                    reasons = "; ".join(f"{x.rule}: {x.disposition}" for x in r.reasons)
                    return Result(r.disposition.code, asked, reasons)
                if r.type == "number" and r.vital:
                    answers[r.id] = vitals.get(r.vital, "unknown")
                elif r.type == "yes_no":
                    answers[r.id] = "no"
                    asked.append(r.id)
                elif variant:  # a choice or number the vignette has no fact for: the caller is not sure
                    answers[r.id] = "unknown"
                else:
                    return Result(None, asked, error=f"{r.type} question {r.id} not answered")
            return Result(None, asked, error="kept asking")
        except CaseError as e:
            return Result(None, asked, error=f"case error {e}")

    return play, rules


# --- the engine of an earlier commit, in a child process -----------------------------------------------------

_CHILD = r'''
import json, sys
from triage import load_rules
from triage.engine import Engine
from triage.model import Case, Outcome
R = load_rules(); E = Engine(R)
qs = {q.id: q for q in R.general_questions}
for c in R.complaints.values():
    for q in c.questions:
        qs.setdefault(q.id, q)
print(json.dumps({"complaints": {c.id: [q.id for q in c.questions] for c in R.complaints.values()},
                  "general": [q.id for q in R.general_questions],
                  "questions": {k: q.type for k, q in qs.items()},
                  "options": {k: [o.id for o in q.options] for k, q in qs.items()}}), flush=True)
for line in sys.stdin:
    req = json.loads(line)
    answers, asked, out = dict(req["answers"]), [], None
    try:
        for _ in range(300):
            r = E.evaluate(Case(req["complaint"], req["age"], req["sex"], answers, req["vitals"]))
            if isinstance(r, Outcome):
                out = {"code": r.disposition.code, "asked": asked,
                       "reasons": "; ".join(f"{x.rule}: {x.disposition}" for x in r.reasons)}
                break
            if r.type == "yes_no":
                answers[r.id] = "no"; asked.append(r.id)
            else:
                out = {"code": None, "asked": asked, "error": f"{r.type} question {r.id} not answered"}; break
    except Exception as e:  # an old engine's validation error: report, keep going
        out = {"code": None, "asked": asked, "error": f"{type(e).__name__}: {e}"}
    print(json.dumps(out or {"code": None, "asked": asked, "error": "kept asking"}), flush=True)
'''


def before_player(rev: str) -> tuple[Play, set[str]]:
    """A player for the engine and rules of commit `rev` (worktree under /tmp, child process)."""
    sha = subprocess.run(["git", "rev-parse", "--short", rev], cwd=ROOT, capture_output=True, text=True,
                         check=True).stdout.strip()
    wt = Path(f"/tmp/uec-before-{sha}")
    if not (wt / "triage").is_dir():
        subprocess.run(["git", "worktree", "add", "--detach", str(wt), sha], cwd=ROOT, check=True,
                       capture_output=True)
    proc = subprocess.Popen([sys.executable, "-c", _CHILD], cwd=wt, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            text=True, env={"PYTHONPATH": str(wt), "PATH": "/usr/bin:/bin"})
    meta = json.loads(proc.stdout.readline())
    known_c, qtypes, options = set(meta["complaints"]), meta["questions"], meta["options"]
    own = {c: set(q) | set(meta["general"]) for c, q in meta["complaints"].items()}

    def play(complaints, age, sex, answers, vitals, *, variant: bool = False) -> Result:
        pick = next((c for c in complaints if c in known_c), None)
        if pick is None:
            return Result(None, error=f"no complaint of {list(complaints)} exists at {sha}")
        old = {}
        for k, v in answers.items():
            v = _norm(v)
            if k not in own[pick]:  # another complaint's question: not asked in the picked pathway
                continue
            if qtypes[k] == "yes_no" and v not in ("yes", "no"):
                v = "no"  # no "not sure" before issue 10: the forced guess
            if qtypes[k] == "choice" and v not in options[k]:
                continue
            if qtypes[k] == "number" and not isinstance(v, (int, float)):
                continue
            old[k] = v
        vit = {k: v for k, v in vitals.items()}
        proc.stdin.write(json.dumps({"complaint": pick, "age": age, "sex": sex, "answers": old,
                                     "vitals": vit}) + "\n")
        proc.stdin.flush()
        r = json.loads(proc.stdout.readline())
        return Result(r["code"], r.get("asked", []), r.get("reasons", ""), r.get("error", ""))

    return play, known_c


# --- variants and judging ------------------------------------------------------------------------------------

def matched_complaints(v: dict, rules) -> list[str]:
    """Complaints the matcher finds or ties on the caller's words (the story up to any 'Not sure:' note)."""
    from triage.matching import match_complaints, tied
    text = v.get("story", "").split(" Not sure:")[0]
    p = v["patient"]
    found, candidates = match_complaints(text, rules, age=p["age"], sex=p["sex"])
    ids = [m.id for m in found] + [m.id for m in (tied(candidates) if not found else [])]
    return list(dict.fromkeys(ids))


def variants(v: dict, base: Result, *, before: bool, extra: list[str]) -> list[tuple[str, tuple, dict, str]]:
    """(label, complaints, answers, kind) for each variant: kind guess (not sure / other guess), alone (one of
    the vignette's complaints alone) or tied (a complaint only the matcher found or tied on the words)."""
    comps = complaints_of(v)
    answers = {k: _norm(x) for k, x in (v.get("answers") or {}).items()}
    out = []
    judged = [k for k, x in answers.items() if x in ("yes", "no", "unknown")] + \
        [q for q in base.asked if q not in answers]
    for q in dict.fromkeys(judged):
        a = dict(answers)
        if before:  # no "not sure" before: the other forced guess of an answered yes
            if a.get(q) != "yes":
                continue
            a[q] = "no"
            out.append((f"{q}=no", comps, a, "guess"))
        else:
            if a.get(q) == "unknown":
                continue
            a[q] = "unknown"
            out.append((f"{q}=unknown", comps, a, "guess"))
    alone = list(comps) + [c for c in extra if c not in comps]
    if len(alone) > 1:
        for c in alone:
            kind = "alone" if c in comps else "tied"
            out.append((f"{kind}:{c}", (c,), answers, kind))
    if not before and any(c not in comps for c in extra):
        out.append(("all:" + "+".join(alone), tuple(alone), answers, "together"))
    return out


def urgency_of(rules) -> dict[str, int]:
    return {code: d.urgency for code, d in rules.dispositions.items()}


def judge(v: dict, code: str | None, urg: dict[str, int], cls: dict[str, str]) -> dict[str, bool]:
    exp = v["expect"]
    if code is None:
        return {"under": False, "safe": False, "exact": False, "error": True}
    under = bool(exp.get("at_most")) and urg[code] > urg[exp["at_most"]]
    over = bool(exp.get("at_least")) and urg[code] < urg[exp["at_least"]]
    classes = exp["class"] if isinstance(exp["class"], list) else [exp["class"]]
    if exp.get("exact"):
        exact = code == exp["exact"]
    elif exp.get("codes"):
        exact = code in exp["codes"]
    else:
        exact = None
    return {"under": under, "safe": not under and not over and cls[code] in classes, "exact": exact,
            "error": False}


def run(play: Play, vs: list[dict], *, rules, before: bool, quiet: bool, label: str) -> dict[str, dict]:
    urg, cls = urgency_of(rules), {c: d.cls for c, d in rules.dispositions.items()}
    stats: dict[str, dict] = defaultdict(lambda: defaultdict(int))
    misses: list[str] = []
    for v in vs:
        p, vit = v["patient"], v.get("vitals") or {}
        s = stats[v["_set"]]
        base = play(complaints_of(v), p["age"], p["sex"], v.get("answers") or {}, vit)
        j = judge(v, base.code, urg, cls)
        s["n"] += 1
        s["error"] += j["error"]
        s["under"] += j["under"]
        s["safe"] += j["safe"]
        if j["exact"] is not None:
            s["exact_n"] += 1
            s["exact"] += bool(j["exact"])
        if j["under"]:
            misses.append(f"{v['_set']} {v['id']} as written: {base.code} < at_most {v['expect']['at_most']}"
                          f"  [{base.reasons}]")
        if base.code is None:
            misses.append(f"{v['_set']} {v['id']} not played: {base.error}")
            continue
        extra = [] if before else matched_complaints(v, rules)
        for name, comps, answers, kind in variants(v, base, before=before, extra=extra):
            r = play(comps, p["age"], p["sex"], answers, vit, variant=True)
            if r.code is None:
                s["var_error"] += 1
                continue
            s[f"{kind}_n"] += 1
            if urg[r.code] > urg[v["expect"]["at_most"]] if v["expect"].get("at_most") else False:
                s[f"{kind}_under"] += 1
                if j["under"]:  # the as-written miss again: listed once, above
                    continue
                s[f"{kind}_new"] += 1
                misses.append(f"{v['_set']} {v['id']} {name}: {r.code} < at_most {v['expect']['at_most']}"
                              f" (as written {base.code})  [{r.reasons}]")
    if not quiet:
        print(f"\n## Under-triage found ({label})")
        for m in misses:
            print("-", m)
    return stats


def table(stats: dict[str, dict], label: str) -> None:
    print(f"\n## {label}\n")
    print("| set | vignettes | under-triage | safe band | exact | not-sure/other-guess variants: under (new) "
          "| each complaint alone: under (new) | matcher ties alone: under (new) | all together: under (new) "
          "| not played |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    tot: dict[str, int] = defaultdict(int)
    for name in sorted(stats):
        s = stats[name]
        for k, x in s.items():
            tot[k] += x
        print(_row(name, s))
    print(_row("**all**", tot))


def _row(name: str, s) -> str:
    n = s["n"] or 1
    ex = f"{100 * s['exact'] / s['exact_n']:.0f}% of {s['exact_n']}" if s["exact_n"] else "n/a"
    def var(kind: str) -> str:
        m = s[f"{kind}_n"]
        return f"{s[f'{kind}_under']}/{m} ({100 * s[f'{kind}_under'] / (m or 1):.1f}%) ({s[f'{kind}_new']})" if m \
            else "-"
    return (f"| {name} | {s['n']} | {s['under']} ({100 * s['under'] / n:.1f}%) | {100 * s['safe'] / n:.0f}% | {ex} "
            f"| {var('guess')} | {var('alone')} | {var('tied')} | {var('together')} | {s['error'] + s['var_error']} |")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--set", help="only this vignette file (stem), e.g. blind2")
    ap.add_argument("--before", metavar="REV", help="also play the vignettes on the engine and rules of REV")
    ap.add_argument("--quiet", action="store_true", help="totals only, no list of under-triages")
    args = ap.parse_args(argv)
    vs = load_vignettes(args.set)
    play, rules = current_player()
    after = run(play, vs, rules=rules, before=False, quiet=args.quiet, label="this checkout")
    if args.before:
        bplay, _ = before_player(args.before)
        before = run(bplay, vs, rules=rules, before=True, quiet=args.quiet, label=f"before: {args.before}")
        table(before, f"Before ({args.before}: one complaint, forced guesses)")
    table(after, "This checkout (complaints together, 'not sure' allowed)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
