"""Hyperband on an unchanged script, sweepci installed by pip: W&B's stops, with 1 agent and with 2.

The script only calls `wandb.init`, reads `wandb.config` and `wandb.log`s
`val/loss` per epoch (real wandb, offline); its values reach the agent live
through the start-up hook the wheel put in site-packages. Curves are
deterministic from the config (`quality + 1/epoch`, never crossing), and so
is each epoch's pace, chosen so that the order in which runs reach each
bracket is the same with one agent and with two:

- q=0.1 (a): fast to epoch 2, then slow, so it is still running when b gets there;
- q=0.9 (b): slow; with two agents it runs beside a;
- q=0.5 (c): starts once b stops, reaches epoch 6 after a did.

The expected stops come from W&B's rule applied to those histories in that
order (written out below, apart from sweepci's code). With two agents, b
must be stopped at epoch 2 while a is still running: the old local agent,
which judged only against finished runs, let it go on to epoch 6.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from tests.e2e.conftest import UserInstall, make_user_repo

SCRIPT = """\
import time
import wandb

run = wandb.init()
q = wandb.config.quality
for epoch in range(1, 8):
    if q < 0.3:
        time.sleep(0.2 if epoch <= 2 else 0.9)
    elif q > 0.7:
        time.sleep(1.5)
    else:
        time.sleep(0.4)
    wandb.log({"val/loss": q + 1.0 / epoch, "epoch": epoch})
run.finish()
"""

SWEEP = """\
program: train.py
method: grid
metric: {name: val/loss, goal: minimize}
early_terminate: {type: hyperband, min_iter: 2, eta: 3}
parameters:
  quality: {values: [0.1, 0.9, 0.5]}
"""

EPOCHS = 7
BANDS = [2, 6, 18]
ETA = 3


def curve(q: float) -> list[float]:
    return [q + 1.0 / epoch for epoch in range(1, EPOCHS + 1)]


def wandb_rule_in_order(qualities: list[float]) -> dict[float, int | None]:
    """W&B's hyperband (min over a bracket's values of every run that reached it, index
    int(n / eta), strict) for runs that reach each bracket in `qualities` order: the
    iteration each run is stopped at, None for a run that finishes."""
    logged: dict[float, list[float]] = {}
    stopped: dict[float, int | None] = {}
    for q in qualities:
        logged[q] = []
        stopped[q] = None
        for value in curve(q):
            logged[q].append(value)
            n = len(logged[q])
            reached = [b for b in BANDS if b <= n]
            if not reached:
                continue
            band = reached[-1]
            at = sorted(h[band - 1] for h in logged.values() if len(h) >= band)
            if logged[q][band - 1] > at[int(len(at) / ETA)]:
                stopped[q] = band
                break
    return stopped


def _runs(repo: Path) -> dict[float, sqlite3.Row]:
    conn = sqlite3.connect(repo / ".sweepci" / "sweepci.db")
    conn.row_factory = sqlite3.Row
    try:
        rows = conn.execute(
            "SELECT r.config_json, r.state, r.reason, r.started_at, r.ended_at, t.trace_json "
            "FROM runs r LEFT JOIN run_traces t ON t.run_id = r.id"
        ).fetchall()
    finally:
        conn.close()
    return {json.loads(r["config_json"])["quality"]: r for r in rows}


@pytest.mark.parametrize("parallel", [1, 2])
def test_hyperband_stops_what_wandb_stops_live(
    tmp_path: Path, user_install: UserInstall, parallel: int
) -> None:
    repo = make_user_repo(
        tmp_path / "curves",
        script=SCRIPT,
        script_path="train.py",
        sweep=SWEEP,
        sweep_path="sweep.yaml",
        branch="feature/hb",
    )
    env = user_install.env(HOME=str(tmp_path / "home"))
    proc = user_install.run(
        "run", "sweep.yaml", "--parallel", str(parallel), cwd=repo, env=env, timeout=240
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    expected = wandb_rule_in_order([0.1, 0.9, 0.5])
    assert expected == {0.1: None, 0.9: 2, 0.5: 6}

    runs = _runs(repo)
    for q, band in expected.items():
        row = runs[q]
        if band is None:
            assert row["state"] == "finished", dict(row)
            continue
        assert row["state"] == "killed" and row["reason"].startswith("hyperband"), dict(row)
        assert f"at iteration {band} " in row["reason"], row["reason"]
        # values came live: the stopped run logged fewer epochs than the script has
        assert band <= json.loads(row["trace_json"])["n"] < EPOCHS
    if parallel == 2:
        # b was judged against a while a was still running
        assert runs[0.1]["ended_at"] > runs[0.9]["ended_at"]
    assert "hyperband stopped 2 run(s) early" in proc.stdout
