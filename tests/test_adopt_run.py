"""First-day sweeps in a team's repository: a grid runs whole, a metric nobody logged fails,
a failed run says why, and validate finds a missing program."""

from __future__ import annotations

import json
from pathlib import Path

from tests.conftest import make_repo, sweepci

# reports `score` (or whatever SWEEP_KEY says) on sweepci's live channel; no wandb: milliseconds
FAST = """\
import json, os, sys
args = dict(a[2:].split("=", 1) for a in sys.argv[1:] if "=" in a)
with open(os.environ["SWEEPCI_METRICS_FILE"], "a") as fh:
    fh.write(json.dumps({"step": 0, "metrics": {"val/f1": float(args["a"]), "loss": 1.0}}) + "\\n")
"""
GRID = """\
program: fast.py
method: grid
metric: {name: val/f1, goal: maximize}
parameters:
  a: {values: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22]}
"""


def _repo(tmp_path: Path, **files: str) -> Path:
    return make_repo(tmp_path / "lab", branch="feature/x", files={"fast.py": FAST, **files})


def _runs(repo: Path) -> list[dict]:
    shown = sweepci("leaderboard", "--json", "--limit", "100", cwd=repo, check=True)
    return json.loads(shown.stdout)["runs"]


def test_a_grid_without_count_runs_every_point(tmp_path: Path) -> None:
    repo = _repo(tmp_path, **{"grid.yaml": GRID})

    proc = sweepci("run", "grid.yaml", cwd=repo, timeout=300)

    assert proc.returncode == 0, proc.stderr
    runs = _runs(repo)
    assert len(runs) == 22, "all 22 points, not the random/bayes default of 20"
    assert sorted(r["config"]["a"] for r in runs) == list(range(1, 23))
    assert "left" not in proc.stderr


def test_a_count_that_stops_a_grid_early_says_how_to_run_the_rest(tmp_path: Path) -> None:
    repo = _repo(tmp_path, **{"grid.yaml": GRID})

    proc = sweepci("run", "grid.yaml", "--count", "5", cwd=repo, timeout=300)

    assert proc.returncode == 0, proc.stderr
    last = proc.stderr.strip().splitlines()[-1]
    sweep_id = json.loads(sweepci("show", "--json", cwd=repo, check=True).stdout)["sweep"]["id"]
    assert "17 of 22 grid points are left" in last
    assert last.endswith(f"sweepci run --resume {sweep_id} --count 17")
    rest = sweepci("run", "--resume", sweep_id, "--count", "17", cwd=repo, timeout=300)
    assert rest.returncode == 0, rest.stderr
    assert sorted(r["config"]["a"] for r in _runs(repo)) == list(range(1, 23))


def test_no_run_logging_the_metric_is_exit_1_with_what_was_logged(tmp_path: Path) -> None:
    typo = GRID.replace("name: val/f1", "name: valf1").replace(", 4, 5, 6", "").split(", 7")[0]
    repo = _repo(tmp_path, **{"typo.yaml": typo + "]}\n"})

    proc = sweepci("run", "typo.yaml", cwd=repo, timeout=300)

    assert proc.returncode == 1, proc.stderr
    last = proc.stderr.strip().splitlines()[-1]
    assert "none of the 3 finished run(s) logged the sweep's metric 'valf1'" in last
    assert "they logged: val/f1, loss" in last and "(did you mean 'val/f1'?)" in last
    assert "Traceback" not in proc.stderr


def test_a_failed_run_shows_its_stderr_tail_and_log_in_the_run_line_and_the_report(
    tmp_path: Path,
) -> None:
    bad = "import sys\nprint('loading data', file=sys.stderr)\nraise SystemExit('no such column: label')\n"
    sweep = "program: bad.py\nmethod: random\nmetric: {name: f1, goal: maximize}\nparameters:\n  x: {min: 0, max: 9}\n"
    repo = _repo(tmp_path, **{"bad.py": bad, "s.yaml": sweep})

    proc = sweepci("run", "s.yaml", "--count", "2", cwd=repo, timeout=300)

    assert proc.returncode == 1
    lines = proc.stderr.splitlines()
    failed = next(i for i, line in enumerate(lines) if " failed (exit code 1)" in line)
    assert lines[failed + 1].strip() == "| loading data"
    assert lines[failed + 2].strip() == "| no such column: label"
    assert lines[failed + 3].strip().startswith("full log: .sweepci/runs/")
    log = repo / lines[failed + 3].split("full log: ", 1)[1]
    assert "no such column: label" in log.read_text()
    report = sweepci("report", "--format", "md", cwd=repo, check=True).stdout
    row = next(line for line in report.splitlines() if "no such column" in line)
    assert "loading data \\| no such column\\: label" in row and "stderr\\.log" in row


def test_validate_refuses_a_program_that_does_not_exist(tmp_path: Path) -> None:
    sweep = "program: src/trian.py\nmethod: random\nparameters:\n  x: {min: 0, max: 9}\n"
    repo = _repo(tmp_path, **{"s.yaml": sweep, "src/train.py": ""})

    proc = sweepci("validate", "s.yaml", cwd=repo)

    assert proc.returncode == 2
    assert proc.stderr.startswith("s.yaml:1:1: error: program: 'src/trian.py' does not exist")
    own_command = sweep + "command: [python, src/train.py]\n"
    (repo / "s.yaml").write_text(own_command)
    assert sweepci("validate", "s.yaml", cwd=repo).returncode == 0, "a command without ${program}"


def test_a_parameter_named_wandb_version_is_warned_about(tmp_path: Path) -> None:
    sweep = "program: fast.py\nmethod: random\nparameters:\n  wandb_version: {values: [1, 2]}\n"
    repo = _repo(tmp_path, **{"s.yaml": sweep})

    proc = sweepci("validate", "s.yaml", cwd=repo)

    assert proc.returncode == 0
    assert (
        "s.yaml:4:3: warning: parameters.wandb_version: never reaches wandb.config" in proc.stderr
    )
