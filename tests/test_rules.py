"""Every rule file passes the linter, and every test case a rule file carries passes."""
from __future__ import annotations

import pytest

from triage import load_rules
from triage.lint import lint
from triage.testing import check
from triage.engine import Engine

RULES = load_rules()
ENGINE = Engine(RULES)


def test_rule_set_is_clean():
    problems = lint(RULES, run_tests=False)
    assert not problems, "\n".join(map(str, problems))


@pytest.mark.parametrize("case", RULES.tests, ids=lambda t: f"{t.complaint}: {t.name}")
def test_rule_file_case(case):
    result = check(ENGINE, case)
    assert result.passed, result.detail


def test_every_complaint_names_its_guideline():
    for c in RULES.complaints.values():
        assert c.sources and all(len(s) > 5 for s in c.sources), c.id
        for r in c.rules:
            assert r.source.strip(), (c.id, r.id)
