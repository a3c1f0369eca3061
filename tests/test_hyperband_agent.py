"""Hyperband on the local backend: poor runs stop early, as their live learning curves show."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from tests.conftest import make_repo, sweepci

# f1 at epoch i (1-based) = quality * (1 - 0.5 ** i): curves never cross, so the
# final order equals the order at every bracket
CURVES = """\
import json, os, sys, time
q = float([a for a in sys.argv if a.startswith("--quality=")][0].split("=")[1])
for i in range(1, 11):
    time.sleep(0.25)
    with open(os.environ["SWEEPCI_METRICS_FILE"], "a") as fh:
        fh.write(json.dumps({"step": i, "metrics": {"f1": q * (1 - 0.5 ** i)}}) + "\\n")
"""

SWEEP = """\
method: grid
program: curves.py
metric: {name: f1, goal: maximize}
early_terminate: {type: hyperband, min_iter: 2, eta: 3}
parameters:
  quality: {values: [0.5, 0.9, 0.1, 0.8, 0.2]}
"""


def test_poor_runs_are_stopped_at_the_bracket_and_savings_reported(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "p", files={"curves.py": CURVES, "s.yaml": SWEEP})
    proc = sweepci("run", "s.yaml", cwd=repo, timeout=120)
    assert proc.returncode == 0, proc.stderr
    conn = sqlite3.connect(repo / ".sweepci/sweepci.db")
    rows = {
        json.loads(c)["quality"]: (s, r)
        for c, s, r in conn.execute("SELECT config_json, state, reason FROM runs")
    }
    # W&B's rule: at a bracket, a run must be among the best 1/eta of the runs that
    # reached it (position int(n / eta) of the best-first order). In grid order:
    # 0.5 and 0.9 pass alone; 0.1 is third of three (the bar is 0.5's value); 0.8 is
    # second of four (bar: itself); 0.2 is fourth of five (bar: 0.8's value)
    assert [rows[q][0] for q in (0.5, 0.9, 0.8)] == ["finished"] * 3
    for q in (0.2, 0.1):
        state, reason = rows[q]
        assert state == "killed" and reason.startswith("hyperband") and "iteration 2" in reason
    assert "hyperband stopped 2 run(s) early" in proc.stdout
    saved = conn.execute(
        "SELECT COUNT(*) FROM history h JOIN runs r ON r.id = h.run_id WHERE r.state = 'killed'"
    ).fetchone()[0]
    assert saved < 2 * 10  # the stopped runs logged fewer than all their epochs


def test_the_stopper_judges_against_running_runs_of_other_agents(tmp_path: Path) -> None:
    from orchestrator.agent.early import hyperband_stopper
    from orchestrator.config.sweep import config_from_dict
    from orchestrator.store import claims, open_store
    from orchestrator.store import runs as R
    from orchestrator.store.traces import save_trace
    from orchestrator.trials.trace import MetricTrace

    raw = {
        "method": "grid",
        "program": "t.py",
        "metric": {"name": "loss", "goal": "minimize"},
        "early_terminate": {"type": "hyperband", "min_iter": 2, "eta": 3},
        "parameters": {"q": {"values": [1, 2, 3]}},
    }
    with open_store(tmp_path / "s.db") as store:
        sweep = R.create_sweep(
            store,
            project="p",
            method="grid",
            config=raw,
            metric_name="loss",
            metric_goal="minimize",
        )
        config = config_from_dict(raw, "s.yaml")
        good = claims.claim_next_run(store, sweep.id, "agent-1", lambda t, s: {"q": 1})
        bad = claims.claim_next_run(store, sweep.id, "agent-2", lambda t, s: {"q": 2})
        stopper = hyperband_stopper(store, sweep, config)
        bands = stopper.bands
        # the other agent's run is still running, two epochs in
        save_trace(store, good.id, "loss", MetricTrace.of([1.0, 0.5], bands))
        assert stopper(bad, MetricTrace.of([1.5], bands)) is None  # before the first bracket
        reason = stopper(bad, MetricTrace.of([1.5, 1.2], bands))
        assert reason is not None and "at iteration 2" in reason
        # its own agent sees the same: the good run survives against the bad one
        other = hyperband_stopper(store, sweep, config)
        save_trace(store, bad.id, "loss", MetricTrace.of([1.5, 1.2], bands))
        assert other(good, MetricTrace.of([1.0, 0.5], bands)) is None
