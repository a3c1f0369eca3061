"""One agent per GPU (`--gpus`): a stand-in `nvidia-smi` on PATH, real agents, real runs.

No GPU exists here, so `nvidia-smi` is a shell script printing what a 4-GPU machine
prints for `--query-gpu=index --format=csv,noheader`; every run records the
`CUDA_VISIBLE_DEVICES` it saw and when it ran, and the test checks the timeline.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from orchestrator.agent import gpus
from orchestrator.agent.device_lock import hold_devices
from orchestrator.errors import BackendError, UsageError
from orchestrator.store import claims, open_store
from orchestrator.store import runs as R
from tests.conftest import clean_env, make_repo, sweepci

ASSETS = Path(__file__).parent / "assets"

PROBE = r"""
import json, os, signal, sys, time
out = os.environ["PROBE_OUT"]
start = time.time()
if os.environ.get("CRASH_ONCE") and not os.path.exists(os.path.join(out, "crashed")):
    open(os.path.join(out, "crashed"), "w").close()
    os.kill(os.getpid(), signal.SIGKILL)
if os.environ.get("BARRIER"):
    # each run waits until runs on BARRIER devices have started: shows the agents side by
    # side however slowly the machine starts them
    open(os.path.join(out, "started-" + os.environ["CUDA_VISIBLE_DEVICES"]), "w").close()
    deadline = time.time() + 120
    while len([n for n in os.listdir(out) if n.startswith("started-")]) < int(os.environ["BARRIER"]):
        assert time.time() < deadline, "the other agents never started a run"
        time.sleep(0.05)
time.sleep(float(os.environ.get("PROBE_SLEEP", "0.3")))
with open(os.path.join(out, os.environ["WANDB_RUN_ID"] + ".json"), "w") as fh:
    json.dump({"cvd": os.environ.get("CUDA_VISIBLE_DEVICES"), "start": start, "end": time.time()}, fh)
with open(os.environ["SWEEPCI_METRICS_FILE"], "a") as fh:
    fh.write(json.dumps({"step": 0, "metrics": {"score": 1.0}}) + "\n")
"""

SWEEP = """\
method: random
program: probe.py
metric: {name: score, goal: maximize}
parameters:
  x: {min: 0.0, max: 1.0}
"""


def _smi(bin_dir: Path, body: str) -> Path:
    bin_dir.mkdir(parents=True, exist_ok=True)
    script = bin_dir / "nvidia-smi"
    script.write_text("#!/bin/sh\n" + body + "\n")
    script.chmod(0o755)
    return bin_dir


def _setup(tmp_path: Path, smi_body: str | None = "printf '0\\n1\\n2\\n3\\n'", **extra: str):
    repo = make_repo(tmp_path / "proj", files={"probe.py": PROBE, "s.yaml": SWEEP})
    out = tmp_path / "out"
    out.mkdir()
    path = os.environ["PATH"]
    if smi_body is not None:
        path = f"{_smi(tmp_path / 'bin', smi_body)}{os.pathsep}{path}"
    env = clean_env(
        PATH=path,
        PROBE_OUT=str(out),
        SWEEPCI_GPU_LOCK_DIR=str(tmp_path / "locks"),
        **extra,
    )
    env.pop("CUDA_VISIBLE_DEVICES", None)
    env.update(extra)
    return repo, out, env


def _seen(out: Path) -> list[dict]:
    return [json.loads(p.read_text()) for p in sorted(out.glob("*.json"))]


def _stored(repo: Path) -> list[sqlite3.Row]:
    conn = sqlite3.connect(repo / ".sweepci" / "sweepci.db")
    conn.row_factory = sqlite3.Row
    try:
        return conn.execute("SELECT id, state, devices FROM runs ORDER BY seq").fetchall()
    finally:
        conn.close()


def _overlaps(spans: list[tuple[float, float]]) -> bool:
    spans = sorted(spans)
    return any(b[0] < a[1] for a, b in zip(spans, spans[1:]))


def test_gpus_auto_runs_one_agent_per_device_and_never_shares_one(tmp_path: Path) -> None:
    repo, out, env = _setup(tmp_path, BARRIER="4")
    proc = sweepci("run", "s.yaml", "--count", "12", "--gpus", "auto", "--json", cwd=repo, env=env)
    assert proc.returncode == 0, proc.stderr
    assert "--gpus auto: 4 GPU(s) from nvidia-smi (0,1,2,3); 4 agent(s)" in proc.stderr
    seen = _seen(out)
    assert len(seen) == 12
    assert all(s["cvd"] in {"0", "1", "2", "3"} for s in seen)  # exactly one device each
    assert {s["cvd"] for s in seen} == {"0", "1", "2", "3"}  # all four used
    for device in "0123":
        spans = [(s["start"], s["end"]) for s in seen if s["cvd"] == device]
        assert not _overlaps(spans), f"GPU {device} ran two runs at once"
    # the four agents really ran side by side: some runs on different devices overlapped
    assert _overlaps([(s["start"], s["end"]) for s in seen])
    # the store and the leaderboard say which device each run used, as the run saw it
    by_run = {p.stem: json.loads(p.read_text())["cvd"] for p in out.glob("*.json")}
    stored = _stored(repo)
    assert {r["id"]: r["devices"] for r in stored} == by_run
    result = json.loads(proc.stdout)
    assert {r["id"]: r["devices"] for r in result["runs"]} == by_run
    board = sweepci("leaderboard", cwd=repo, env=env)
    assert board.returncode == 0, board.stderr
    header = board.stdout.splitlines()[0].split()
    assert "gpu" in header


def test_cuda_visible_devices_wins_and_gpus_per_run_groups_devices(tmp_path: Path) -> None:
    repo, out, env = _setup(tmp_path, CUDA_VISIBLE_DEVICES="4,5,6,7,8")
    proc = sweepci(
        "run", "s.yaml", "--count", "4", "--gpus", "auto", "--gpus-per-run", "2",
        cwd=repo, env=env,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert "5 GPU(s) from CUDA_VISIBLE_DEVICES (4,5,6,7,8); 2 agent(s), 2 GPU(s) each" in (
        proc.stderr
    )
    assert "unused: 8" in proc.stderr
    seen = _seen(out)
    assert {s["cvd"] for s in seen} == {"4,5", "6,7"}
    for group in ("4,5", "6,7"):
        assert not _overlaps([(s["start"], s["end"]) for s in seen if s["cvd"] == group])
    assert sorted(r["devices"] for r in _stored(repo)) == sorted(s["cvd"] for s in seen)


def test_a_crashed_run_frees_its_device(tmp_path: Path) -> None:
    repo, out, env = _setup(tmp_path, CRASH_ONCE="1", PROBE_SLEEP="0.05")
    proc = sweepci("run", "s.yaml", "--count", "3", "--gpus", "3,", cwd=repo, env=env)
    assert proc.returncode == 0, proc.stderr
    assert "1 GPU(s) as given (3)" in proc.stderr
    rows = _stored(repo)
    assert [r["state"] for r in rows] == ["crashed", "finished", "finished"]
    assert {r["devices"] for r in rows} == {"3"}
    assert [s["cvd"] for s in _seen(out)] == ["3", "3"]


def test_a_device_held_by_another_sweepci_process_waits_for_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo, out, env = _setup(tmp_path, PROBE_SLEEP="0.05")
    monkeypatch.setenv("SWEEPCI_GPU_LOCK_DIR", env["SWEEPCI_GPU_LOCK_DIR"])
    with hold_devices(["1"], lambda: False) as held:
        assert held
        proc = subprocess.Popen(
            [sys.executable, "-m", "orchestrator", "run", "s.yaml", "--count", "2", "--gpus", "1,"],
            cwd=repo, env=env, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True,
        )  # fmt: skip
        try:
            assert proc.stderr is not None
            lines = []
            for line in proc.stderr:
                lines.append(line)
                if "waiting for GPU 1 (another sweepci run holds it)" in line:
                    break
            time.sleep(0.5)  # still waiting: nothing ran while the device was held
            assert _seen(out) == [], "".join(lines)
            released_at = time.time()
        except BaseException:
            proc.kill()
            raise
    rest = proc.communicate(timeout=120)[1]
    assert proc.returncode == 0, "".join(lines) + rest
    seen = _seen(out)
    assert len(seen) == 2 and min(s["start"] for s in seen) >= released_at


@pytest.mark.parametrize(
    "body, message",
    [
        ("printf '0\\n1; rm -rf /\\n'", "printed '1; rm -rf /' where a GPU index was expected"),
        ("echo 'NVIDIA-SMI has failed' >&2; exit 9", "nvidia-smi exited 9"),
        ("yes 0", "nvidia-smi printed more than 64 KiB"),
        ("printf '0\\n0\\n'", "listed a GPU index twice"),
        ("printf '\\033]0;x\\007\\n'", "where a GPU index was expected"),
    ],
)
def test_a_broken_or_hostile_nvidia_smi_is_one_line_and_nothing_runs(
    tmp_path: Path, body: str, message: str
) -> None:
    repo, out, env = _setup(tmp_path, smi_body=body)
    proc = sweepci("run", "s.yaml", "--count", "2", "--gpus", "auto", cwd=repo, env=env, timeout=60)
    assert proc.returncode == 3, proc.stderr
    assert message in proc.stderr
    assert proc.stderr.strip().count("\n") == 0 and "Traceback" not in proc.stderr
    assert "\x1b" not in proc.stderr and "\x07" not in proc.stderr
    assert not (repo / ".sweepci").exists() and _seen(out) == []


def test_a_hanging_nvidia_smi_is_given_up_on_in_bounded_time(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bin_dir = _smi(tmp_path / "bin", "sleep 60")
    monkeypatch.setattr(gpus, "NVIDIA_SMI_TIMEOUT_S", 0.5)
    env = {"PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}"}
    started = time.monotonic()
    with pytest.raises(BackendError, match="no answer within 0.5 s"):
        gpus.detect(env)
    assert time.monotonic() - started < 5


def test_gpu_specs() -> None:
    none: dict[str, str] = {"PATH": "/nonexistent"}
    assert gpus.choose_devices("0,2,3", none)[0] == ("0", "2", "3")
    assert gpus.choose_devices("3,", none)[0] == ("3",)
    assert gpus.choose_devices("2", none)[0] == ("0", "1")  # nothing to check against
    four = {"PATH": "/nonexistent", "CUDA_VISIBLE_DEVICES": "GPU-1a2b,GPU-3c4d,5,6"}
    assert gpus.choose_devices("2", four)[0] == ("GPU-1a2b", "GPU-3c4d")
    with pytest.raises(UsageError, match="only 4 GPU"):
        gpus.choose_devices("5", four)
    for bad in ("0", "-1", "a,b", "0,0", "1;2", "$(id),", "auto,"):
        with pytest.raises(UsageError):
            gpus.choose_devices(bad, none)
    with pytest.raises(UsageError, match="not a GPU index"):
        gpus.detect({"CUDA_VISIBLE_DEVICES": "0,`id`"})
    assert gpus.slots(("0", "1", "2"), 2) == ([("0", "1")], ["2"])
    with pytest.raises(UsageError, match="only 3 GPU"):
        gpus.slots(("0", "1", "2"), 4)


def test_gpu_options_that_cannot_work_together(tmp_path: Path) -> None:
    repo, out, env = _setup(tmp_path)
    for args, message in [
        (["--gpus", "auto", "--parallel", "2"], "give --gpus or --parallel, not both"),
        (["--gpus-per-run", "2"], "--gpus-per-run needs --gpus"),
        (["--gpus", "auto", "--gpus-per-run", "5"], "--gpus-per-run 5: only 4 GPU(s)"),
    ]:
        proc = sweepci("run", "s.yaml", *args, cwd=repo, env=env)
        assert proc.returncode == 2 and message in proc.stderr, proc.stderr
    assert not (repo / ".sweepci").exists()


def test_agent_gpus_joins_a_sweep_with_one_agent_per_device(tmp_path: Path) -> None:
    repo, out, env = _setup(tmp_path, PROBE_SLEEP="0.05")
    created = sweepci("create", "s.yaml", cwd=repo, env=env)
    assert created.returncode == 0, created.stderr
    sweep_id = created.stdout.strip()
    proc = sweepci("agent", sweep_id, "--gpus", "2", "--count", "4", cwd=repo, env=env)
    assert proc.returncode == 0, proc.stderr
    assert sorted(r["devices"] for r in _stored(repo)) == ["0", "0", "1", "1"]


def test_the_v4_store_upgrades_and_records_devices(tmp_path: Path) -> None:
    copy = tmp_path / "store-v4.db"
    shutil.copy(ASSETS / "store-v4.db", copy)
    with open_store(copy) as store:
        sweep = R.get_sweep(store, "v1sweep")
        run = claims.claim_next_run(
            store, sweep.id, "a", lambda trials, s: {"x": 9}, devices="GPU-1a2b,3"
        )
        assert run is not None and run.devices == "GPU-1a2b,3"
        rows = store.query("SELECT devices FROM runs ORDER BY seq")
    assert [r["devices"] for r in rows] == [None, None, None, "GPU-1a2b,3"]
