"""A team's repository keeps a short caller of sweepci's reusable workflow, pinned by SHA.

`sweepci init --reusable OWNER/NAME@SHA` (the installed command) writes the caller;
act runs it with the reusable workflow as committed in this repository
(`.github/workflows/sweepci.yml`, mapped with --local-repository as GitHub would
fetch it at that SHA). The caller's settings reach the reusable workflow's jobs:
a GPU runner label, setup commands and `--gpus auto`.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

from tests.conftest import REPO_ROOT
from tests.e2e.conftest import UserInstall, git, make_user_repo
from tests.e2e.test_gpu_workflow import PROBE, SETUP, SWEEP, run_on_gpu_runner, states_and_devices
from tests.test_workflow import actionlint, zizmor

SWEEPCI = "acme/sweepci@" + "7" * 40


@pytest.mark.slow
def test_a_short_caller_runs_the_reusable_workflow_pinned_by_sha(
    tmp_path: Path, user_install: UserInstall
) -> None:
    repo = make_user_repo(
        tmp_path / "vision-lab",
        script=PROBE.replace('models = open(os.path.join("models", "name.txt")).read().strip()',
                             'models = "tiny"'),
        script_path="src/probe.py",
        sweep=SWEEP,
        sweep_path="sweeps/probe.yaml",
        files={".gitignore": "data/\nmodels/\n.sweepci/\nwandb/\n"},
    )  # fmt: skip
    user_install.run("init", "--backend", "local", "--reusable", SWEEPCI, cwd=repo, check=True)
    project = yaml.safe_load((repo / "sweepci.yaml").read_text())
    assert (
        project["actions"] == {"reusable": SWEEPCI} and project["sweep_file"] == "sweeps/probe.yaml"
    )
    # the team's settings: a GPU runner, its setup commands, one agent per GPU
    project["actions"]["agents"] = {
        "runs-on": ["self-hosted", "gpu"],
        "gpus": "auto",
        "setup": [{"run": SETUP}],
    }
    project["actions"]["runs-on"] = "ubuntu-latest"
    (repo / "sweepci.yaml").write_text(yaml.safe_dump(project, sort_keys=False))
    user_install.run("workflow", "render", cwd=repo, check=True)
    caller = repo / ".github" / "workflows" / "sweep.yml"
    wf = yaml.safe_load(caller.read_text())
    (job,) = wf["jobs"].values()
    assert job["uses"] == f"acme/sweepci/.github/workflows/sweepci.yml@{'7' * 40}"
    assert yaml.safe_load(job["with"]["agent-runs-on"]) == ["self-hosted", "gpu"]
    assert len(caller.read_text().splitlines()) < 120, "a short caller, not the whole workflow"
    assert actionlint([caller]) == [] and zizmor([caller]) == []
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "sweep with sweepci's reusable workflow")
    assert user_install.run("workflow", "check", cwd=repo).returncode == 0

    # what GitHub fetches at that SHA: this repository's committed reusable workflow
    source = tmp_path / "sweepci-at-sha"
    (source / ".github" / "workflows").mkdir(parents=True)
    shutil.copy(
        REPO_ROOT / ".github" / "workflows" / "sweepci.yml", source / ".github" / "workflows"
    )
    (repo / "data").mkdir(exist_ok=True)
    run = run_on_gpu_runner(
        repo,
        tmp_path,
        user_install,
        {"count": "2", "agents": "1", "backend": "local"},
        actions={SWEEPCI: source},
        env={"DATA_DIR": "data", "EPOCHS": "2"},
    )

    assert run.returncode == 0, run.text[-4000:]
    assert set(run.job_results().values()) == {"success"}, run.job_results()
    assert "--gpus auto: 2 GPU(s) from nvidia-smi (0,1); 2 agent(s)" in run.text
    rows = states_and_devices(run)
    # the probe's barrier holds the first run on each GPU until a run on the other one has
    # started, so the two agents share --count 2 one run each, whichever claims first
    assert len(rows) == 2 and all(state == "finished" for state, _ in rows), rows
    assert sorted(devices for _, devices in rows) == ["0", "1"], rows
