"""`sweepci reproduce ENTITY/PROJECT/RUN` and `show` of a W&B run: real SDK, real W&B agent,
the stand-in W&B API; the original's config, sha and summary come from the API."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from orchestrator.agent.notes import ci_from_notes
from tests.conftest import clean_env, git, make_repo, sweepci
from tests.servers.wandb_api import CANARY_KEY, WandbStandIn, files_containing, make_sdk_env
from tests.servers.wandb_graphql import add_finished_run, add_sweep

pytest_plugins = ["tests.servers.wandb_fixtures"]

# deterministic, unless REPRO_DATA names a file whose number it reports instead
PROGRAM = """import os
import wandb
run = wandb.init()
x = wandb.config.x
value = x / 7
if os.environ.get("REPRO_DATA"):
    value = float(open(os.environ["REPRO_DATA"]).read())
wandb.log({"f1": value, "loss": 1 - x / 9})
run.finish()
"""
SWEEP = (
    "method: grid\nprogram: p.py\nmetric: {name: f1, goal: maximize}\n"
    "parameters:\n  x: {values: [3]}\n"
)


def _env(tmp_path: Path, server: WandbStandIn, **extra: str) -> dict[str, str]:
    return clean_env(**make_sdk_env(tmp_path / "sdk", server), SWEEPCI_WANDB_POLL="0.2", **extra)


@pytest.mark.slow
def test_a_wandb_run_reproduces_from_a_later_commit_and_a_changed_data_file_does_not(
    tmp_path: Path, wandb_server: WandbStandIn
) -> None:
    repo = make_repo(
        tmp_path / "proj", branch="feature/x", files={"p.py": PROGRAM, "s.yaml": SWEEP}
    )
    sha = git(repo, "rev-parse", "HEAD")
    data = tmp_path / "data.txt"
    data.write_text("0.75\n")
    env = _env(tmp_path, wandb_server, REPRO_DATA=str(data))
    proc = sweepci("run", "s.yaml", "--backend", "wandb", "--json", cwd=repo, env=env, timeout=300)
    assert proc.returncode == 0, proc.stderr
    swept = json.loads(proc.stdout)
    (original,) = swept["runs"]
    entity_project = swept["sweep"]["path"].rsplit("/", 1)[0]
    assert entity_project == f"{wandb_server.default_entity}/wine-quality-dev"
    path = f"{entity_project}/{original['id']}"
    (repo / "p.py").write_text(PROGRAM.replace("x / 7", "x / 8"))
    git(repo, "commit", "-qam", "later code")
    before = (git(repo, "status", "--porcelain"), (repo / ".git" / "index").read_bytes())

    again = sweepci("reproduce", path, "--json", cwd=repo, env=env, timeout=300)
    assert again.returncode == 0, again.stdout + again.stderr
    result = json.loads(again.stdout)
    assert result["reproduced"] is True and result["original"]["sha"] == sha
    assert [(m["name"], m["original"], m["again"]) for m in result["metrics"]] == [
        ("f1", 0.75, 0.75),
        ("loss", pytest.approx(2 / 3), pytest.approx(2 / 3)),
    ]
    rerun = wandb_server.state.runs[result["rerun"]["id"]]
    assert f"reproduces:{original['id']}" in rerun["tags"] and f"sha:{sha}" in rerun["tags"]
    assert rerun["config"]["x"] == 3 and "ci" not in rerun["config"]
    assert ci_from_notes(rerun["notes"])["reproduces"] == path
    assert (
        rerun["project"] == "proj-dev" and rerun["sweep"] != original["sweep_id"]
        if "sweep_id" in original
        else True
    )
    assert (git(repo, "status", "--porcelain"), (repo / ".git" / "index").read_bytes()) == before

    # `show` tells a W&B run from a W&B sweep, and lists the rerun
    shown = sweepci("show", path, "--json", cwd=repo, env=env, timeout=120)
    assert shown.returncode == 0, shown.stderr
    detail = json.loads(shown.stdout)
    assert detail["kind"] == "run" and detail["config"] == {"x": 3}
    assert detail["summary"]["f1"] == 0.75 and detail["metric"]["name"] == "f1"
    assert detail["commit"]["sha"] == sha and detail["commit"]["branch"] == "feature/x"
    assert [r["id"] for r in detail["reproduced_by"]] == [result["rerun"]["id"]]
    text = sweepci("show", path, cwd=repo, env=env, timeout=120)
    assert "metric     f1 = 0.75 (maximize)" in text.stdout and f"sha {sha}" in text.stdout

    data.write_text("0.5\n")  # data outside git changed since
    changed = sweepci("reproduce", path, cwd=repo, env=env, timeout=300)
    assert changed.returncode == 1, changed.stdout + changed.stderr
    assert "NOT reproduced (rtol=1e-06, atol=1e-09): f1" in changed.stdout
    assert wandb_server.handler_errors == []
    for text in (proc.stdout, proc.stderr, again.stdout, again.stderr, changed.stdout):
        assert CANARY_KEY not in text
    assert files_containing(repo, CANARY_KEY) == []


def test_a_wandb_run_whose_commit_is_missing_or_forged_is_one_line(
    tmp_path: Path, wandb_server: WandbStandIn
) -> None:
    repo = make_repo(
        tmp_path / "proj", branch="feature/x", files={"p.py": PROGRAM, "s.yaml": SWEEP}
    )
    env = _env(tmp_path, wandb_server)
    sweep_id = add_sweep(
        wandb_server,
        {
            "method": "grid",
            "program": "p.py",
            "metric": {"name": "f1", "goal": "maximize"},
            "parameters": {"x": {"values": [3]}},
        },
        "ent",
        "proj-dev",
    )
    missing = "ab" * 20
    for sha, expected in [
        (missing, f"fetch it first: git fetch origin {missing}"),
        ("--upload-pack=touch pwned", "not a full hex sha"),
    ]:
        run_id = add_finished_run(
            wandb_server,
            sweep_id,
            {"f1": 0.5},
            config={"x": 3, "ci": {"sha": sha, "branch": "feature/x"}},
            tags=["branch:feature/x", "env:dev"],
        )
        proc = sweepci("reproduce", f"ent/proj-dev/{run_id}", cwd=repo, env=env, timeout=120)
        assert proc.returncode == 2, proc.stdout + proc.stderr
        assert proc.stderr.count("\n") == 1 and expected in proc.stderr, proc.stderr
    assert not (repo / "pwned").exists()
    # the sweep's path is still a sweep to `show`, which says what --limit left out
    listed = sweepci("show", f"ent/proj-dev/{sweep_id}", "--limit", "1", cwd=repo, env=env)
    assert listed.returncode == 0, listed.stderr
    assert "W&B sweep ent/proj-dev/" in listed.stdout
    assert "1 of 2 runs shown; raise --limit to see more" in listed.stdout
    neither = sweepci("show", "ent/proj-dev/nosuch", cwd=repo, env=env, timeout=120)
    assert (
        neither.returncode == 2
        and "W&B holds no sweep or run ent/proj-dev/nosuch" in neither.stderr
    )
    assert len(wandb_server.state.sweeps) == 1  # nothing was created
