"""The generated workflow under act with the wandb backend, against the W&B and GitHub stand-ins.

A team's repository (its own script and sweep, `sweepci init`) on a feature
branch with an open pull request; "Run workflow" with backend wandb. The real
W&B agent runs the script against the W&B stand-in, whose prod project already
holds a sweep of main. The report job reads the sweep and that baseline from
W&B and writes the job summary (leaderboard, comparison with main) and its job
outputs, which the comment job reads to link the W&B sweep in the PR comment.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.e2e.conftest import UserInstall, git, make_user_repo, run_act_workflow
from tests.servers.github_api import GitHubStandIn
from tests.servers.github_fixtures import CANARY_TOKEN
from tests.servers.wandb_api import CANARY_KEY, WandbStandIn
from tests.servers.wandb_history import add_run, add_sweep

pytest_plugins = ["tests.servers.wandb_fixtures"]

ENTITY = "standin-entity"
MAIN_SWEEP = {
    "name": "main-digits",
    "method": "random",
    "metric": {"name": "val/f1", "goal": "maximize"},
    "parameters": {"C": {"distribution": "log_uniform_values", "min": 0.01, "max": 10.0}},
}


def _fast_polls() -> dict[str, str]:
    return {"SWEEPCI_WANDB_POLL": "0.2"}


@pytest.mark.slow  # five jobs, each a real pip install, and two W&B runs of the SDK's agent
def test_wandb_sweep_report_job_summary_outputs_and_pr_comment(
    tmp_path: Path,
    user_install: UserInstall,
    wandb_server: WandbStandIn,
    github_standin: GitHubStandIn,
) -> None:
    repo = make_user_repo(tmp_path / "digits-lab", files={".gitignore": ".sweepci/\nwandb/\n"})
    user_install.run("init", "--backend", "wandb", cwd=repo, check=True)
    git(repo, "checkout", "-q", "-b", "feature/stronger-c")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "sweepci init")
    sha = git(repo, "rev-parse", "HEAD")
    github_standin.prs.add_pull_request(4, head_ref="feature/stronger-c", head_sha=sha)
    main = add_sweep(wandb_server, ENTITY, "digits-lab-prod", MAIN_SWEEP)
    add_run(wandb_server, main, config={"C": 0.02}, summary={"val/f1": 0.5},
            tags=["branch:main", "sha:" + "e" * 40])  # fmt: skip

    run = run_act_workflow(
        repo, tmp_path / "act", "workflow_dispatch", install=user_install,
        inputs={"count": "2", "agents": "1", "backend": "wandb"},
        secrets={"WANDB_API_KEY": CANARY_KEY, "GITHUB_TOKEN": CANARY_TOKEN},
        env={"WANDB_BASE_URL": wandb_server.url, "GITHUB_API_URL": github_standin.url,
             **_fast_polls()},
        timeout=600,
    )  # fmt: skip

    assert run.returncode == 0, run.text[-5000:]
    assert set(run.job_results().values()) == {"success"}, run.job_results()
    summary = run.summaries()
    assert "### Top 2 of 2 runs" in summary, summary[-3000:]
    assert "| finished |" in summary and "val/f1" in summary
    assert "baseline main-digits (commit eeeeeee)" in summary and "**better**" in summary
    assert "```mermaid\nxychart-beta" in summary
    outputs = run.outputs("Report")
    dev_sweeps = [s for s in wandb_server.state.sweeps.values() if s["project"] == "digits-lab-dev"]
    assert len(dev_sweeps) == 1
    assert outputs["sweep-url"].endswith(f"/{ENTITY}/digits-lab-dev/sweeps/{dev_sweeps[0]['id']}")
    assert float(outputs["best-metric"]) > 0.5 and outputs["best-run"]
    # the job outputs reached the comment job: the PR comment links the W&B sweep
    (comment,) = github_standin.prs.comments_on(4)
    assert f"[W&B sweep]({outputs['sweep-url']})" in comment["body"]
    assert "### Top 2 of 2 runs" in comment["body"]
    for name in ("report.md", "report.html", "report.json", "sweepci.db"):
        assert (run.artifacts / "sweepci-report" / name).is_file(), name
    assert CANARY_KEY not in summary + comment["body"]
