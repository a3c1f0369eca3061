"""The sweep workflow run for real with act: no Docker, no network, every job installing
sweepci with its own `pip install`.

The repository under test holds this project's sweepci.yaml and a training program
that takes milliseconds. Its workflow is the one the installed `sweepci workflow
render` writes there: this repository's own committed sweep.yml but for the install
line, since a repository that is not sweepci's source installs the released
`sweepci[wandb]==<version>`. Each job's `pip install` resolves that to the wheel built
from this checkout (the harness's find-links folder, no index), in the fresh venv the
setup-python stand-in gave the job; no other `sweepci` is on the jobs' PATH.
"""

from __future__ import annotations

import io
import json
import re
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import yaml

from tests.conftest import REPO_ROOT
from tests.e2e.conftest import (
    ActResult,
    UserInstall,
    assert_jobs_installed,
    git,
    make_user_repo,
    run_act_workflow,
    stored_json,
)
from tests.servers.github_api import GitHubStandIn
from tests.servers.github_fixtures import CANARY_TOKEN

pytestmark = pytest.mark.slow  # every job is a real pip install

HOSTILE = 'x"; touch {marker}; echo "'

# A training program that takes milliseconds: it reads its `--name=value`
# arguments and reports f1 on sweepci's live metrics channel. In a prod
# project it also logs its model with (offline) wandb, as W&B's docs teach,
# for the promote job; only there, since wandb takes a second or two a run.
# Every run also notes which interpreter ran it and where sweepci was imported from.
FAST_TRAIN = """\
import json, os, sys
args = dict(a[2:].split("=", 1) for a in sys.argv[1:] if a.startswith("--") and "=" in a)
f1 = 1.0 / (1.0 + abs(float(args["lr"]) - 0.1))
with open(os.environ["SWEEPCI_METRICS_FILE"], "a") as fh:
    fh.write(json.dumps({"step": 0, "metrics": {"f1": f1}}) + "\\n")
import importlib.util
with open(os.path.join(os.environ["FAST_TRAIN_LOG"], f"{os.getpid()}.json"), "w") as fh:
    json.dump({"prefix": sys.prefix, "sweepci": importlib.util.find_spec("orchestrator").origin}, fh)
if os.environ.get("WANDB_PROJECT", "").endswith("-prod"):
    import wandb
    run = wandb.init()
    model = wandb.Artifact("fast-model", type="model", metadata={"metrics": {"f1": f1}})
    with model.new_file("model.json") as fh:
        fh.write(json.dumps({"lr": args["lr"]}))
    run.log_artifact(model)
    run.summary["f1"] = f1
    run.finish()
"""
FAST_SWEEP = """\
name: fast
program: fast_train.py
method: random
metric: {name: f1, goal: maximize}
parameters:
  dataset: {values: [wine, iris]}
  lr: {distribution: uniform, min: 0.01, max: 0.5}
"""
WORKFLOW = ".github/workflows/sweep.yml"
INSTALL_STEP = re.compile(r"(?m)^ +python -m pip install (.+)$")


def fast_repo(path: Path, branch: str, install: UserInstall) -> Path:
    """This project's sweepci.yaml, a fast sweep, and the workflow the installed sweepci renders."""
    repo = make_user_repo(
        path,
        script=FAST_TRAIN,
        script_path="fast_train.py",
        sweep=FAST_SWEEP,
        sweep_path="sweeps/wine.yaml",
        files={
            "sweepci.yaml": (REPO_ROOT / "sweepci.yaml").read_text(),
            ".gitignore": ".sweepci/\nwandb/\n",
        },
        branch=branch,
    )
    install.run("workflow", "render", cwd=repo, env=install.env(HOME=str(path.parent)), check=True)
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "the sweep workflow")
    return repo


def act(
    repo: Path,
    tmp: Path,
    event: str,
    install: UserInstall,
    *,
    inputs: dict[str, str] | None = None,
    github: GitHubStandIn | None = None,
    run_id: int = 1,
) -> tuple[ActResult, list[dict]]:
    """run_act_workflow (GitHub at `github`, else unreachable), and the runs' notes."""
    notes = tmp / "fast-train"
    notes.mkdir(parents=True)
    env = {"FAST_TRAIN_LOG": str(notes), "GITHUB_RUN_ID": str(run_id)}
    secrets = None
    if github is not None:
        env["GITHUB_API_URL"] = github.url
        secrets = {"GITHUB_TOKEN": CANARY_TOKEN}
    run = run_act_workflow(
        repo, tmp, event, install=install, inputs=inputs, secrets=secrets, env=env
    )
    return run, [json.loads(p.read_text()) for p in sorted(notes.glob("*.json"))]


def assert_ran_installed_sweepci(run: ActResult, noted: list[dict], install: UserInstall) -> None:
    """Every job installed sweepci for itself, and every run was started by an installed one."""
    assert_jobs_installed(run, install)
    venvs = {str(v) for v in run.job_venvs}
    for note in noted:
        assert note["prefix"] in venvs, f"a run outside the job venvs: {note}"
        assert note["sweepci"].startswith(note["prefix"] + "/lib/"), (
            f"not the installed one: {note}"
        )
        assert not note["sweepci"].startswith(str(REPO_ROOT)), note


def merged_runs(run: ActResult, install: UserInstall) -> tuple[dict, list[dict]]:
    """The sweep and the runs of the merged store in the `sweepci-report` artifact."""
    shown = stored_json(install, run, "show", "latest")
    return shown["sweep"], stored_json(install, run, "runs")


def test_the_workflow_is_this_repositorys_own_but_for_the_install_line(
    tmp_path: Path, user_install: UserInstall
) -> None:
    repo = fast_repo(tmp_path / "wine-quality", "main", user_install)
    ours = (REPO_ROOT / WORKFLOW).read_text()
    theirs = (repo / WORKFLOW).read_text()
    jobs = yaml.safe_load(ours)["jobs"]
    # every job of this repository's workflow installs sweepci from the checked-out tree
    assert INSTALL_STEP.findall(ours) == ["'.[wandb]'"] * len(jobs)
    # a repository that is not sweepci's installs the released version in every job
    released = f"'sweepci[wandb]=={user_install.version}'"
    assert INSTALL_STEP.findall(theirs) == [released] * len(jobs)
    # the rest is the same workflow (but for the pip cache's key: ours hashes pyproject.toml)
    assert INSTALL_STEP.sub("", theirs) == INSTALL_STEP.sub("", ours).replace(
        "            pyproject.toml\n", ""
    )


@pytest.fixture(scope="module")
def github() -> Iterator[GitHubStandIn]:
    server = GitHubStandIn(token=CANARY_TOKEN).start()  # acme/wine-quality
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def first_sweep_of_main(
    tmp_path_factory: pytest.TempPathFactory, user_install: UserInstall, github: GitHubStandIn
) -> dict:
    """A push to main of wine-quality, whose sweep workflow has never succeeded on main."""
    root = tmp_path_factory.mktemp("main")
    repo = fast_repo(root / "wine-quality", "main", user_install)
    github.add_past_run(800, conclusion="failure")  # nothing to compare with yet
    run, noted = act(repo, root / "act", "push", user_install, github=github, run_id=800)
    return {"repo": repo, "sha": git(repo, "rev-parse", "HEAD"), "run": run, "noted": noted}


@pytest.fixture
def push(
    request: pytest.FixtureRequest, tmp_path: Path, user_install: UserInstall
) -> Callable[[str], tuple[str, ActResult, list[dict]]]:
    """A push of `branch` -> (its sha, the act run, the runs' notes); main's is the module's."""

    def pushed(branch: str) -> tuple[str, ActResult, list[dict]]:
        if branch == "main":
            main = request.getfixturevalue("first_sweep_of_main")
            return main["sha"], main["run"], main["noted"]
        repo = fast_repo(tmp_path / "wine-quality", branch, user_install)
        # GitHub cannot be reached (the harness's default): no baseline, no comment
        run, noted = act(repo, tmp_path / "act", "push", user_install)
        return git(repo, "rev-parse", "HEAD"), run, noted

    return pushed


@pytest.mark.parametrize(("branch", "env"), [("feature/x", "dev"), ("main", "prod")])
def test_push_runs_a_sweep_routed_by_branch_and_traced_to_the_commit(
    push: Callable, user_install: UserInstall, tmp_path: Path, branch: str, env: str
) -> None:
    sha, run, noted = push(branch)

    assert run.returncode == 0, run.text[-4000:]
    jobs = {
        "Plan": "success",
        "Create the sweep": "success",
        "Agent 1/1": "success",
        "Report": "success",
        # no pull request for the branch (or GitHub unreachable): no comment, and the job passes
        "Comment on the pull request": "success",
    }
    if env == "prod":
        jobs["Promote the best model"] = "success"  # only prod sweeps are promoted
    assert run.job_results() == jobs
    assert_ran_installed_sweepci(run, noted, user_install)
    plan = run.outputs("Plan")
    assert (plan["env"], plan["project"], plan["branch"], plan["sha"]) == (
        env,
        f"wine-quality-{env}",
        branch,
        sha,
    )
    assert json.loads(plan["matrix"]) == [{"index": 1, "shard": "1/1", "count": 20}]
    assert run.outputs("Create")["backend"] == "local"  # no WANDB_API_KEY secret
    sweep, runs = merged_runs(run, user_install)
    assert sweep["project"] == f"wine-quality-{env}"
    assert len(runs) == 20 and {r["state"] for r in runs} == {"finished"}
    assert len(noted) == 20, "every run noted its interpreter"
    for r in runs:
        assert {f"branch:{branch}", f"sha:{sha}", f"env:{env}", "trigger:push"} <= set(r["tags"])
    # on a push the sweep file's own dataset values are searched, nothing is pinned
    assert {r["config"]["dataset"] for r in runs} == {"wine", "iris"}
    agent = run.outputs("Agent")
    assert agent["sweep-id"] == sweep["id"] and float(agent["best-metric"]) > 0
    assert "fast" in run.summaries()
    assert (run.artifacts / "sweepci-report" / "report.html").is_file()
    if env == "prod":
        # the best run's model is production in the store the report artifact now holds
        best = max(runs, key=lambda r: r["metric_value"])
        model = stored_json(user_install, run, "artifacts", "show", "fast-model:production")
        assert model["run"]["id"] == best["id"] and "production" in model["artifact"]["aliases"]
        assert len(model["promotions"]) == 1 and model["promotions"][0]["sha"] == sha
        # its file came through the shard's store and the merge into the report artifact
        got = tmp_path / "production-model"
        store = run.store()
        user_install.run(
            "artifacts", "get", "fast-model:production", "-o", str(got), "--store", str(store),
            cwd=tmp_path, env=user_install.env(HOME=str(tmp_path)), check=True,
        )  # fmt: skip
        trained = json.loads((got / "model.json").read_text())
        assert float(trained["lr"]) == pytest.approx(best["config"]["lr"])
        promotion = run.summaries().split("### Promotion", 1)[1]
        assert '"status": "promoted"' in promotion and best["id"] in promotion
        # main's first sweep: GitHub knows no successful run to compare with
        assert "no trusted successful run of sweep.yml on main" in run.text


def _zip_dir(root: Path) -> bytes:
    """A directory's contents zipped as upload-artifact stores them."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for path in sorted(root.rglob("*")):
            if path.is_file():
                archive.write(path, str(path.relative_to(root)))
    return buffer.getvalue()


def test_next_sweep_of_main_is_compared_with_the_last_and_keeps_the_better_model(
    tmp_path: Path, user_install: UserInstall, github: GitHubStandIn, first_sweep_of_main: dict
) -> None:
    repo, first = first_sweep_of_main["repo"], first_sweep_of_main["run"]
    assert first.returncode == 0, first.text[-4000:]
    _, first_runs = merged_runs(first, user_install)
    # main's run succeeded: the stand-in now serves its report artifact as GitHub would
    github.add_past_run(
        801, artifacts={"sweepci-report": _zip_dir(first.artifacts / "sweepci-report")}
    )
    # a change that makes every model worse (f1 peaks at lr = 0.1)
    worse = FAST_SWEEP.replace("min: 0.01", "min: 0.6").replace("max: 0.5", "max: 0.9")
    (repo / "sweeps" / "wine.yaml").write_text(worse)
    git(repo, "commit", "-qam", "a worse learning rate range")

    second, noted = act(repo, tmp_path / "act", "push", user_install, github=github, run_id=802)

    assert second.returncode == 0, second.text[-4000:]
    assert set(second.job_results().values()) == {"success"}
    assert_ran_installed_sweepci(second, noted, user_install)
    summary = second.summaries()
    assert "latest prod sweep of main" in summary and "**worse**" in summary
    first_sha = first_sweep_of_main["sha"]
    assert f"baseline fast (commit {first_sha[:7]})" in summary, "the first run's sweep"
    assert "Not promoted" in summary and "worse than the current production" in summary
    # production is still the first run's best model, in the store the artifact now holds
    model = stored_json(user_install, second, "artifacts", "show", "fast-model:production")
    best_first = max(first_runs, key=lambda r: r["metric_value"])
    assert model["run"]["id"] == best_first["id"]
    assert {c.query.get("branch") for c in github.calls("runs_list")} == {"main"}


def test_run_workflow_inputs_reach_the_sweep(tmp_path: Path, user_install: UserInstall) -> None:
    repo = fast_repo(tmp_path / "wine-quality", "feature/inputs", user_install)

    inputs = {"count": "3", "dataset": "iris", "agents": "2"}
    run, noted = act(repo, tmp_path / "act", "workflow_dispatch", user_install, inputs=inputs)

    assert run.returncode == 0, run.text[-4000:]
    assert set(run.job_results().values()) == {"success"}
    assert run.shards() == {"1/2": "success", "2/2": "success"}
    assert_ran_installed_sweepci(run, noted, user_install)
    sweep, runs = merged_runs(run, user_install)
    assert sweep["project"] == "wine-quality-dev"
    assert len(runs) == 3, "count=3 runs in all, shared by two agents and merged into one sweep"
    assert len(noted) == 3
    assert {r["sweep_id"] for r in runs} == {sweep["id"]}
    assert {r["config"]["dataset"] for r in runs} == {"iris"}
    assert all(
        "trigger:workflow_dispatch" in r["tags"] and "branch:feature/inputs" in r["tags"]
        for r in runs
    )
    assert "iris" in run.summaries()


def test_hostile_sweep_file_input_only_fails_with_a_clear_error(
    tmp_path: Path, user_install: UserInstall
) -> None:
    repo = fast_repo(tmp_path / "wine-quality", "feature/x", user_install)
    marker = tmp_path / "pwned"

    inputs = {"sweep_file": HOSTILE.format(marker=marker)}
    run, noted = act(repo, tmp_path / "act", "workflow_dispatch", user_install, inputs=inputs)

    assert run.returncode != 0
    assert not marker.exists(), "the sweep_file input was run as shell code"
    assert run.job_results() == {"Plan": "failure"}, "nothing may start after a refused input"
    assert_jobs_installed(run, user_install)  # the installed sweepci refused it, not a missing one
    assert "no such file in the repository" in run.text
    assert not any(run.artifacts.iterdir()) and noted == []


def test_init_then_run_workflow_is_green_in_a_fresh_repository(
    tmp_path: Path, user_install: UserInstall
) -> None:
    repo = tmp_path / "iris-demo"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    env = user_install.env(HOME=str(tmp_path / "home"))
    init = user_install.run("init", cwd=repo, env=env, check=True)
    assert "sweepci.yaml" in init.stdout and WORKFLOW in init.stdout
    # a user's repository installs the released sweepci, not a checkout, in every job
    workflow = (repo / WORKFLOW).read_text()
    released = f"'sweepci[wandb]=={user_install.version}'"
    assert INSTALL_STEP.findall(workflow) == [released] * len(yaml.safe_load(workflow)["jobs"])
    git(repo, "checkout", "-q", "-b", "feature/first-sweep")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "sweepci init")

    run = run_act_workflow(
        repo, tmp_path / "act", "workflow_dispatch", install=user_install,
        inputs={"count": "3", "dataset": "iris"}, timeout=600,
    )  # fmt: skip

    assert run.returncode == 0, run.text[-4000:]
    assert set(run.job_results().values()) == {"success"}
    assert_jobs_installed(run, user_install)
    assert run.outputs("Create")["backend"] == "local"
    sweep, runs = merged_runs(run, user_install)
    assert sweep["project"] == "iris-demo-dev"
    assert len(runs) == 3 and {r["state"] for r in runs} == {"finished"}
    assert all(r["metric_value"] is not None and r["config"]["dataset"] == "iris" for r in runs)
