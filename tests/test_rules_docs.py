"""docs/rules.md lists every complaint and the README states how many there are."""
from __future__ import annotations

import re
from pathlib import Path

from triage import load_rules

ROOT = Path(__file__).resolve().parents[1]


def test_docs_list_every_complaint_and_readme_count_matches():
    rules = load_rules()
    docs = (ROOT / "docs" / "rules.md").read_text(encoding="utf-8")
    listed = set(re.findall(r"^\| `([a-z0-9_]+)` \|", docs, flags=re.M))
    assert listed == set(rules.complaints), {"missing": set(rules.complaints) - listed, "extra": listed - set(rules.complaints)}
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    count = re.search(r"(\d+) presenting complaints in `rules/complaints/`", readme)
    assert count and int(count.group(1)) == len(rules.complaints)
