"""Faults other than SIGKILL: disk full, a locked store, runs that fork and hang or flood
stderr, SIGTERM of the agent, and a wall clock that jumps back.

After each: one clear line (never a traceback), no process of a run left
alive, and `sweepci run --resume` finishes the sweep with no finished run lost
and none run twice.
"""

from __future__ import annotations

import json
import os
import resource
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import clean_env, make_repo, sweepci
from tests.reliability.helpers import (
    Result,
    assert_one_line_error,
    recorded_pids,
    rows,
    wait_for,
    wait_gone,
    write,
)

METRIC = "open(os.environ['SWEEPCI_METRICS_FILE'], 'a').write(json.dumps({'metrics': {'v': 1.0}}) + '\\n')\n"
QUICK = "import json, os\n" + METRIC


def _grid(n: int, program: str = "p.py") -> str:
    return f"method: grid\nprogram: {program}\nmetric: {{name: v}}\nparameters:\n  x: {{values: {list(range(n))}}}\n"


def _result(proc: subprocess.CompletedProcess) -> Result:
    return Result(proc.returncode, proc.stdout, proc.stderr)


def _resume_and_check(repo: Path, store: Path, n: int, env: dict[str, str]) -> tuple[int, int]:
    """Resume the store's only sweep; return (lost, twice) and assert both are 0."""
    before = {r["id"] for r in rows(store, "SELECT id FROM runs WHERE state = 'finished'")}
    (sweep,) = rows(store, "SELECT id FROM sweeps")
    proc = sweepci(
        "run",
        "--resume",
        sweep["id"],
        "--store",
        str(store),
        "--quiet",
        cwd=repo,
        env=env,
        timeout=180,
    )
    assert proc.returncode == 0, proc.stderr
    finished = rows(store, "SELECT id, config_json FROM runs WHERE state = 'finished'")
    xs = sorted(json.loads(r["config_json"])["x"] for r in finished)
    lost, twice = len(before - {r["id"] for r in finished}), len(xs) - len(set(xs))
    assert (lost, twice) == (0, 0)
    assert xs == list(range(n))
    return lost, twice


# -- disk full --------------------------------------------------------------------------
FILLER = (
    """\
import json, os, sys
x = int(sys.argv[-1].split("=")[1])
marker = os.environ["FILL_MARKER"]
if x == 2 and os.path.exists(marker):
    os.remove(marker)
    try:
        with open(os.path.join(os.environ["FILL_DIR"], "filler"), "wb") as fh:
            while True:
                fh.write(b"\\0" * 65536)
                fh.flush()
    except OSError:
        pass
"""
    + METRIC
)


@pytest.fixture
def small_disk(tmp_path: Path):
    """A 2 MiB file system (tmpfs; needs root)."""
    if os.geteuid() != 0:
        pytest.skip("a size-limited tmpfs needs root (mount -t tmpfs -o size=2m)")
    mnt = tmp_path / "small"
    mnt.mkdir()
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(mnt)], capture_output=True
    )
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.decode().strip()}")
    try:
        yield mnt
    finally:
        subprocess.run(["umount", "-l", str(mnt)], check=False)


def test_disk_full_while_writing_is_one_line_and_resumable(
    tmp_path: Path, small_disk: Path, figures
) -> None:
    repo = make_repo(tmp_path / "p", files={"p.py": FILLER, "s.yaml": _grid(6, "p.py")})
    store = small_disk / "sweepci.db"
    marker = tmp_path / "fill-once"
    marker.write_text("")
    env = clean_env(FILL_DIR=str(small_disk), FILL_MARKER=str(marker))
    proc = sweepci(
        "run", "s.yaml", "--backend", "local", "--store", str(store), cwd=repo, env=env, timeout=180
    )
    line = assert_one_line_error(_result(proc), code=proc.returncode, only_sweepci_lines=False)
    assert proc.returncode != 0
    assert "disk is full" in line or "No space left" in line, line
    assert not marker.exists(), "the program never filled the disk"
    (small_disk / "filler").unlink()
    lost, twice = _resume_and_check(repo, store, 6, env)
    figures(faults=1, runs_lost=lost, runs_twice=twice)


# -- a store locked by another process -----------------------------------------------------
LOCKER = """\
import sqlite3, sys, time
conn = sqlite3.connect(sys.argv[1], isolation_level=None)
conn.execute("BEGIN EXCLUSIVE")
print("locked", flush=True)
time.sleep(float(sys.argv[2]))
conn.execute("ROLLBACK")
"""


def _lock(store: Path, seconds: float) -> subprocess.Popen:
    locker = subprocess.Popen(
        [sys.executable, "-c", LOCKER, str(store), str(seconds)], stdout=subprocess.PIPE, text=True
    )
    assert locker.stdout.readline().strip() == "locked"
    return locker


def _sweep_store(repo: Path, n: int = 3) -> tuple[Path, str]:
    proc = sweepci("create", "s.yaml", "--backend", "local", cwd=repo)
    assert proc.returncode == 0, proc.stderr
    return repo / ".sweepci/sweepci.db", proc.stdout.strip()


def test_a_store_locked_longer_than_the_busy_timeout_is_one_line(tmp_path: Path, figures) -> None:
    repo = make_repo(tmp_path / "p", files={"p.py": QUICK, "s.yaml": _grid(3)})
    store, sweep_id = _sweep_store(repo)
    env = clean_env(SWEEPCI_BUSY_TIMEOUT="1")
    locker = _lock(store, 60)
    try:
        before = store.read_bytes()
        for argv in (
            ["run", "--resume", sweep_id],
            ["agent", sweep_id],
            ["create", "s.yaml", "--backend", "local"],
        ):
            start = time.monotonic()
            proc = sweepci(*argv, cwd=repo, env=env, timeout=60)
            line = assert_one_line_error(_result(proc))
            assert "locked by another process" in line and "1 s" in line, line
            assert time.monotonic() - start < 30
        assert store.read_bytes() == before
    finally:
        locker.kill()
        locker.wait()
    lost, twice = _resume_and_check(repo, store, 3, clean_env())
    figures(faults=3, runs_lost=lost, runs_twice=twice)


def test_a_short_lock_during_a_sweep_is_waited_out(tmp_path: Path, figures) -> None:
    slow = "import json, os, time\ntime.sleep(0.3)\n" + METRIC
    repo = make_repo(tmp_path / "p", files={"p.py": slow, "s.yaml": _grid(6)})
    store, sweep_id = _sweep_store(repo)
    agent = subprocess.Popen(
        [sys.executable, "-m", "orchestrator", "run", "--resume", sweep_id, "--quiet"],
        cwd=repo,
        env=clean_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    wait_for(
        lambda: rows(store, "SELECT id FROM runs WHERE state = 'finished'"), 60, "a finished run"
    )
    locker = _lock(store, 2)
    locker.wait()
    _out, err = agent.communicate(timeout=180)
    assert agent.returncode == 0, err
    states = [r["state"] for r in rows(store, "SELECT state FROM runs")]
    assert states == ["finished"] * 6
    figures(faults=1, runs_lost=0, runs_twice=0)


def test_a_lock_that_outlasts_a_heartbeat_stops_the_agent_and_its_run(
    tmp_path: Path, figures
) -> None:
    long_run = (
        "import json, os, subprocess, time\n"
        "g = subprocess.Popen(['sleep', '60'])\n"
        "open(os.path.join(os.environ['PID_DIR'], os.environ['WANDB_RUN_ID'] + '.pid'), 'w').write(f'{os.getpid()} {g.pid}')\n"
        "time.sleep(8 if os.path.exists(os.environ['SLOW_ONCE']) else 0.1)\n"
        "g.kill()\n" + METRIC
    )
    repo = make_repo(tmp_path / "p", files={"p.py": long_run, "s.yaml": _grid(2)})
    store, sweep_id = _sweep_store(repo)
    pid_dir, slow_once = tmp_path / "pids", tmp_path / "slow"
    pid_dir.mkdir()
    slow_once.write_text("")
    env = clean_env(SWEEPCI_BUSY_TIMEOUT="1", PID_DIR=str(pid_dir), SLOW_ONCE=str(slow_once))
    agent = subprocess.Popen(
        [sys.executable, "-m", "orchestrator", "run", "--resume", sweep_id],
        cwd=repo,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    wait_for(lambda: list(pid_dir.glob("*.pid")), 60, "the run to start")
    locker = _lock(store, 30)  # the heartbeat after 5 s finds the store locked
    try:
        out, err = agent.communicate(timeout=60)
    finally:
        locker.kill()
        locker.wait()
    line = assert_one_line_error(Result(agent.returncode, out, err), only_sweepci_lines=False)
    assert "locked by another process" in line
    orphans = wait_gone(recorded_pids(pid_dir), timeout=10)
    assert orphans == [], "the agent died but left its run behind"
    slow_once.unlink()
    lost, twice = _resume_and_check(repo, store, 2, env)
    figures(faults=1, runs_lost=lost, runs_twice=twice, orphans=len(orphans))


# -- runs that fork and hang, runs that flood stderr, SIGTERM of the agent ---------------------
FORKER = """\
import os, signal, subprocess, sys, time
pids = [os.getpid()]
stubborn = subprocess.Popen([sys.executable, "-c",
    "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); time.sleep(120)"])
pids.append(stubborn.pid)
r, w = os.pipe()
if os.fork() == 0:  # a double fork: the grandchild is reparented away from the program
    if os.fork() == 0:
        os.write(w, str(os.getpid()).encode())
        time.sleep(120)
    os._exit(0)
pids.append(int(os.read(r, 32)))
with open(os.path.join(os.environ["PID_DIR"], os.environ["WANDB_RUN_ID"] + ".pid"), "w") as fh:
    fh.write(" ".join(map(str, pids)))
time.sleep(120)
"""


@pytest.mark.slow
def test_a_run_that_forks_and_hangs_is_stopped_with_all_its_processes(
    tmp_path: Path, figures
) -> None:
    repo = make_repo(tmp_path / "p", files={"p.py": FORKER, "s.yaml": _grid(2)})
    pid_dir = tmp_path / "pids"
    pid_dir.mkdir()
    env = clean_env(PID_DIR=str(pid_dir))
    start = time.monotonic()
    proc = sweepci(
        "run",
        "s.yaml",
        "--backend",
        "local",
        "--run-timeout",
        "1",
        "--quiet",
        cwd=repo,
        env=env,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    assert time.monotonic() - start < 60
    states = [r["state"] for r in rows(repo / ".sweepci/sweepci.db", "SELECT state FROM runs")]
    assert states == ["killed", "killed"]
    pids = recorded_pids(pid_dir)
    assert len(pids) == 6
    orphans = wait_gone(pids, timeout=10)
    figures(faults=2, orphans=len(orphans))
    assert orphans == []


@pytest.mark.slow
def test_sigterm_of_the_agent_stops_the_run_group_and_the_sweep_resumes(
    tmp_path: Path, figures
) -> None:
    repo = make_repo(tmp_path / "p", files={"p.py": FORKER, "q.py": QUICK, "s.yaml": _grid(2)})
    pid_dir = tmp_path / "pids"
    pid_dir.mkdir()
    env = clean_env(PID_DIR=str(pid_dir))
    store = repo / ".sweepci/sweepci.db"
    agent = subprocess.Popen(
        [sys.executable, "-m", "orchestrator", "run", "s.yaml", "--backend", "local"],
        cwd=repo,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    wait_for(lambda: list(pid_dir.glob("*.pid")), 60, "the run to start")
    agent.send_signal(signal.SIGTERM)
    out, err = agent.communicate(timeout=60)
    line = assert_one_line_error(
        Result(agent.returncode, out, err), code=130, only_sweepci_lines=False
    )
    assert "resumable" in line
    orphans = wait_gone(recorded_pids(pid_dir), timeout=10)
    assert orphans == []
    (s,) = rows(store, "SELECT config_json FROM sweeps")
    # the resumed sweep runs a quick program: same sweep, fixed code
    config = json.loads(s["config_json"])
    config["program"] = "q.py"
    conn = sqlite3.connect(store)
    conn.execute("UPDATE sweeps SET config_json = ?", (json.dumps(config),))
    conn.commit()
    conn.close()
    lost, twice = _resume_and_check(repo, store, 2, env)
    figures(faults=1, runs_lost=lost, runs_twice=twice, orphans=len(orphans))


FLOOD = """\
import os, sys
chunk = (b"x" * 1023 + b"\\n") * 64
for _ in range(int(os.environ["FLOOD_MB"]) * 16):
    os.write(2, chunk)
    os.write(1, chunk)
sys.stderr.write("THE END: out of patience\\n")
sys.exit(1)
"""
MEASURE = """\
import resource, subprocess, sys
subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
"""


def _peak_rss_kib(repo: Path, mb: int) -> int:
    argv = [
        sys.executable,
        "-c",
        MEASURE,
        sys.executable,
        "-m",
        "orchestrator",
        "run",
        "s.yaml",
        "--backend",
        "local",
        "--count",
        "1",
    ]
    out = subprocess.run(
        argv, cwd=repo, env=clean_env(FLOOD_MB=str(mb)), capture_output=True, text=True, timeout=300
    )
    return int(out.stdout.strip())


@pytest.mark.slow
def test_megabytes_of_stderr_keep_memory_bounded_and_the_tail(tmp_path: Path, figures) -> None:
    repo = make_repo(tmp_path / "p", files={"p.py": FLOOD, "s.yaml": _grid(1)})
    quiet = _peak_rss_kib(repo, 0)
    shutil.rmtree(repo / ".sweepci")
    flooded = _peak_rss_kib(repo, 64)
    store = repo / ".sweepci/sweepci.db"
    (run,) = rows(store, "SELECT state, stderr_tail, run_dir FROM runs")
    assert run["state"] == "failed"
    assert len(run["stderr_tail"].encode()) <= 8192
    assert run["stderr_tail"].rstrip().endswith("THE END: out of patience")
    run_dir = Path(run["run_dir"])
    assert (run_dir / "stderr.log").stat().st_size >= 64 * 2**20
    assert (run_dir / "stdout.log").stat().st_size >= 64 * 2**20
    # 64 MiB went through the agent; its memory grew by far less
    assert flooded - quiet < 32 * 1024, (quiet, flooded)
    shown = sweepci("show", cwd=repo)
    assert "THE END: out of patience" in shown.stdout
    figures(faults=1)


# -- the wall clock jumps back ----------------------------------------------------------------
# installed into sweepci and its programs with PYTHONPATH: time.time() (the wall clock, as NTP
# would step it) goes back an hour JUMP_AFTER seconds after the process starts; the monotonic
# clock is untouched
JUMP = """\
import os, time
_wall = time.time
_start = time.monotonic()
_after = float(os.environ.get("JUMP_AFTER", "0"))
def _jumpy():
    return _wall() - (3600 if time.monotonic() - _start >= _after else 0)
time.time = _jumpy
"""


def test_a_wall_clock_jumping_back_breaks_no_duration_or_order(tmp_path: Path, figures) -> None:
    slow = "import json, os, time\ntime.sleep(0.6)\n" + METRIC
    repo = make_repo(tmp_path / "p", files={"p.py": slow, "s.yaml": _grid(3)})
    clock = write(tmp_path / "clock" / "sitecustomize.py", JUMP).parent
    first = sweepci(
        "run", "s.yaml", "--backend", "local", "--sweep-id", "before", "--quiet", cwd=repo
    )
    assert first.returncode == 0, first.stderr
    env = clean_env(JUMP_AFTER="0.3")
    env["PYTHONPATH"] = f"{clock}{os.pathsep}{env['PYTHONPATH']}"
    second = sweepci(
        "run", "s.yaml", "--backend", "local", "--sweep-id", "after", "--json", cwd=repo, env=env
    )
    assert second.returncode == 0, second.stderr
    result = json.loads(second.stdout)
    assert [r["state"] for r in result["runs"]] == ["finished"] * 3
    assert all(r["duration"] is not None and 0.5 <= r["duration"] < 60 for r in result["runs"]), (
        result["runs"]
    )
    shown = json.loads(sweepci("show", "--json", cwd=repo).stdout)
    assert shown["sweep"]["id"] == "after", (
        "`latest` is the sweep created last, whatever the wall clock said"
    )
    assert all(r["duration"] >= 0 for r in shown["runs"])
    listed = sweepci("show", cwd=repo).stdout
    assert "-3" not in listed.split("best run")[0].split("time")[-1]
    figures(faults=1)


def test_rlimit_on_file_size_is_one_line(tmp_path: Path, figures) -> None:
    """Where no small file system can be mounted, a file-size limit makes the store's writes fail the same way."""
    repo = make_repo(tmp_path / "p", files={"p.py": QUICK, "s.yaml": _grid(3)})
    store, sweep_id = _sweep_store(repo)
    limit = store.stat().st_size + 4096

    def cap() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    proc = subprocess.run(
        [sys.executable, "-m", "orchestrator", "run", "--resume", sweep_id, "--quiet"],
        cwd=repo,
        env=clean_env(),
        capture_output=True,
        text=True,
        timeout=120,
        preexec_fn=cap,
    )
    if proc.returncode == 0:
        pytest.skip("the store never outgrew the limit")
    line = assert_one_line_error(_result(proc), code=proc.returncode, only_sweepci_lines=False)
    assert "store" in line or "disk" in line, line
    lost, twice = _resume_and_check(repo, store, 3, clean_env())
    figures(faults=1, runs_lost=lost, runs_twice=twice)
