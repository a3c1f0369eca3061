"""The local agent end to end: real subprocesses, real SQLite, real signals."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import clean_env, make_repo, sweepci

PROBE = r"""
import json, os, sys
out = {"argv": sys.argv[1:], "env": {k: v for k, v in os.environ.items() if k.startswith(("WANDB_", "SWEEPCI_", "GITHUB_", "GH_"))}}
path = os.environ["WANDB_SWEEP_PARAM_PATH"]
out["param_file"] = open(path).read()
if os.path.exists(os.environ.get("ARGS_JSON_FILE_CHECK", "/nonexistent")):
    out["args_json_file"] = open(os.environ["ARGS_JSON_FILE_CHECK"]).read()
with open(os.path.join(os.environ["PROBE_OUT"], os.environ["WANDB_RUN_ID"] + ".json"), "w") as fh:
    json.dump(out, fh)
with open(os.environ["SWEEPCI_METRICS_FILE"], "a") as fh:
    fh.write(json.dumps({"step": 0, "metrics": {"score": 1.0}}) + "\n")
"""


def _write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def _store_rows(store: Path, sql: str, params: tuple = ()) -> list[sqlite3.Row]:
    conn = sqlite3.connect(store)
    conn.row_factory = sqlite3.Row
    try:
        return conn.execute(sql, params).fetchall()
    finally:
        conn.close()


def test_every_macro_and_the_child_environment(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "proj", branch="feature/x", files={"probe.py": PROBE})
    _write(
        repo / "s.yaml",
        """\
method: grid
program: probe.py
command:
  - ${env}
  - ${interpreter}
  - ${program}
  - ${args}
  - ${args_no_hyphens}
  - ${args_no_boolean_flags}
  - ${args_json}
  - ${args_json_file}
  - ${args_no_equals}
  - --home=${envvar:PROBE_MARK}
metric: {name: score, goal: maximize}
parameters:
  lr: {value: 0.5}
  flag: {value: false}
  name: {value: "two words ünïcode"}
""",
    )
    out = tmp_path / "out"
    out.mkdir()
    env = clean_env(
        PROBE_OUT=str(out),
        PROBE_MARK="marked",
        WANDB_API_KEY="k" * 40,
        GITHUB_TOKEN="ghp_secretsecret",
    )
    proc = sweepci("run", "s.yaml", "--count", "1", "--backend", "local", cwd=repo, env=env)
    assert proc.returncode == 0, proc.stderr
    (record,) = [json.loads(p.read_text()) for p in out.glob("*.json")]
    argv = record["argv"]
    assert "--lr=0.5" in argv and "--flag=False" in argv and "--name=two words ünïcode" in argv
    assert "lr=0.5" in argv and "name=two words ünïcode" in argv
    # args_no_boolean_flags drops false booleans: the only bare --flag is from args_no_equals
    assert argv.count("--flag") == 1 and argv[argv.index("--flag") + 1] == "False"
    assert json.loads(next(a for a in argv if a.startswith("{"))) == {
        "flag": False,
        "lr": 0.5,
        "name": "two words ünïcode",
    }
    json_file = next(a for a in argv if a.endswith("args.json"))
    assert Path(json_file).is_absolute()
    assert json.loads(Path(json_file).read_text())["lr"] == 0.5
    i = argv.index("--lr")
    assert argv[i + 1] == "0.5"  # args_no_equals
    assert "--home=marked" in argv
    child = record["env"]
    assert child["WANDB_MODE"] == "offline"
    assert child["WANDB_PROJECT"] == "wine-quality-dev"
    assert child["WANDB_SWEEP_ID"] and child["WANDB_RUN_ID"]
    assert child["WANDB_RUN_GROUP"] == f"sweep-{child['WANDB_SWEEP_ID']}"
    tags = child["WANDB_TAGS"].split(",")
    assert "branch:feature/x" in tags and "env:dev" in tags and "trigger:local" in tags
    assert any(t.startswith("sha:") and len(t) == 44 for t in tags)
    assert (
        "WANDB_API_KEY" not in child and "GITHUB_TOKEN" not in child
    )  # secrets never reach the program
    import yaml

    params = yaml.safe_load(record["param_file"])
    assert params["wandb_version"] == 1 and params["lr"] == {"value": 0.5}
    assert params["name"] == {"value": "two words ünïcode"} and params["flag"] == {"value": False}
    # wandb.config holds the sweep's parameters only; the CI context travels in the notes
    assert "ci" not in params
    from orchestrator.agent.notes import ci_from_notes

    assert ci_from_notes(child["WANDB_NOTES"])["branch"] == "feature/x"


def test_failing_program_is_recorded_with_its_stderr_and_exit_1(tmp_path: Path) -> None:
    repo = make_repo(
        tmp_path / "p",
        branch="feature/x",
        files={"bad.py": "import sys\nprint('boom: no data', file=sys.stderr)\nsys.exit(3)\n"},
    )
    _write(repo / "s.yaml", "method: random\nprogram: bad.py\nparameters:\n  x: {min: 0, max: 9}\n")
    proc = sweepci("run", "s.yaml", "--count", "5", cwd=repo)
    assert proc.returncode == 1
    err_lines = [line for line in proc.stderr.splitlines() if line.startswith("sweepci: error:")]
    assert len(err_lines) == 1
    assert (
        "bad.py" in err_lines[0]
        and "exit code 3" in err_lines[0]
        and "boom: no data" in err_lines[0]
    )
    assert "Traceback" not in proc.stderr
    rows = _store_rows(
        repo / ".sweepci/sweepci.db", "SELECT state, exit_code, stderr_tail FROM runs"
    )
    assert len(rows) == 3  # stopped after 3 failures in a row (default --max-failures)
    assert all(
        r["state"] == "failed" and r["exit_code"] == 3 and "boom" in r["stderr_tail"] for r in rows
    )


def test_hanging_program_times_out_and_leaves_no_orphans(tmp_path: Path) -> None:
    hang = """\
import os, subprocess, sys, time
child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(300)"])
open(os.environ["PIDFILE"] + os.environ["WANDB_RUN_ID"], "w").write(str(child.pid))
time.sleep(300)
"""
    repo = make_repo(tmp_path / "p", branch="feature/x", files={"hang.py": hang})
    _write(repo / "s.yaml", "method: grid\nprogram: hang.py\nparameters:\n  x: {values: [1]}\n")
    pidfile = tmp_path / "pid-"
    start = time.monotonic()
    proc = sweepci(
        "run", "s.yaml", "--run-timeout", "1", cwd=repo, env=clean_env(PIDFILE=str(pidfile))
    )
    assert time.monotonic() - start < 30
    rows = _store_rows(repo / ".sweepci/sweepci.db", "SELECT state, reason FROM runs")
    assert [r["state"] for r in rows] == ["killed"]
    assert "timed out" in rows[0]["reason"]
    (pid_path,) = tmp_path.glob("pid-*")
    grandchild = int(pid_path.read_text())
    time.sleep(0.2)
    with pytest.raises(ProcessLookupError):
        os.kill(grandchild, 0)
    assert proc.returncode == 0  # a killed run is not a failure of the sweep


SLOW = "import json, os, time\ntime.sleep(0.4)\nopen(os.environ['SWEEPCI_METRICS_FILE'],'a').write(json.dumps({'metrics': {'v': 1.0}})+'\\n')\n"


def _wait_for(predicate, timeout: float = 60.0) -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if predicate():
            return
        time.sleep(0.05)
    raise AssertionError("condition not reached in time")


def _count(store: Path, sql: str) -> int:
    """Rows of a store another process is still creating (0 until its tables exist)."""
    if not store.exists():
        return 0
    try:
        return len(_store_rows(store, sql))
    except sqlite3.OperationalError:
        return 0


def _finished(store: Path) -> int:
    return _count(store, "SELECT id FROM runs WHERE state = 'finished'")


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_sigkill_of_the_agent_then_resume_loses_and_repeats_nothing(
    tmp_path: Path, seed: int
) -> None:
    repo = make_repo(tmp_path / "p", branch="feature/x", files={"slow.py": SLOW})
    _write(
        repo / "s.yaml",
        "method: grid\nprogram: slow.py\nmetric: {name: v}\nparameters:\n  x: {values: [1, 2, 3, 4, 5, 6]}\n",
    )
    store = repo / ".sweepci/sweepci.db"
    agent = subprocess.Popen(
        [sys.executable, "-m", "orchestrator", "run", "s.yaml"],
        cwd=repo,
        env=clean_env(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    _wait_for(lambda: _finished(store) >= seed)
    time.sleep(0.1 * seed)  # land at different points of a run
    agent.kill()
    agent.wait()
    finished_before = {
        r["id"] for r in _store_rows(store, "SELECT id FROM runs WHERE state='finished'")
    }
    sweep_id = _store_rows(store, "SELECT id FROM sweeps")[0]["id"]
    proc = sweepci("run", "--resume", sweep_id, cwd=repo)
    assert proc.returncode == 0, proc.stderr
    rows = _store_rows(store, "SELECT id, state, config_json FROM runs")
    finished = [r for r in rows if r["state"] == "finished"]
    configs = sorted(json.loads(r["config_json"])["x"] for r in finished)
    assert configs == [1, 2, 3, 4, 5, 6]  # every grid point finished exactly once
    assert finished_before <= {r["id"] for r in finished}  # nothing finished was lost
    assert all(r["state"] in ("finished", "interrupted") for r in rows)


def test_ctrl_c_stops_the_run_and_the_sweep_resumes(tmp_path: Path) -> None:
    repo = make_repo(
        tmp_path / "p", branch="feature/x", files={"slow.py": SLOW.replace("0.4", "2")}
    )
    _write(repo / "s.yaml", "method: grid\nprogram: slow.py\nparameters:\n  x: {values: [1, 2]}\n")
    store = repo / ".sweepci/sweepci.db"
    agent = subprocess.Popen(
        [sys.executable, "-m", "orchestrator", "run", "s.yaml"],
        cwd=repo,
        env=clean_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    _wait_for(lambda: _count(store, "SELECT id FROM runs") > 0)
    time.sleep(0.3)
    os.killpg(agent.pid, signal.SIGINT)  # what a terminal's Ctrl-C does
    _out, err = agent.communicate(timeout=30)
    assert agent.returncode == 130
    assert "resumable" in err and "Traceback" not in err
    (row,) = _store_rows(store, "SELECT state FROM runs")
    assert row["state"] == "interrupted"
    sweep_id = _store_rows(store, "SELECT id FROM sweeps")[0]["id"]
    assert sweepci("run", "--resume", sweep_id, cwd=repo).returncode == 0
    assert _finished(store) == 2


def test_eight_parallel_agents_share_one_grid_without_duplicates(tmp_path: Path) -> None:
    fast = "import json, os\nopen(os.environ['SWEEPCI_METRICS_FILE'],'a').write(json.dumps({'metrics': {'v': 1.0}})+'\\n')\n"
    repo = make_repo(tmp_path / "p", branch="feature/x", files={"fast.py": fast})
    _write(
        repo / "s.yaml",
        "method: grid\nprogram: fast.py\nparameters:\n  a: {values: [1,2,3,4,5,6,7,8]}\n  b: {min: 1, max: 8}\n",
    )
    proc = sweepci(
        "run", "s.yaml", "--count", "100", "--parallel", "8", "--quiet", cwd=repo, timeout=300
    )
    assert proc.returncode == 0, proc.stderr
    rows = _store_rows(repo / ".sweepci/sweepci.db", "SELECT config_key, state, agent_id FROM runs")
    assert len(rows) == 64
    assert len({r["config_key"] for r in rows}) == 64
    assert all(r["state"] == "finished" for r in rows)
    assert len({r["agent_id"] for r in rows}) > 1


def test_a_finished_sweep_is_marked_so_and_resume_count_adds_runs(tmp_path: Path) -> None:
    fast = "import json, os\nopen(os.environ['SWEEPCI_METRICS_FILE'],'a').write(json.dumps({'metrics': {'v': 1.0}})+'\\n')\n"
    repo = make_repo(tmp_path / "p", branch="feature/x", files={"fast.py": fast})
    _write(
        repo / "s.yaml", "method: random\nprogram: fast.py\nparameters:\n  x: {min: 0, max: 100}\n"
    )
    assert sweepci("run", "s.yaml", "--count", "2", cwd=repo).returncode == 0
    store = repo / ".sweepci/sweepci.db"
    (sweep,) = _store_rows(store, "SELECT id, status, status_reason FROM sweeps")
    assert sweep["status"] == "finished" and sweep["status_reason"] == "2 runs done"
    again = sweepci("run", "--resume", sweep["id"], cwd=repo)
    assert again.returncode == 0 and "already finished" in again.stderr
    assert _count(store, "SELECT id FROM runs") == 2
    more = sweepci("run", "--resume", sweep["id"], "--count", "3", cwd=repo)
    assert more.returncode == 0, more.stderr
    assert _count(store, "SELECT id FROM runs WHERE state = 'finished'") == 5
