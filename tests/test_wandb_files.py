"""Reading offline W&B runs made by the real wandb SDK in real subprocesses, and the live channel."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from orchestrator.agent.live import read_new_lines, report_metric
from orchestrator.agent.wandb_files import (
    BLOCK_SIZE,
    final_metrics,
    find_run_file,
    read_offline_run,
    read_run_dir,
)

REPO = Path(__file__).resolve().parents[1]
TRAIN = REPO / "examples" / "train.py"
TAGS = "branch:x,sha:abc"


def wandb_env(tmp: Path, **extra: str) -> dict[str, str]:
    """An offline, key-less environment whose every wandb path lies under `tmp`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("WANDB_", "SWEEPCI_"))}
    for name in ("home", "config", "cache", "tmp", "runs"):
        (tmp / name).mkdir(parents=True, exist_ok=True)
    env.update(
        WANDB_MODE="offline",
        WANDB_SILENT="true",
        WANDB_DIR=str(tmp / "runs"),
        WANDB_TAGS=TAGS,
        HOME=str(tmp / "home"),
        WANDB_CONFIG_DIR=str(tmp / "config"),
        WANDB_CACHE_DIR=str(tmp / "cache"),
        TMPDIR=str(tmp / "tmp"),
    )
    env.update(extra)
    return env


def write_param_file(path: Path, params: dict) -> Path:
    """The file a W&B agent hands the child through WANDB_SWEEP_PARAM_PATH."""
    lines = ["wandb_version: 1"] + [f"{k}:\n  value: {json.dumps(v)}" for k, v in params.items()]
    path.write_text("\n".join(lines) + "\n")
    return path


def run_script(args: list[str], env: dict[str, str], cwd: Path) -> None:
    proc = subprocess.run(
        [sys.executable, *args], env=env, cwd=cwd, capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0, proc.stderr[-3000:]


def test_sweep_run_of_example_reads_back(tmp_path: Path) -> None:
    params = write_param_file(
        tmp_path / "params.yaml",
        {"dataset": "wine", "model": "sgd", "epochs": 7, "learning_rate": 0.05, "seed": 1},
    )
    live = tmp_path / "live.jsonl"
    env = wandb_env(
        tmp_path,
        WANDB_SWEEP_PARAM_PATH=str(params),
        WANDB_RUN_ID="sweeprun1",
        SWEEPCI_METRICS_FILE=str(live),
    )
    assert find_run_file(env["WANDB_DIR"]) is None
    run_script([str(TRAIN)], env, tmp_path)

    assert find_run_file(env["WANDB_DIR"], "someother") is None
    run = read_run_dir(env["WANDB_DIR"], "sweeprun1")
    assert run is not None and run.run_id == "sweeprun1"
    # Sweep values override the script's defaults; untouched defaults stay.
    assert run.config["model"] == "sgd" and run.config["epochs"] == 7
    assert run.config["learning_rate"] == 0.05 and run.config["test_size"] == 0.25
    assert "_wandb" not in run.config
    assert run.tags == ["branch:x", "sha:abc"]
    assert run.exit_code == 0 and not run.truncated and run.skipped_records == 0
    for name in ("accuracy", "precision", "recall", "f1"):
        assert 0.0 <= run.summary[name] <= 1.0
    assert [row["epoch"] for row in run.history] == list(range(7))
    assert [row["_step"] for row in run.history] == list(range(7))
    assert final_metrics(run)["f1"] == run.summary["f1"]

    # The script's inline live reports match what wandb recorded, line for line.
    records, offset = read_new_lines(live, 0)
    assert offset == live.stat().st_size
    assert [r["step"] for r in records] == list(range(7))
    assert [r["metrics"]["f1"] for r in records] == [row["f1"] for row in run.history]


@pytest.mark.parametrize(
    ("args", "rows"),
    [(["--model=gradient_boosting", "--n_estimators=4"], 4), (["--model=mlp", "--epochs=3"], 3)],
)
def test_example_takes_wandb_command_line_args(tmp_path: Path, args: list[str], rows: int) -> None:
    env = wandb_env(tmp_path, WANDB_RUN_ID="argsrun")
    run_script([str(TRAIN), *args, "--dataset=iris", "--unknown_flag=1"], env, tmp_path)
    run = read_run_dir(env["WANDB_DIR"])
    assert run is not None
    assert run.config["dataset"] == "iris"
    assert run.config["model"] == args[0].split("=")[1]
    assert len(run.history) == rows
    assert 0.0 <= run.summary["f1"] <= 1.0


NESTED_SCRIPT = """
import sys, time, wandb
run = wandb.init(config={"blob": "x" * 100000, "opt": {"lr": 0.5}})
for i in range(STEPS):
    wandb.log({"i": i, "a": {"b": i}, "text": "row %d" % i})
    if i == READY_AT:
        print("ready", flush=True)
    time.sleep(PAUSE)
run.summary["best"] = {"f1": 0.75}
sys.exit(EXIT)
"""


def write_script(tmp: Path, steps: int, ready_at: int = -1, pause: float = 0.0, exit_code=0):
    code = NESTED_SCRIPT.replace("STEPS", str(steps)).replace("READY_AT", str(ready_at))
    path = tmp / "nested.py"
    path.write_text(code.replace("PAUSE", str(pause)).replace("EXIT", str(exit_code)))
    return path


@pytest.fixture(scope="module")
def long_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A finished run whose file spans several 32 KiB blocks and ends with exit code 3."""
    tmp = tmp_path_factory.mktemp("long")
    env = wandb_env(tmp, WANDB_RUN_ID="longrun")
    script = write_script(tmp, steps=300, exit_code=3)
    proc = subprocess.run([sys.executable, str(script)], env=env, cwd=tmp, timeout=120)
    assert proc.returncode == 3
    path = find_run_file(env["WANDB_DIR"], "longrun")
    assert path is not None and path.stat().st_size > 3 * BLOCK_SIZE
    return path


def test_nested_keys_large_records_and_exit_code(long_run: Path) -> None:
    run = read_offline_run(long_run)
    assert run.exit_code == 3
    assert [row["a.b"] for row in run.history] == list(range(300))
    assert run.history[5]["text"] == "row 5"
    assert run.summary["a.b"] == 299 and run.summary["best.f1"] == 0.75
    # A 100 kB config value is split over several blocks (FIRST/MIDDLE/LAST records).
    assert len(run.config["blob"]) == 100000 and run.config["opt"] == {"lr": 0.5}


def test_truncated_copies_give_a_prefix_of_the_history(long_run: Path, tmp_path: Path) -> None:
    full = read_offline_run(long_run)
    data = long_run.read_bytes()
    cuts = [0, 3, 7, 50, BLOCK_SIZE - 3, BLOCK_SIZE + 10, len(data) // 2, len(data) - 1]
    for cut in cuts:
        copy = tmp_path / "offline-run-x" / "run-longrun.wandb"
        copy.parent.mkdir(exist_ok=True)
        copy.write_bytes(data[:cut])
        part = read_offline_run(copy)
        assert part.run_id == "longrun"
        assert part.history == full.history[: len(part.history)]
        assert part.exit_code is None
    assert len(read_offline_run(copy).history) == 300  # only the exit record was cut off


def test_corrupt_block_is_skipped_and_later_blocks_still_read(
    long_run: Path, tmp_path: Path
) -> None:
    data = bytearray(long_run.read_bytes())
    # The 100 kB config fills the first blocks; the last full block holds history rows.
    data[(len(data) // BLOCK_SIZE - 1) * BLOCK_SIZE + BLOCK_SIZE // 2] ^= 0xFF
    copy = tmp_path / "run-longrun.wandb"
    copy.write_bytes(bytes(data))
    run = read_offline_run(copy)
    assert run.skipped_records >= 1
    assert run.exit_code == 3 and run.history[-1]["a.b"] == 299
    assert 0 < len(run.history) < 300 and len(run.config["blob"]) == 100000


def test_header_only_and_empty_files(tmp_path: Path) -> None:
    run_dir = tmp_path / "wandb" / "offline-run-20250101_000000-abc"
    run_dir.mkdir(parents=True)
    for content in (b":W&B\xe1\xbe\x00", b""):
        (run_dir / "run-abc.wandb").write_bytes(content)
        run = read_run_dir(tmp_path)
        assert run is not None and run.run_id == "abc"
        assert run.history == [] and run.summary == {} and run.exit_code is None
        assert final_metrics(run) == {}


def test_sigkilled_run_reads_without_error(tmp_path: Path) -> None:
    env = wandb_env(tmp_path, WANDB_RUN_ID="killed")
    script = write_script(tmp_path, steps=100000, ready_at=200, pause=0.001)
    # Its own session, so the kill also reaches wandb's service processes, as the agent's would.
    proc = subprocess.Popen(
        [sys.executable, str(script)],
        env=env,
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
    path = find_run_file(env["WANDB_DIR"], "killed")
    assert path is not None
    snapshot = tmp_path / "snapshot.wandb"  # wandb's helpers may still be dying: read a copy
    shutil.copyfile(path, snapshot)
    run = read_offline_run(snapshot)
    assert run.exit_code is None and not run.finished
    steps = [row["_step"] for row in run.history]
    assert steps == list(range(len(steps)))
    assert len(steps) < 100000


def test_live_channel_reports_and_tails(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "metrics.jsonl"
    monkeypatch.delenv("SWEEPCI_METRICS_FILE", raising=False)
    report_metric(step=0, f1=0.5)
    assert not target.exists()  # outside a sweepci run nothing is written

    monkeypatch.setenv("SWEEPCI_METRICS_FILE", str(target))
    report_metric(step=0, f1=0.5, loss=1.25)
    report_metric(f1=0.6)
    records, offset = read_new_lines(target, 0)
    assert [(r["step"], r["metrics"]) for r in records] == [
        (0, {"f1": 0.5, "loss": 1.25}),
        (None, {"f1": 0.6}),
    ]
    assert all(isinstance(r["t"], float) for r in records)
    assert read_new_lines(target, offset) == ([], offset)

    with open(target, "ab") as handle:  # a writer caught halfway through a line
        handle.write(b'{"step": 2, "t": 1.0, "metr')
    assert read_new_lines(target, offset) == ([], offset)
    with open(target, "ab") as handle:
        handle.write(b'ics": {"f1": 0.7}}\n')
    records, offset = read_new_lines(target, offset)
    assert [r["metrics"] for r in records] == [{"f1": 0.7}]
    assert offset == target.stat().st_size


def test_concurrent_writers_never_interleave_lines(tmp_path: Path) -> None:
    target = tmp_path / "metrics.jsonl"
    code = textwrap.dedent(
        """
        import sys
        from orchestrator import report_metric
        for i in range(300):
            report_metric(step=i, writer=int(sys.argv[1]), padding="y" * 2000)
        """
    )
    env = dict(os.environ, SWEEPCI_METRICS_FILE=str(target))
    writers = [
        subprocess.Popen([sys.executable, "-c", code, str(n)], env=env, cwd=REPO) for n in range(4)
    ]
    seen: list[dict] = []
    offset = 0
    while any(w.poll() is None for w in writers):
        records, offset = read_new_lines(target, offset)
        seen.extend(records)
    for w in writers:
        assert w.wait(timeout=60) == 0
    records, offset = read_new_lines(target, offset)
    seen.extend(records)
    assert len(seen) == 1200
    for n in range(4):
        assert [r["step"] for r in seen if r["metrics"]["writer"] == n] == list(range(300))


def test_importing_readers_does_not_import_wandb() -> None:
    code = (
        "import sys, orchestrator, orchestrator.agent.wandb_files, orchestrator.agent.live;"
        "print('wandb' in sys.modules)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, check=True
    )
    assert out.stdout.strip() == "False"
