"""The two-node cluster demo (PostgreSQL primary + streaming replica, HAProxy) passes: run in CI."""
from __future__ import annotations

import glob
import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.cluster
def test_cluster_demo_edit_propagates_node_loss_and_replica_lag():
    missing = [what for what, ok in (("haproxy (scripts/test-deps.sh)", shutil.which("haproxy") or Path("/usr/sbin/haproxy").exists()),
                                     ("PostgreSQL binaries", glob.glob("/usr/lib/postgresql/*/bin/initdb"))) if not ok]
    if missing:
        if os.environ.get("CI"):
            pytest.fail(f"CI needs {', '.join(missing)} for the cluster demo")
        pytest.skip(f"needs {', '.join(missing)}")
    res = subprocess.run([str(ROOT / "scripts" / "cluster-demo"), "--json"], cwd=ROOT, capture_output=True, text=True,
                         timeout=420)
    lines = [ln for ln in res.stdout.splitlines() if ln.startswith("{")]
    assert lines, f"no result; stdout:\n{res.stdout[-3000:]}\nstderr:\n{res.stderr[-3000:]}"
    out = json.loads(lines[-1])
    assert out["edit"]["ok"] and out["edit"]["edit_visible_s"] <= 2.0, out
    assert out["kill"]["ok"] and out["kill"]["failed"] <= out["kill"]["in_flight_at_kill"], out
    assert out["replica_lag"]["wrong_answers"] == 0 and out["replica_lag"]["stale_consistent_answers"] > 0, out
    assert out["replica_lag"]["bypass_after_s"] is not None, out
    assert out["ok"] and res.returncode == 0, res.stdout[-3000:]
    assert not Path(out["tmp"]).exists(), "the demo left its temporary folder behind"
