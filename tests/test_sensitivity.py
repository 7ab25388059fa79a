"""bench.sensitivity: its "not sure" variants never lower urgency and a run prints the totals table."""
from __future__ import annotations

from bench import sensitivity as S


def test_not_sure_variants_never_lower_urgency_on_redflags():
    play, rules = S.current_player()
    urg = S.urgency_of(rules)
    for v in S.load_vignettes("redflags"):
        p, vit = v["patient"], v.get("vitals") or {}
        base = play(S.complaints_of(v), p["age"], p["sex"], v.get("answers") or {}, vit)
        assert base.code, base.error
        for name, comps, answers, kind in S.variants(v, base, before=False, extra=[]):
            if kind != "guess":
                continue
            r = play(comps, p["age"], p["sex"], answers, vit, variant=True)
            assert r.code and urg[r.code] <= urg[base.code], (v["id"], name, r.code, base.code)


def test_run_prints_per_set_totals(capsys):
    assert S.main(["--set", "redflags", "--quiet"]) == 0
    out = capsys.readouterr().out
    assert "| redflags | 12 |" in out and "under-triage" in out
