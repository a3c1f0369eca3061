"""A team adopts sweepci: its own repository, `sweepci init`, and the generated workflow
green under act for a push to main, a push to a feature branch and "Run workflow" with
its defaults, every job installing the released sweepci with its own `pip install`.

The repository is made from nothing: a digits classifier that calls
`LogisticRegression(**wandb.config)` (so wandb.config must hold the sweep's
parameters and nothing else) and logs a metric with a slash (`val/f1`). The
sweep is a two-point grid so each workflow does two real training runs.
"""

from __future__ import annotations

import pytest

from tests.e2e.conftest import (
    DIGITS_SWEEP,
    ActResult,
    UserInstall,
    assert_jobs_installed,
    git,
    make_user_repo,
    run_act_workflow,
    stored_json,
)

GRID_SWEEP = DIGITS_SWEEP.replace("method: random", "method: grid").replace(
    "C: {distribution: log_uniform_values, min: 0.01, max: 10.0}", "C: {values: [0.1, 1.0]}"
)
# (jobs other features add, such as the pull-request comment, must be green too)
JOBS = {"Plan", "Create the sweep", "Agent 1/1", "Report"}


@pytest.fixture(scope="module")
def adopted(tmp_path_factory: pytest.TempPathFactory, user_install: UserInstall) -> dict:
    """digits-lab after `sweepci init`: committed on main, and a feature branch with one commit."""
    root = tmp_path_factory.mktemp("adopt")
    repo = make_user_repo(root / "digits-lab", sweep=GRID_SWEEP)
    env = user_install.env(HOME=str(root / "home"))
    init = user_install.run("init", cwd=repo, env=env, check=True)
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "adopt sweepci")
    main_sha = git(repo, "rev-parse", "HEAD")
    git(repo, "checkout", "-qb", "feature/wider-c")
    (repo / "README.md").write_text("# digits-lab\n\nNow with sweeps.\n")
    git(repo, "commit", "-qam", "say so")
    feature_sha = git(repo, "rev-parse", "HEAD")
    return {
        "root": root,
        "repo": repo,
        "env": env,
        "init": init.stdout,
        "sha": {"main": main_sha, "feature/wider-c": feature_sha},
    }


def _check_green_real_install(run: ActResult, install: UserInstall) -> None:
    assert run.returncode == 0, run.text[-4000:]
    results = run.job_results()
    assert JOBS <= set(results) and set(results.values()) == {"success"}, run.text[-3000:]
    assert_jobs_installed(run, install)


def test_init_keeps_the_team_files_and_installs_the_released_version(
    adopted: dict, user_install: UserInstall
) -> None:
    repo = adopted["repo"]
    assert "kept      sweeps/digits.yaml" in adopted["init"]
    assert "kept      src/fit.py" in adopted["init"]
    text = (repo / "sweepci.yaml").read_text()
    assert 'base: "digits-lab"' in text
    assert f'"sweepci[wandb]=={user_install.version}"' in text
    workflow = (repo / ".github/workflows/sweep.yml").read_text()
    assert "dataset:" not in workflow.split("permissions:")[0], "the sweep has no dataset"


@pytest.mark.parametrize(("branch", "env"), [("main", "prod"), ("feature/wider-c", "dev")])
def test_a_push_runs_the_sweep_routed_by_branch_and_tagged_with_its_commit(
    adopted: dict, user_install: UserInstall, branch: str, env: str
) -> None:
    repo, sha = adopted["repo"], adopted["sha"][branch]
    git(repo, "checkout", "-q", branch)

    run = run_act_workflow(
        repo, adopted["root"] / f"push-{env}", "push", install=user_install, timeout=600
    )

    _check_green_real_install(run, user_install)
    plan = run.outputs("Plan")
    assert (plan["env"], plan["project"], plan["branch"], plan["sha"]) == (
        env,
        f"digits-lab-{env}",
        branch,
        sha,
    )
    runs = stored_json(user_install, run, "runs")
    assert len(runs) == 2 and {r["state"] for r in runs} == {"finished"}
    assert sorted(r["config"]["C"] for r in runs) == [0.1, 1.0]
    for r in runs:
        assert {f"branch:{branch}", f"sha:{sha}", f"env:{env}", "trigger:push"} <= set(r["tags"])
        assert r["metric_value"] is not None and 0.5 < r["metric_value"] <= 1.0  # val/f1


def test_run_workflow_with_its_default_inputs_is_green(
    adopted: dict, user_install: UserInstall
) -> None:
    repo = adopted["repo"]
    git(repo, "checkout", "-q", "feature/wider-c")

    run = run_act_workflow(
        repo, adopted["root"] / "dispatch", "workflow_dispatch", install=user_install, timeout=600
    )

    _check_green_real_install(run, user_install)
    assert run.outputs("Plan")["env"] == "dev" and run.outputs("Plan")["dataset"] == ""
    runs = stored_json(user_install, run, "runs")
    assert len(runs) == 2 and {r["state"] for r in runs} == {"finished"}
    sha = adopted["sha"]["feature/wider-c"]
    for r in runs:
        assert {"branch:feature/wider-c", f"sha:{sha}", "trigger:workflow_dispatch"} <= set(
            r["tags"]
        )
