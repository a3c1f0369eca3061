"""The wandb backend through the real CLI: real SDK, real W&B agent code, stand-in W&B API."""

from __future__ import annotations

import json
import pickle
import shutil
from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT, clean_env, make_repo, sweepci
from tests.servers.wandb_api import CANARY_KEY, WandbStandIn, files_containing, make_sdk_env
from tests.servers.wandb_artifact_uploads import uploaded_file

pytest_plugins = ["tests.servers.wandb_fixtures"]


def _project(tmp_path: Path) -> Path:
    repo = make_repo(tmp_path / "wine-quality", branch="feature/x")
    shutil.copytree(REPO_ROOT / "examples", repo / "examples")
    shutil.copytree(REPO_ROOT / "sweeps", repo / "sweeps")
    shutil.copy(REPO_ROOT / "sweepci.yaml", repo / "sweepci.yaml")
    return repo


def _env(tmp_path: Path, server: WandbStandIn) -> dict[str, str]:
    sdk = make_sdk_env(tmp_path / "sdk", server)
    return clean_env(**sdk, SWEEPCI_WANDB_POLL="0.2")


@pytest.mark.slow
def test_run_on_wandb_from_a_feature_branch_lands_in_dev_with_tags(
    tmp_path: Path, wandb_server: WandbStandIn
) -> None:
    repo = _project(tmp_path)
    env = _env(tmp_path, wandb_server)
    proc = sweepci(
        "run",
        "sweeps/wine.yaml",
        "--backend",
        "wandb",
        "--count",
        "3",
        "--json",
        cwd=repo,
        env=env,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout)
    state = wandb_server.state
    (sweep,) = state.sweeps.values()
    assert sweep["project"] == "wine-quality-dev"
    run_ids = list(state.runs)
    runs = list(state.runs.values())
    assert len(runs) == 3
    for run in runs:
        assert "branch:feature/x" in run["tags"] and "env:dev" in run["tags"]
        assert any(t.startswith("sha:") for t in run["tags"])
        assert run["project"] == "wine-quality-dev"
    assert len(result["runs"]) == 3 and all("f1" in r["summary"] for r in result["runs"])
    path = result["sweep"]["path"]
    shown = sweepci("show", path, cwd=repo, env=env, timeout=120)
    assert shown.returncode == 0, shown.stderr
    for run_id in run_ids:
        assert run_id in shown.stdout
    # `show` reads the sweep's metric from W&B and lists the best run first
    best = max(result["runs"], key=lambda r: r["summary"]["f1"])
    assert f"best run {best['id']}: f1=" in shown.stdout
    # each run's model reached W&B as a new wine-model version with the run as creator;
    # the dataset, the same data every time, is one version that all three runs used
    artifacts = list(state.artifacts.values())
    models = sorted((a for a in artifacts if a["name"] == "wine-model"), key=lambda a: a["version"])
    assert [(m["version"], m["type"], m["state"]) for m in models] == [
        (0, "model", "COMMITTED"),
        (1, "model", "COMMITTED"),
        (2, "model", "COMMITTED"),
    ]
    assert sorted(m["run"] for m in models) == sorted(run_ids)
    assert [m["aliases"] for m in models] == [[], [], ["latest"]]
    for model in models:
        assert model["metadata"]["metrics"]["f1"] == state.runs[model["run"]]["summary"]["f1"]
        pickled = pickle.loads(uploaded_file(wandb_server, model, "model.pkl"))
        assert set(pickled) == {"scaler", "model"}
    (dataset,) = (a for a in artifacts if a["name"] == "wine-data")
    assert (dataset["type"], dataset["version"], dataset["aliases"]) == ("dataset", 0, ["latest"])
    assert sorted(dataset["used_by"]) == sorted(run_ids)
    assert set(dataset["manifest"]["contents"]) == {"features.npy", "labels.npy"}
    assert wandb_server.handler_errors == []
    # the key is in no output and no file sweepci or the SDK wrote
    for text in (proc.stdout, proc.stderr, shown.stdout, shown.stderr):
        assert CANARY_KEY not in text
    assert files_containing(tmp_path, CANARY_KEY) == []


def test_missing_key_with_wandb_backend_is_one_line(tmp_path: Path) -> None:
    repo = _project(tmp_path)
    proc = sweepci("run", "sweeps/wine.yaml", "--backend", "wandb", "--count", "1", cwd=repo)
    assert proc.returncode == 2
    assert (
        "WANDB_API_KEY" in proc.stderr
        and proc.stderr.count("sweepci: error") == 1
        and "Traceback" not in proc.stderr
    )


def test_auto_backend_says_which_it_picked_and_why(tmp_path: Path) -> None:
    repo = _project(tmp_path)
    (repo / "p.py").write_text("print('ok')\n")
    (repo / "s.yaml").write_text("method: grid\nprogram: p.py\nparameters:\n  x: {values: [1]}\n")
    proc = sweepci("run", "s.yaml", cwd=repo)
    assert proc.returncode == 0
    assert (
        "backend local (auto: WANDB_API_KEY is not set and `wandb login` saved no key)"
        in proc.stderr
    )
