"""Killing what is not ours, and leaving nothing behind.

- A stale run whose recorded group id now names an innocent process group
  (pid reuse) is recovered by `run --resume` without signalling that group.
- A stale run whose agent pid was reused by a process started after the
  claim is recovered (the pid's start time tells it is another process).
- A program that daemonises (double fork + setsid, leaving the run's group
  and session) does not outlive its run, with the run finishing normally
  or timing out: its processes are found by the SWEEPCI_RUN_ID they inherit.
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import make_repo, sweepci
from tests.reliability.helpers import alive, recorded_pids, rows, wait_gone

PROGRAM = "import json, os\nopen(os.environ['SWEEPCI_METRICS_FILE'], 'a').write(json.dumps({'metrics': {'v': 1.0}}) + '\\n')\n"
SWEEP = "method: grid\nprogram: p.py\nmetric: {name: v}\nparameters:\n  x: {values: [1, 2, 3]}\n"
DAEMON = """\
import json, os, sys, time
if os.fork() == 0:
    os.setsid()
    if os.fork() == 0:
        with open(os.path.join(os.environ["PID_DIR"], f"{os.getpid()}.pid"), "w") as fh:
            fh.write(str(os.getpid()))
        os.closerange(0, 3)
        time.sleep(120)
        os._exit(0)
    os._exit(0)
time.sleep(0.3)
open(os.environ["SWEEPCI_METRICS_FILE"], "a").write(json.dumps({"metrics": {"v": 1.0}}) + "\\n")
if os.environ.get("HANG"):
    time.sleep(120)
"""


def _innocent() -> subprocess.Popen:
    """A process of someone else, in its own group, that no sweepci may signal."""
    return subprocess.Popen(
        [sys.executable, "-c", "import time; time.sleep(120)"], start_new_session=True
    )


def _stale(store: Path, run_id: str, **columns: object) -> None:
    conn = sqlite3.connect(store)
    sets = ", ".join(f"{k} = ?" for k in columns)
    conn.execute(
        f"UPDATE runs SET state = 'running', ended_at = NULL, {sets} WHERE id = ?",
        (*columns.values(), run_id),
    )
    conn.execute("UPDATE sweeps SET status = 'running'")
    conn.commit()
    conn.close()


@pytest.fixture
def swept(tmp_path: Path) -> tuple[Path, str, str]:
    repo = make_repo(
        tmp_path / "proj", branch="feature/x", files={"p.py": PROGRAM, "s.yaml": SWEEP}
    )
    done = sweepci("run", "s.yaml", "--backend", "local", "--sweep-id", "sw", "--count", "2",
                   "--quiet", cwd=repo)  # fmt: skip
    assert done.returncode == 0, done.stderr
    store = repo / ".sweepci" / "sweepci.db"
    run_id = rows(store, "SELECT id FROM runs ORDER BY seq LIMIT 1")[0]["id"]
    return repo, str(store), run_id


@pytest.mark.parametrize("agent", ["dead", "pid_reused"])
def test_resume_recovers_a_stale_run_without_signalling_a_reused_group(
    agent: str, swept: tuple[Path, str, str], figures
) -> None:
    repo, store, run_id = swept
    group = _innocent()  # now holds the run's recorded pgid
    other = _innocent() if agent == "pid_reused" else None
    try:
        dead_pid = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                                  capture_output=True, text=True, check=True).stdout  # fmt: skip
        pid = other.pid if other else int(dead_pid)
        _stale(Path(store), run_id, pid=pid, pgid=group.pid, created_at=time.time() - 60)

        done = sweepci("run", "--resume", "sw", "--store", store, "--count", "3", cwd=repo)

        assert done.returncode == 0, done.stderr
        assert alive(group.pid), "resume signalled a process group that is not the run's"
        assert other is None or alive(other.pid)
        [row] = rows(Path(store), "SELECT state FROM runs WHERE id = ?", (run_id,))
        assert row["state"] == "interrupted"  # recovered, and its point redone
        states = [r["state"] for r in rows(Path(store), "SELECT state FROM runs")]
        assert states.count("finished") == 3
    finally:
        for proc in (group, other):
            if proc is not None:
                proc.kill()
                proc.wait()
    figures(faults=1, foreign_signals=0, runs_lost=0)


@pytest.mark.parametrize("how", ["finishes", "times_out"])
def test_a_daemonising_program_does_not_outlive_its_run(how: str, tmp_path: Path, figures) -> None:
    pid_dir = tmp_path / "pids"
    pid_dir.mkdir()
    sweep = "method: grid\nprogram: d.py\nmetric: {name: v}\nparameters:\n  x: {values: [1]}\n"
    repo = make_repo(tmp_path / "proj", branch="feature/x", files={"d.py": DAEMON, "s.yaml": sweep})
    env_extra = {"PID_DIR": str(pid_dir)}
    args = ["--run-timeout", "2"] if how == "times_out" else []
    if how == "times_out":
        env_extra["HANG"] = "1"
    from tests.conftest import clean_env

    done = sweepci("run", "s.yaml", "--backend", "local", *args, cwd=repo,
                   env=clean_env(**env_extra), timeout=120)  # fmt: skip

    assert "Traceback" not in done.stderr, done.stderr
    daemons = recorded_pids(pid_dir)
    assert len(daemons) == 1, "the program did not daemonise"
    left = wait_gone(daemons, timeout=10)
    for pid in left:
        os.kill(pid, 9)
    assert left == [], "a daemonised process outlived its run"
    figures(faults=1, orphans=0)
