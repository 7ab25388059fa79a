"""Load and validate the YAML rule files into a RuleSet."""
from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path
from typing import Any

import jsonschema
import yaml

from triage import schema
from triage.errors import RuleFileError
from triage.model import (
    Condition, Complaint, DefaultOutcome, Disposition, Option, Question, Rule, RuleSet, RuleTest, Score,
)

DEFAULT_RULES_DIR = Path(__file__).resolve().parent.parent / "rules"


class _Yaml12Loader(yaml.SafeLoader):
    """SafeLoader where only true/false are booleans, so `yes:` stays the word a clinician wrote."""


_Yaml12Loader.yaml_implicit_resolvers = {
    k: [(tag, rx) for tag, rx in v if tag != "tag:yaml.org,2002:bool"]
    for k, v in yaml.SafeLoader.yaml_implicit_resolvers.copy().items()
}
_Yaml12Loader.add_implicit_resolver(
    "tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF"))


def read_yaml(path: Path) -> Any:
    """Read one YAML file with YAML 1.2 booleans; a syntax error names the file and line."""
    try:
        with open(path, encoding="utf-8") as fh:
            return yaml.load(fh, Loader=_Yaml12Loader)
    except yaml.YAMLError as exc:
        raise RuleFileError(str(path), f"is not valid YAML: {exc}") from None


def _validate(doc: Any, file_schema: dict, path: Path) -> None:
    validator = jsonschema.Draft202012Validator(file_schema)
    errors = sorted(validator.iter_errors(doc), key=lambda e: list(e.absolute_path))
    if not errors:
        return
    err = min(errors, key=lambda e: len(list(e.absolute_path)))
    # find the most specific error of the shallowest failing item
    for e in errors:
        if list(e.absolute_path)[:2] == list(err.absolute_path)[:2] and e.context == []:
            err = e
            break
    loc = list(err.absolute_path)
    rule = None
    node: Any = doc
    for part in loc:
        try:
            node = node[part]
        except (KeyError, IndexError, TypeError):
            break
        if isinstance(node, dict) and isinstance(node.get("id") or node.get("name") or node.get("code"), str):
            rule = node.get("id") or node.get("name") or node.get("code")
    field = ".".join(str(p) for p in loc) or "(top level)"
    msg = err.message
    if err.validator == "oneOf" and isinstance(err.instance, dict):
        msg = (f"condition {err.instance!r} is not one of the known forms "
               "(yes, answer, age, sex, tag, vital, news2, news2_single, score, all, any)")
    raise RuleFileError(str(path), msg, rule=rule, field=field)


def _sources(value: Any) -> tuple[str, ...]:
    return (value,) if isinstance(value, str) else tuple(value)


def _question(d: dict, file: str) -> Question:
    qtype = d["type"]
    if qtype == "choice" and not d.get("options"):
        raise RuleFileError(file, "a choice question needs options", rule=d["id"], field="options")
    return Question(
        id=d["id"], text=d["text"], type=qtype,
        options=tuple(Option(o["id"], o["label"]) for o in d.get("options", [])),
        unit=d.get("unit"), minimum=d.get("min"), maximum=d.get("max"), help=d.get("help"),
        when=d.get("when"), source_file=file, unsure=d.get("unsure", "no" if qtype == "number" else "yes"), unsure_help=d.get("unsure_help"),
        vital=d.get("vital"), applies_to=_applies(d.get("applies_to")))


def _applies(spec: dict | None) -> Condition | None:
    """A danger sign's `applies_to` as a condition on the case's complaints and their tags."""
    if not spec or spec.get("all"):
        return None
    alts = [{"complaint": c} for c in spec.get("complaints", [])] + [{"tag": t} for t in spec.get("tags", [])]
    return {"any": alts}


def _rule(d: dict, file: str) -> Rule:
    return Rule(id=d["id"], condition=d["if"], disposition=d["disposition"], reason=d["reason"],
                source=d["source"], source_file=file)


def _tests(items: list[dict], file: str, default_complaint: str | None) -> list[RuleTest]:
    out = []
    for t in items or []:
        complaint = t.get("complaint", default_complaint)
        if not complaint and not t.get("complaints"):
            raise RuleFileError(file, "a test outside a complaint file must name its complaint",
                                rule=t["name"], field="complaint")
        exp = t["expect"]
        many = tuple(t.get("complaints") or ())
        out.append(RuleTest(
            complaints=many, name=t["name"], complaint=many[0] if many else complaint, age=t["patient"]["age"], sex=t["patient"]["sex"],
            answers=dict(t.get("answers") or {}), vitals=dict(t.get("vitals") or {}),
            expect_disposition=exp.get("disposition"), expect_question=exp.get("question"),
            expect_not=exp.get("not"), source_file=file))
    return out


def _complaint(doc: dict, file: str) -> tuple[Complaint, list[RuleTest]]:
    applies = doc.get("applies_to") or {}
    defaults = doc["default"] if isinstance(doc["default"], list) else [doc["default"]]
    c = Complaint(
        id=doc["id"], title=doc["title"], synonyms=tuple(doc.get("synonyms") or ()),
        sources=_sources(doc["source"]),
        questions=tuple(_question(q, file) for q in doc["questions"]),
        rules=tuple(_rule(r, file) for r in doc["rules"]),
        defaults=tuple(DefaultOutcome(d["disposition"], d["reason"], d.get("when")) for d in defaults),
        scores=tuple(Score(s["id"], tuple(s["items"]), s.get("source", "")) for s in doc.get("scores") or ()),
        tags=tuple(doc.get("tags") or ()), min_age=applies.get("min_age"), max_age=applies.get("max_age"),
        sex=applies.get("sex"), general=doc.get("general", True), source_file=file)
    if c.defaults[-1].when is not None:
        raise RuleFileError(file, "the last default must have no `when`, so every case gets an outcome",
                            rule=c.id, field="default")
    return c, _tests(doc["tests"], file, c.id)


def load_rules(rules_dir: Path | str | None = None) -> RuleSet:
    """Load every rule file under `rules_dir` (default: the bundled `rules/`), validated."""
    root = Path(rules_dir) if rules_dir else DEFAULT_RULES_DIR
    return _load_cached(str(root.resolve()))


@lru_cache(maxsize=8)
def _load_cached(root_str: str) -> RuleSet:
    root = Path(root_str)
    if not (root / "dispositions.yaml").exists():
        raise RuleFileError(str(root), "no dispositions.yaml here: point rules_dir at the rules/ folder")
    sources: dict[str, tuple[str, ...]] = {}

    ddoc = read_yaml(root / "dispositions.yaml")
    _validate(ddoc, schema.DISPOSITIONS_FILE, root / "dispositions.yaml")
    dispositions: dict[str, Disposition] = {}
    for i, d in enumerate(ddoc["dispositions"]):
        if d["code"] in dispositions:
            raise RuleFileError("dispositions.yaml", "duplicate disposition code", rule=d["code"], field="code")
        dispositions[d["code"]] = Disposition(d["code"], d["label"], d["class"], d["acuity"],
                                              d["within_minutes"], i, d.get("advice"))
    acuity_names = {int(k): (v["name"], int(v["target_minutes"])) for k, v in ddoc["acuity"].items()}
    sources["dispositions.yaml"] = _sources(ddoc["source"])

    gdoc = read_yaml(root / "general.yaml")
    _validate(gdoc, schema.GENERAL_FILE, root / "general.yaml")
    general_q = tuple(_question(q, "general.yaml") for q in gdoc["questions"])
    general_r = tuple(_rule(r, "general.yaml") for r in gdoc["rules"])
    tests = _tests(gdoc.get("tests"), "general.yaml", None)
    sources["general.yaml"] = _sources(gdoc["source"])

    vdoc = read_yaml(root / "vitals.yaml")
    _validate(vdoc, schema.VITALS_FILE, root / "vitals.yaml")
    vital_r = tuple(_rule(r, "vitals.yaml") for r in vdoc["rules"])
    tests += _tests(vdoc.get("tests"), "vitals.yaml", None)
    sources["vitals.yaml"] = _sources(vdoc["source"])

    danger_q: tuple[Question, ...] = ()
    danger_r: tuple[Rule, ...] = ()
    if (root / "danger_signs.yaml").exists():
        sdoc = read_yaml(root / "danger_signs.yaml")
        _validate(sdoc, schema.DANGER_FILE, root / "danger_signs.yaml")
        danger_q = tuple(_question(q, "danger_signs.yaml") for q in sdoc["questions"])
        danger_r = tuple(_rule(r, "danger_signs.yaml") for r in sdoc["rules"])
        tests += _tests(sdoc.get("tests"), "danger_signs.yaml", None)
        sources["danger_signs.yaml"] = _sources(sdoc["source"])

    complaints: dict[str, Complaint] = {}
    for path in sorted((root / "complaints").glob("*.yaml")):
        rel = f"complaints/{path.name}"
        doc = read_yaml(path)
        _validate(doc, schema.COMPLAINT_FILE, Path(rel))
        c, ctests = _complaint(doc, rel)
        if c.id in complaints:
            raise RuleFileError(rel, f"complaint id already used by {complaints[c.id].source_file}",
                                rule=c.id, field="id")
        complaints[c.id] = c
        tests += ctests
        sources[rel] = c.sources

    ruleset = RuleSet(dispositions=dispositions, acuity_names=acuity_names, complaints=complaints,
                      general_questions=general_q, general_rules=general_r, vital_rules=vital_r,
                      news2_table=vdoc["news2"], tests=tuple(tests), sources=sources,
                      danger_questions=danger_q, danger_rules=danger_r)
    _check_references(ruleset)
    return ruleset


def _check_references(rs: RuleSet) -> None:
    """Fail at load time on references the engine could not follow (codes, question ids)."""
    def check_rule(r: Rule, known_q: set[str], scores: set[str]) -> None:
        if r.disposition not in rs.dispositions:
            raise RuleFileError(r.source_file, f"unknown disposition code {r.disposition!r}",
                                rule=r.id, field="disposition")
        for kind, ref in _refs(r.condition):
            if kind == "q" and ref not in known_q:
                raise RuleFileError(r.source_file, f"refers to unknown question {ref!r}", rule=r.id, field="if")
            if kind == "score" and ref not in scores:
                raise RuleFileError(r.source_file, f"refers to unknown score {ref!r}", rule=r.id, field="if")

    gq = {q.id for q in rs.general_questions}
    dq = {q.id for q in rs.danger_questions}
    for r in rs.general_rules:
        check_rule(r, gq, set())
    for r in rs.vital_rules:
        check_rule(r, set(), set())
    for r in rs.danger_rules:
        check_rule(r, gq | dq, set())
    all_ids = set(gq) | dq
    for q in (*rs.general_questions, *rs.danger_questions):
        for kind, ref in _refs(q.when):
            if ref not in gq | dq:
                raise RuleFileError(q.source_file, f"`when` refers to unknown question {ref!r}", rule=q.id, field="when")
    for c in rs.complaints.values():
        for q in c.questions:
            if q.id in all_ids:
                raise RuleFileError(c.source_file, "question id already used elsewhere in the rule set; "
                                    "a shared question belongs in danger_signs.yaml", rule=q.id, field="id")
            all_ids.add(q.id)
    for q in rs.danger_questions:
        for cid in _complaint_refs(q.applies_to):
            if cid not in rs.complaints:
                raise RuleFileError(q.source_file, f"applies_to names unknown complaint {cid!r}",
                                    rule=q.id, field="applies_to")
    for c in rs.complaints.values():
        qids = [q.id for q in c.questions]
        known = gq | dq | set(qids)
        scores = {s.id for s in c.scores}
        for s in c.scores:
            for item in s.items:
                if item not in qids:
                    raise RuleFileError(c.source_file, f"score item {item!r} is not a question here",
                                        rule=s.id, field="items")
        for r in c.rules:
            check_rule(r, known, scores)
        general_when = [q for q in rs.general_questions if c.general and q.when]
        for q in [*general_when, *c.questions]:
            for kind, ref in _refs(q.when):
                if ref not in (known if kind == "q" else scores):
                    what = "question" if kind == "q" else "score"
                    raise RuleFileError(q.source_file, f"`when` refers to unknown {what} {ref!r}",
                                        rule=q.id, field="when")
        _check_when_cycles(c, rs, c.questions)
        for d in c.defaults:
            if d.disposition not in rs.dispositions:
                raise RuleFileError(c.source_file, f"unknown disposition code {d.disposition!r}",
                                    rule=c.id, field="default")
            for kind, ref in _refs(d.when):
                if ref not in (known if kind == "q" else scores):
                    raise RuleFileError(c.source_file, f"a default's `when` refers to unknown {ref!r}",
                                        rule=c.id, field="default")
    for t in rs.tests:
        for cid in t.all_complaints:
            if cid not in rs.complaints:
                raise RuleFileError(t.source_file, f"test names unknown complaint {cid!r}",
                                    rule=t.name, field="complaint")
        for code in (t.expect_disposition, t.expect_not):
            if code and code not in rs.dispositions:
                raise RuleFileError(t.source_file, f"test expects unknown disposition {code!r}",
                                    rule=t.name, field="expect")


def _check_when_cycles(c: Complaint, rs: RuleSet, questions: tuple[Question, ...]) -> None:
    """A question whose `when` depends, through other questions, on itself could never be asked."""
    by_id = {q.id: q for q in (*(rs.general_questions if c.general else ()), *rs.danger_questions, *questions)}
    items = {s.id: s.items for s in c.scores}

    def deps(qid: str) -> set[str]:
        out: set[str] = set()
        for kind, ref in _refs(by_id[qid].when):
            out.update(items.get(ref, ()) if kind == "score" else (ref,))
        return out & set(by_id)

    for start in by_id:
        seen, stack = set(), [(start, [start])]
        while stack:
            qid, path = stack.pop()
            for nxt in deps(qid):
                if nxt == start:
                    raise RuleFileError(by_id[start].source_file or c.source_file,
                                        "`when` conditions form a cycle, so none of these questions can ever "
                                        f"be asked: {' -> '.join(path + [start])}", rule=start, field="when")
                if nxt not in seen:
                    seen.add(nxt)
                    stack.append((nxt, path + [nxt]))


def _complaint_refs(cond: Any):
    """Yield every complaint id a condition names (`{complaint: id}`)."""
    if not isinstance(cond, dict):
        return
    if "complaint" in cond:
        yield cond["complaint"]
    for key in ("all", "any"):
        for sub in cond.get(key, []):
            yield from _complaint_refs(sub)


def _refs(cond: Any):
    """Yield (kind, id) for every question ('q') or score reference in a condition."""
    if not isinstance(cond, dict):
        return
    if "yes" in cond:
        yield "q", cond["yes"]
    if "answer" in cond:
        yield "q", cond["answer"]
    if "score" in cond:
        yield "score", cond["score"]
    for key in ("all", "any"):
        for sub in cond.get(key, []):
            yield from _refs(sub)


question_refs = _refs
