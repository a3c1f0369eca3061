"""Reports of W&B sweeps: `sweepci report ENTITY/PROJECT/ID` against the W&B stand-in.

The real SDK reads the sweep and main's latest prod sweep from the stand-in;
the report is the same Markdown / HTML / JSON a local sweep gets.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import clean_env, make_repo, sweepci
from tests.servers.wandb_api import CANARY_KEY, WandbStandIn, make_sdk_env
from tests.servers.wandb_history import add_run, add_sweep

pytest_plugins = ["tests.servers.wandb_fixtures"]

ENTITY = "standin-entity"
CONFIG = {
    "method": "random",
    "metric": {"name": "f1", "goal": "maximize"},
    "parameters": {"lr": {"distribution": "log_uniform_values", "min": 1e-4, "max": 0.1},
                   "depth": {"values": [2, 4]}},
}  # fmt: skip
MAIN_SHA = "e" * 40


def seed(server: WandbStandIn, prod_best: float) -> str:
    """An older and a newer sweep of main in prod, and this branch's sweep in dev."""
    old = add_sweep(server, ENTITY, "wine-quality-prod", {**CONFIG, "name": "old-main"})
    add_run(server, old, config={"lr": 0.01, "depth": 2}, summary={"f1": 0.99},
            tags=["branch:main", "sha:" + "d" * 40], age_hours=48)  # fmt: skip
    newer = add_sweep(server, ENTITY, "wine-quality-prod", {**CONFIG, "name": "main-sweep"})
    for i, f1 in enumerate([prod_best - 0.1, prod_best]):
        add_run(server, newer, config={"lr": 0.001 * (i + 1), "depth": 4}, summary={"f1": f1},
                tags=["branch:main", f"sha:{MAIN_SHA}"], age_hours=5 - i)  # fmt: skip
    dev = add_sweep(server, ENTITY, "wine-quality-dev", {**CONFIG, "name": "feature-sweep"})
    for i, f1 in enumerate([0.80, 0.93, 0.85]):
        add_run(server, dev, config={"lr": 10.0 ** -(i + 1), "depth": 2, "ci": {"sha": "x"}},
                summary={"f1": f1, "_runtime": 3}, tags=["branch:feature/x"],
                age_hours=1 - i * 0.1)  # fmt: skip
    add_run(server, dev, config={"lr": 0.5, "depth": 4}, summary={}, tags=[], state="failed")
    return dev


@pytest.fixture
def checkout(tmp_path: Path) -> Path:
    return make_repo(tmp_path / "wine-quality", branch="feature/x")


def _env(tmp: Path, server: WandbStandIn) -> dict[str, str]:
    for name in ("summary.md", "output.txt"):
        (tmp / name).write_text("")
    event = tmp / "event.json"
    event.write_text("{}")
    return clean_env(
        **make_sdk_env(tmp / "sdk", server),
        GITHUB_ACTIONS="true", GITHUB_EVENT_NAME="push", GITHUB_EVENT_PATH=str(event),
        GITHUB_REF="refs/heads/feature/x", GITHUB_REF_NAME="feature/x", GITHUB_SHA="c" * 40,
        GITHUB_REPOSITORY="acme/wine-quality", GITHUB_RUN_ID="77",
        GITHUB_STEP_SUMMARY=str(tmp / "summary.md"), GITHUB_OUTPUT=str(tmp / "output.txt"),
    )  # fmt: skip


def _outputs(path: Path) -> dict[str, str]:
    lines = path.read_text().splitlines()
    found = {}
    for i, line in enumerate(lines):
        if "<<ghadelimiter_" in line:
            found[line.split("<<", 1)[0]] = (
                lines[i + 1] if not lines[i + 1].startswith("ghadelimiter_") else ""
            )
    return found  # fmt: skip


def test_a_wandb_sweep_gets_the_local_report_and_main_as_baseline(
    tmp_path: Path, checkout: Path, wandb_server: WandbStandIn
) -> None:
    dev = seed(wandb_server, prod_best=0.90)
    env = _env(tmp_path, wandb_server)
    store = tmp_path / "report" / "sweepci.db"

    md = sweepci("report", f"{ENTITY}/wine-quality-dev/{dev}", "--store", str(store),
                 "--job-summary", cwd=checkout, env=env)  # fmt: skip

    assert md.returncode == 0, md.stderr
    summary = (tmp_path / "summary.md").read_text()
    assert summary == md.stdout
    assert "### Top 4 of 4 runs" in summary and "| 1 |" in summary
    assert "| finished | failed |" in summary
    assert "baseline main-sweep (commit eeeeeee)" in summary, (
        "the newer main sweep, not the old one"
    )
    assert "**+0.03** (+3.33%) **better**" in summary
    assert "ci" not in json.loads(sweepci("report", dev, "--store", str(store), "--format", "json",
                                          cwd=checkout, env=env).stdout)["best"]["config"]  # fmt: skip
    outputs = _outputs(tmp_path / "output.txt")
    assert outputs["best-metric"] == "0.93" and outputs["best-run"]
    assert outputs["sweep-url"].endswith(f"/{ENTITY}/wine-quality-dev/sweeps/{dev}")
    assert outputs["baseline-direction"] == "better"
    html = sweepci("report", dev, "--store", str(store), "--format", "html",
                   "--baseline", ".sweepci/wandb-baseline", cwd=checkout, env=env)  # fmt: skip
    assert html.returncode == 0 and "main-sweep" in html.stdout
    assert CANARY_KEY not in summary + html.stdout + (tmp_path / "output.txt").read_text()


def test_no_sweep_of_main_yet_is_said_plainly(
    tmp_path: Path, checkout: Path, wandb_server: WandbStandIn
) -> None:
    dev = add_sweep(wandb_server, ENTITY, "wine-quality-dev", CONFIG)
    add_run(wandb_server, dev, config={"lr": 0.01, "depth": 2}, summary={"f1": 0.5},
            tags=["branch:feature/x"])  # fmt: skip
    env = _env(tmp_path, wandb_server)

    md = sweepci("report", f"{ENTITY}/wine-quality-dev/{dev}", "--store", str(tmp_path / "s.db"),
                 cwd=checkout, env=env)  # fmt: skip

    assert md.returncode == 0, md.stderr
    assert "no sweep of main in the W&B project" in md.stderr
    assert "No baseline" in md.stdout


def test_without_a_key_it_is_a_one_line_error(tmp_path: Path, checkout: Path) -> None:
    shown = sweepci("report", "e/p/abc", "--store", str(tmp_path / "s.db"), cwd=checkout)
    assert shown.returncode == 2 and "WANDB_API_KEY is not set" in shown.stderr
    assert "Traceback" not in shown.stderr
