"""SIGKILL of agents at random points of a grid sweep, then `run --resume`: nothing lost, nothing twice, no orphans.

Each seed picks a random moment and one of two ways to die: the lone agent of
`sweepci run` is SIGKILLed, or the whole process group of `sweepci run
--parallel 2` (the parent and both agents) is. The programs, each with a
grandchild, keep running in their own sessions; the resume must stop them,
redo the interrupted points, and keep every run that had finished.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import clean_env, make_repo, sweepci
from tests.reliability.helpers import recorded_pids, rows, wait_for, wait_gone

POINTS = 8
PROGRAM = """\
import json, os, subprocess, sys, time
grandchild = subprocess.Popen(["sleep", "60"])
with open(os.path.join(os.environ["PID_DIR"], os.environ["WANDB_RUN_ID"] + ".pid"), "w") as fh:
    fh.write(f"{os.getpid()} {grandchild.pid}")
time.sleep(0.15 + 0.1 * (int(sys.argv[1].split("=")[1]) % 4))
grandchild.kill()
grandchild.wait()
with open(os.environ["SWEEPCI_METRICS_FILE"], "a") as fh:
    fh.write(json.dumps({"metrics": {"v": 1.0}}) + "\\n")
"""
SWEEP = (
    "method: grid\nprogram: p.py\ncommand:\n  - ${env}\n  - ${interpreter}\n  - ${program}\n  - ${args}\n"
    f"metric: {{name: v}}\nparameters:\n  x: {{values: {list(range(POINTS))}}}\n"
)


@pytest.mark.slow
@pytest.mark.parametrize("seed", range(10))
def test_sigkill_at_a_random_point_then_resume(seed: int, tmp_path: Path, figures) -> None:
    rng = random.Random(seed)
    parallel = seed % 2 == 1
    repo = make_repo(tmp_path / "p", files={"p.py": PROGRAM, "s.yaml": SWEEP})
    pid_dir = tmp_path / "pids"
    pid_dir.mkdir()
    env = clean_env(PID_DIR=str(pid_dir))
    store = repo / ".sweepci/sweepci.db"
    argv = [sys.executable, "-m", "orchestrator", "run", "s.yaml", "--backend", "local", "--quiet"]
    if parallel:
        argv += ["--parallel", "2"]
    agent = subprocess.Popen(
        argv,
        cwd=repo,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        wait_for(
            lambda: rows(store, "SELECT id FROM runs") or agent.poll() is not None,
            60,
            "the first run",
        )
        assert agent.poll() is None, "the sweep ended before the kill"
        time.sleep(rng.uniform(0.0, 1.5))
    finally:
        if parallel:
            os.killpg(agent.pid, signal.SIGKILL)  # the parent and both agents at once
        else:
            agent.kill()
        agent.wait()
    finished_before = {
        r["id"]: json.loads(r["config_json"])["x"]
        for r in rows(store, "SELECT id, config_json FROM runs WHERE state = 'finished'")
    }
    (sweep,) = rows(store, "SELECT id FROM sweeps")
    proc = sweepci("run", "--resume", sweep["id"], "--quiet", cwd=repo, env=env, timeout=180)
    assert proc.returncode == 0, proc.stderr
    after = rows(store, "SELECT id, state, config_json FROM runs")
    finished = [r for r in after if r["state"] == "finished"]
    xs = sorted(json.loads(r["config_json"])["x"] for r in finished)
    lost = len(set(finished_before) - {r["id"] for r in finished})
    twice = len(xs) - len(set(xs))
    orphans = wait_gone(recorded_pids(pid_dir))
    figures(faults=1, runs_lost=lost, runs_twice=twice, orphans=len(orphans))
    assert xs == list(range(POINTS)), f"every grid point finished exactly once: {xs}"
    assert lost == 0
    assert {r["state"] for r in after} <= {"finished", "interrupted"}
    assert orphans == [], "processes of killed runs are still alive"
