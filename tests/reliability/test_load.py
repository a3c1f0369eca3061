"""Load: 8 agents on one store share a 500-point grid of short runs."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from tests.conftest import make_repo, sweepci
from tests.reliability.helpers import rows

# a shell program keeps the test about sweepci's overhead, not Python's start-up
PROGRAM = 'printf \'{"metrics": {"v": %s}}\\n\' "$$" >> "$SWEEPCI_METRICS_FILE"\n'
SWEEP = """\
method: grid
command: [/bin/sh, p.sh, "${args}"]
metric: {name: v, goal: maximize}
parameters:
  a: {values: [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24]}
  b: {values: [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19]}
"""


@pytest.mark.slow
def test_eight_agents_run_500_points_once_each(tmp_path: Path, figures) -> None:
    repo = make_repo(tmp_path / "p", files={"p.sh": PROGRAM, "s.yaml": SWEEP})
    start = time.monotonic()
    proc = sweepci(
        "run",
        "s.yaml",
        "--backend",
        "local",
        "--count",
        "500",
        "--parallel",
        "8",
        "--quiet",
        cwd=repo,
        timeout=600,
    )
    elapsed = time.monotonic() - start
    assert proc.returncode == 0, proc.stderr
    found = rows(repo / ".sweepci/sweepci.db", "SELECT config_json, state, agent_id FROM runs")
    points = [tuple(sorted(json.loads(r["config_json"]).items())) for r in found]
    duplicates = len(points) - len(set(points))
    lost = 500 - len({p for p, r in zip(points, found) if r["state"] == "finished"})
    throughput = len(found) / elapsed
    print(f"load: 500 runs, 8 agents, {elapsed:.1f} s, {throughput:.1f} runs/s")
    figures(
        load_runs=len(found), runs_twice=duplicates, runs_lost=lost, runs_per_s=round(throughput, 1)
    )
    assert len(found) == 500 and duplicates == 0 and lost == 0
    assert len({r["agent_id"] for r in found}) == 8
