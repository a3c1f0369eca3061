"""`sweepci show RUN`: one run with everything known about it; `show SWEEP` unchanged."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from tests.conftest import clean_env, git, make_repo, sweepci

# x=1 finishes with f1 0.25 over three steps; x=2 fails after a line on stderr
PROGRAM = """import json, os, sys
x = int(sys.argv[1].split("=")[1])
out = open(os.environ["SWEEPCI_METRICS_FILE"], "a")
for step in range(3):
    out.write(json.dumps({"step": step, "metrics": {"f1": x / 4, "loss": 1.0}}) + "\\n")
out.flush()
if x == 2:
    print("::set-output name=pwned::1", file=sys.stderr)
    print("boom: x=2 is not allowed", file=sys.stderr)
    sys.exit(3)
"""
SWEEP = (
    "method: grid\nprogram: p.py\nmetric: {name: f1, goal: maximize}\n"
    "parameters:\n  x: {values: [1, 2]}\n"
)


@pytest.fixture(scope="module")
def swept(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, dict]:
    root = tmp_path_factory.mktemp("show-run")
    repo = make_repo(root / "proj", branch="feature/x", files={"p.py": PROGRAM, "s.yaml": SWEEP})
    store = root / "store.db"
    proc = sweepci(
        "run", "s.yaml", "--store", str(store), "--max-failures", "0", "--json", cwd=repo
    )
    assert proc.returncode == 0, proc.stderr
    return repo, store, json.loads(proc.stdout)


def _run(result: dict, x: int) -> dict:
    return next(r for r in result["runs"] if r["config"]["x"] == x)


def test_show_run_prints_config_metrics_commit_and_the_failure(swept) -> None:
    repo, store, result = swept
    sha = git(repo, "rev-parse", "HEAD")
    ok, bad = _run(result, 1), _run(result, 2)
    proc = sweepci("show", ok["id"], "--store", str(store), cwd=repo)
    assert proc.returncode == 0, proc.stderr
    text = proc.stdout
    assert f"run        {ok['id']}" in text and f"sweep {result['sweep']['id']}" in text
    assert "state      finished" in text
    assert "metric     f1 = 0.25 (maximize)" in text
    assert f"sha {sha}, branch feature/x" in text
    assert f"sha:{sha}" in text and "branch:feature/x" in text  # tags
    assert "history    3 row(s)" in text
    config = text.split("\nconfig\n", 1)[1].split("\nsummary\n", 1)
    assert config[0].split() == ["x", "1"]
    assert config[1].split("\nartifacts\n")[0].split() == ["f1", "0.25", "loss", "1"]
    failed = sweepci("show", bad["id"], "--store", str(store), cwd=repo)
    assert failed.returncode == 0, failed.stderr
    assert "state      failed (exit code 3)" in failed.stdout
    assert "  | boom: x=2 is not allowed" in failed.stdout
    # a program's line never starts a line of ours: no workflow command reaches the log
    assert not any(line.startswith("::") for line in failed.stdout.splitlines())
    log_line = next(line for line in failed.stdout.splitlines() if line.startswith("stderr log"))
    log = Path(log_line.split(None, 2)[2])
    assert log.is_file() and "boom" in log.read_text()


def test_show_run_json_has_every_part(swept) -> None:
    repo, store, result = swept
    bad = _run(result, 2)
    proc = sweepci("show", bad["id"], "--store", str(store), "--json", cwd=repo)
    assert proc.returncode == 0, proc.stderr
    detail = json.loads(proc.stdout)
    assert detail["kind"] == "run" and detail["id"] == bad["id"]
    assert detail["state"] == "failed" and detail["exit_code"] == 3
    assert detail["config"] == {"x": 2} and detail["summary"]["f1"] == pytest.approx(0.5)
    assert detail["metric"] == {"name": "f1", "goal": "maximize", "value": None}
    assert detail["history_length"] == 3
    assert detail["commit"]["sha"] == git(repo, "rev-parse", "HEAD")
    assert detail["artifacts"] == {"used": [], "produced": []}
    assert "boom" in detail["stderr_tail"] and Path(detail["logs"]["stderr"]).is_file()
    assert detail["reproduces"] is None and detail["reproduced_by"] == []
    assert detail["device"] == {"gpus": None}  # the store records devices; this run had none
    assert (
        "device     no GPU (run without --gpus)"
        in sweepci("show", bad["id"], "--store", str(store), cwd=repo).stdout
    )


def test_show_run_names_the_gpu_a_run_was_given(tmp_path: Path) -> None:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    smi = bin_dir / "nvidia-smi"  # a stand-in: this machine has no GPU
    smi.write_text("#!/bin/sh\nprintf '0\\n1\\n'\n")
    smi.chmod(0o755)
    env = clean_env(
        PATH=f"{bin_dir}{os.pathsep}{os.environ['PATH']}",
        SWEEPCI_GPU_LOCK_DIR=str(tmp_path / "locks"),
    )
    env.pop("CUDA_VISIBLE_DEVICES", None)
    repo = make_repo(tmp_path / "proj", files={"p.py": PROGRAM, "s.yaml": SWEEP})
    store = tmp_path / "store.db"
    proc = sweepci(
        "run",
        "s.yaml",
        "--store",
        str(store),
        "--gpus",
        "1",
        "--max-failures",
        "0",
        "--json",
        cwd=repo,
        env=env,
    )
    assert proc.returncode == 0, proc.stderr
    run_id = next(r["id"] for r in json.loads(proc.stdout)["runs"] if r["config"]["x"] == 1)
    shown = sweepci("show", run_id, "--store", str(store), "--json", cwd=repo, env=env)
    gpus = json.loads(shown.stdout)["device"]["gpus"]
    assert gpus in ("0", "1")
    text = sweepci("show", run_id, "--store", str(store), cwd=repo, env=env).stdout
    assert f"device     GPU {gpus} (CUDA_VISIBLE_DEVICES)" in text


def test_show_tells_sweeps_from_runs_and_says_when_it_is_neither(swept) -> None:
    repo, store, result = swept
    sweep_id = result["sweep"]["id"]
    as_sweep = sweepci("show", sweep_id, "--store", str(store), "--json", cwd=repo)
    assert as_sweep.returncode == 0 and json.loads(as_sweep.stdout)["sweep"]["id"] == sweep_id
    latest = sweepci("show", "--store", str(store), cwd=repo)
    assert latest.returncode == 0 and f"sweep      {sweep_id}" in latest.stdout
    run_id = _run(result, 1)["id"]
    by_prefix = sweepci("show", run_id[:6], "--store", str(store), "--json", cwd=repo)
    if by_prefix.returncode == 0:  # a 6-character prefix may, rarely, also start the sweep id
        assert json.loads(by_prefix.stdout)["id"] == run_id
    neither = sweepci("show", "zzzzzzzz", "--store", str(store), cwd=repo)
    assert neither.returncode == 2 and neither.stderr.count("\n") == 1
    assert "no sweep or run 'zzzzzzzz'" in neither.stderr


def test_show_sweep_says_when_more_runs_exist_than_shown(swept) -> None:
    repo, store, result = swept
    proc = sweepci("show", result["sweep"]["id"], "--limit", "1", "--store", str(store), cwd=repo)
    assert proc.returncode == 0, proc.stderr
    assert "1 of 2 runs shown; raise --limit to see more" in proc.stdout
    full = sweepci("show", result["sweep"]["id"], "--store", str(store), cwd=repo)
    assert "runs shown" not in full.stdout


def test_show_run_lists_the_artifacts_it_used_and_produced(tmp_path: Path) -> None:
    from orchestrator.store import claims, open_store
    from orchestrator.store import runs as R
    from orchestrator.store.artifacts import record_artifact
    from orchestrator.store.blobs import FileEntry

    store_path = tmp_path / "store.db"
    with open_store(store_path) as store:
        sweep = R.create_sweep(
            store,
            project="p-dev",
            method="grid",
            config={"method": "grid", "program": "p.py", "parameters": {"x": {"values": [1]}}},
            metric_name="f1",
            metric_goal="maximize",
        )
        run = claims.claim_next_run(store, sweep.id, "a", lambda trials, s: {"x": 1})
        R.finish_run(
            store, run.id, state="finished", exit_code=0, reason=None, stderr_tail=None,
            summary={"f1": 0.5}, metric_value=0.5,
        )  # fmt: skip
        data = [FileEntry("data.csv", 3, "ab" * 32)]
        record_artifact(
            store, name="digits-data", type="dataset", files=data, run_id=run.id, used=True
        )
        model = [FileEntry("model.pkl", 5, "cd" * 32)]
        record_artifact(store, name="digits-model", type="model", files=model, run_id=run.id)
    proc = sweepci("show", run.id, "--store", str(store_path), cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "  used      digits-data:v0" in proc.stdout
    assert "  produced  digits-model:v0 [latest]" in proc.stdout
    detail = json.loads(
        sweepci("show", run.id, "--store", str(store_path), "--json", cwd=tmp_path).stdout
    )
    assert [a["label"] for a in detail["artifacts"]["used"]] == ["digits-data:v0"]
    assert [a["label"] for a in detail["artifacts"]["produced"]] == ["digits-model:v0"]
