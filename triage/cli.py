"""Rule-set tools on the command line: `uec rules check` and `uec rules test`."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Sequence

from triage.errors import RuleFileError
from triage.lint import lint
from triage.loader import load_rules
from triage.model import RuleSet
from triage.testing import run_all


def _load(rules_dir: Path | None) -> RuleSet | None:
    try:
        return load_rules(rules_dir)
    except RuleFileError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return None


def _summary(rules: RuleSet, passed: int) -> str:
    questions = len(rules.general_questions) + sum(len(c.questions) for c in rules.complaints.values())
    n_rules = (len(rules.general_rules) + len(rules.vital_rules)
               + sum(len(c.rules) for c in rules.complaints.values()))
    return (f"{len(rules.complaints)} complaints, {questions} questions, {n_rules} rules, "
            f"{passed}/{len(rules.tests)} tests passed")


def check(rules_dir: Path | None) -> int:
    """Validate, lint and run every rule file's tests; 0 if clean, 1 otherwise."""
    rules = _load(rules_dir)
    if rules is None:
        return 1
    problems = lint(rules, run_tests=True)
    for p in problems:
        print(p)
    failed = sum(1 for p in problems if p.message.startswith("test fails"))
    if problems:
        print(f"{len(problems)} problem(s) found: fix them and run `uec rules check` again", file=sys.stderr)
        return 1
    print(f"rules OK: {_summary(rules, len(rules.tests) - failed)}")
    return 0


def test(rules_dir: Path | None, *, verbose: bool = False) -> int:
    """Run only the test cases the rule files carry; 0 if all pass, 1 otherwise."""
    rules = _load(rules_dir)
    if rules is None:
        return 1
    results = run_all(rules)
    for res in results:
        if not res.passed:
            print(f"FAIL {res.test.source_file} [{res.test.name}]: {res.detail}")
        elif verbose:
            print(f"ok   {res.test.source_file} [{res.test.name}]")
    passed = sum(1 for r in results if r.passed)
    print(_summary(rules, passed))
    return 0 if passed == len(results) else 1


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="uec", description="Urgent-care triage rule tools")
    sub = parser.add_subparsers(dest="group", required=True)
    rules = sub.add_parser("rules", help="check or test the clinical rule files")
    rsub = rules.add_subparsers(dest="command", required=True)
    for name, text in (("check", "validate, lint and test every rule file"),
                       ("test", "run the test cases carried by the rule files")):
        p = rsub.add_parser(name, help=text)
        p.add_argument("--rules", type=Path, default=None, metavar="DIR",
                       help="the rules folder (default: the bundled rules/)")
        if name == "test":
            p.add_argument("-v", "--verbose", action="store_true", help="list passing tests too")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command == "check":
        return check(args.rules)
    return test(args.rules, verbose=args.verbose)


if __name__ == "__main__":
    sys.exit(main())
