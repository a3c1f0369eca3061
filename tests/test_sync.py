"""`sweepci sync`: a real local sweep (the real wandb, offline) uploaded with the real `wandb sync`
to the stand-in W&B API."""

from __future__ import annotations

import json
import shutil
import textwrap
import time
from pathlib import Path
from typing import Any

import pytest

from orchestrator.agent.notes import ci_from_notes
from tests.conftest import clean_env, make_repo, sweepci
from tests.servers.wandb_api import CANARY_KEY, WandbStandIn, files_containing, make_sdk_env

TRAIN = textwrap.dedent(
    """
    import wandb

    run = wandb.init()
    for step in range(3):
        wandb.log({"f1": round(wandb.config.lr * 2 + step * 0.01, 4)})
    run.finish()
    """
)
SWEEP = "program: train.py\nmethod: grid\nmetric: {name: f1, goal: maximize}\nparameters:\n  lr: {values: [0.1, 0.2, 0.3]}\n"
pytest_plugins = ["tests.servers.wandb_fixtures"]

SYNC_TIMEOUT = 180  # a hung `wandb sync` fails the test instead of hanging it


@pytest.fixture(scope="module")
def local_sweep(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """A finished 3-run local sweep on a feature branch, run by the real CLI without a key."""
    repo = make_repo(
        tmp_path_factory.mktemp("sync") / "wine-quality",
        branch="feature/x",
        files={"train.py": TRAIN, "sweep.yaml": SWEEP},
    )
    proc = sweepci(
        "run",
        "sweep.yaml",
        "--backend",
        "local",
        "--count",
        "5",
        "--quiet",
        "--json",
        cwd=repo,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout)
    return {
        "repo": repo,
        "sweep_id": result["sweep"]["id"],
        "runs": {r["id"]: r for r in result["runs"]},
    }


@pytest.fixture
def store(local_sweep: dict[str, Any], tmp_path: Path) -> Path:
    """A fresh copy of the sweep's store (with its run folders), so each test syncs from scratch."""
    copy = tmp_path / "store"
    shutil.copytree(local_sweep["repo"] / ".sweepci", copy)
    return copy / "sweepci.db"


def _sync(local_sweep: dict[str, Any], store: Path, env: dict[str, str], *args: str):
    return sweepci(
        "sync",
        local_sweep["sweep_id"],
        "--store",
        str(store),
        *args,
        cwd=local_sweep["repo"],
        env=env,
        timeout=SYNC_TIMEOUT,
    )


def _env(root: Path, server: WandbStandIn, **changes: str | None) -> dict[str, str]:
    env = clean_env(**make_sdk_env(root / "sdk", server))
    for name, value in changes.items():
        if value is None:
            env.pop(name, None)
        else:
            env[name] = value
    return env


@pytest.fixture(scope="module")
def synced_twice(
    local_sweep: dict[str, Any], tmp_path_factory: pytest.TempPathFactory
) -> dict[str, Any]:
    """The sweep synced once, then again; the server's requests counted between the two."""
    root = tmp_path_factory.mktemp("synced")
    shutil.copytree(local_sweep["repo"] / ".sweepci", root / "store")
    store = root / "store" / "sweepci.db"
    server = WandbStandIn(CANARY_KEY).start()
    try:
        env = _env(root, server)
        first = _sync(local_sweep, store, env)
        after_first = len(server.requests)
        second = _sync(local_sweep, store, env, "--json")
        return {
            "root": root,
            "server": server,
            "first": first,
            "second": second,
            "requests_after_first": after_first,
            "requests_after_second": len(server.requests),
        }
    finally:
        server.stop()


def test_sync_uploads_every_run_with_tags_config_history_and_summary(synced_twice, local_sweep):
    first, server = synced_twice["first"], synced_twice["server"]
    assert first.returncode == 0, first.stderr
    assert "uploaded 3 run(s)" in first.stdout
    arrived = server.state.runs
    assert set(arrived) == set(local_sweep["runs"])
    sha = local_sweep["runs"][next(iter(arrived))]["sha"]
    for run_id, run in arrived.items():
        local = local_sweep["runs"][run_id]
        lr = local["config"]["lr"]
        assert run["project"] == "wine-quality-dev" and run["entity"] == server.default_entity
        assert {"branch:feature/x", f"sha:{sha}", "env:dev"} <= set(run["tags"])
        assert run["config"]["lr"] == lr
        ci = ci_from_notes(run["notes"])
        assert ci["branch"] == "feature/x" and ci["sha"] == sha and "ci" not in run["config"]
        assert run["group"] == f"sweep-{local_sweep['sweep_id']}"  # where it came from
        assert run["sweep"] is None  # W&B does not know the local sweep (it would refuse the run)
        assert [row["f1"] for row in run["history"]] == pytest.approx(
            [lr * 2, lr * 2 + 0.01, lr * 2 + 0.02]
        )
        assert run["summary"]["f1"] == pytest.approx(local["summary"]["f1"])
        assert run["state"] == "finished"
    assert server.handler_errors == []


def test_a_second_sync_uploads_nothing(synced_twice):
    second = synced_twice["second"]
    assert second.returncode == 0, second.stderr
    report = json.loads(second.stdout)
    assert report["counts"]["synced"] == 0 and report["counts"]["already_synced"] == 3
    assert all(r["remote_path"].endswith("/wine-quality-dev/" + r["id"]) for r in report["runs"])
    # not one request: no run, history or summary sent twice
    assert synced_twice["requests_after_second"] == synced_twice["requests_after_first"]


def test_the_key_is_in_no_output_and_no_file(synced_twice, local_sweep):
    for proc in (synced_twice["first"], synced_twice["second"]):
        assert CANARY_KEY not in proc.stdout + proc.stderr
    assert files_containing(synced_twice["root"], CANARY_KEY) == []
    assert files_containing(local_sweep["repo"], CANARY_KEY) == []


def test_missing_key_is_one_line_naming_the_variable(local_sweep, store, tmp_path, wandb_server):
    proc = _sync(local_sweep, store, _env(tmp_path, wandb_server, WANDB_API_KEY=None))
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == [proc.stderr.strip()]
    assert "WANDB_API_KEY" in proc.stderr and "Traceback" not in proc.stderr
    assert wandb_server.requests == []


def test_rejected_key_is_one_line_and_uploads_nothing(local_sweep, store, tmp_path, wandb_server):
    wrong = "wrongkey" * 6
    proc = _sync(local_sweep, store, _env(tmp_path, wandb_server, WANDB_API_KEY=wrong))
    assert proc.returncode == 3
    errors = [line for line in proc.stderr.splitlines() if "error" in line]
    assert len(errors) == 1 and "W&B rejected the API key (WANDB_API_KEY" in errors[0]
    assert wrong not in proc.stdout + proc.stderr
    assert wandb_server.state.runs == {}


def test_a_failed_upload_is_retried_by_the_next_sync(local_sweep, store, tmp_path, wandb_server):
    env = _env(tmp_path, wandb_server)
    # one run at a time: the first run's UpsertBucket fails all 3 attempts the SDK makes
    wandb_server.inject("UpsertBucket", status=500, times=3)
    first = _sync(local_sweep, store, env, "--parallel", "1", "--json")
    assert first.returncode == 3
    report = json.loads(first.stdout)
    assert (report["counts"]["synced"], report["counts"]["failed"]) == (2, 1)
    (failed,) = [r["id"] for r in report["runs"] if r["status"] == "failed"]
    assert "not uploaded" in first.stderr and "sync again" in first.stderr
    before = len(wandb_server.requests)

    second = _sync(local_sweep, store, env, "--json")
    assert second.returncode == 0, second.stderr
    counts = json.loads(second.stdout)["counts"]
    assert (counts["synced"], counts["already_synced"]) == (1, 2)
    resent = {
        r.variables.get("name")
        for r in wandb_server.requests[before:]
        if r.operation == "UpsertBucket"
    }
    assert resent == {failed}  # only the run that failed went again
    assert {r["state"] for r in wandb_server.state.runs.values()} == {"finished"}
    assert len(wandb_server.state.runs) == 3 and all(
        len(r["history"]) == 3 for r in wandb_server.state.runs.values()
    )


def test_dry_run_lists_the_runs_and_sends_nothing(local_sweep, store, tmp_path, wandb_server):
    proc = _sync(local_sweep, store, _env(tmp_path, wandb_server, WANDB_API_KEY=None), "--dry-run")
    assert proc.returncode == 0, proc.stderr
    assert "would upload 3 run(s)" in proc.stdout
    assert all(run_id in proc.stdout for run_id in local_sweep["runs"])
    assert wandb_server.requests == []


def test_syncing_into_the_prod_project_from_a_feature_branch_is_refused(
    local_sweep, store, tmp_path, wandb_server
):
    proc = _sync(local_sweep, store, _env(tmp_path, wandb_server), "--project", "wine-quality-prod")
    assert proc.returncode == 2
    assert "refusing to write to prod" in proc.stderr and "feature/x" in proc.stderr
    assert wandb_server.requests == []


def test_a_hung_upload_stops_at_the_timeout(local_sweep, store, tmp_path, wandb_server):
    wandb_server.inject("file_stream", delay=120, times=None)  # W&B takes history but never answers
    started = time.monotonic()
    proc = _sync(local_sweep, store, _env(tmp_path, wandb_server), "--timeout", "5")
    assert proc.returncode == 3
    assert time.monotonic() - started < 60
    assert "did not finish within 5 s" in proc.stderr and "sync again" in proc.stderr
