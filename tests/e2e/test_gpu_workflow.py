"""A team's GPU workflow end to end: sweepci.yaml names a self-hosted GPU runner, a setup
step, a timeout and env; the installed `sweepci workflow render` writes the workflow, it
is lint-clean and drift-free, and act runs it, each agent job running one agent per GPU.

There is no GPU here: the project's own setup step installs a stand-in `nvidia-smi`
reporting two GPUs (as a real runner's driver would be there already), and a pinned
`uses:` step (a stand-in action mapped with act's --local-repository) fetches "models".
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
import yaml

from tests.e2e.conftest import ActResult, UserInstall, git, make_user_repo, run_act_workflow
from tests.test_workflow import actionlint, zizmor

FETCH_MODELS = "acme/fetch-models@" + "5" * 40

PROBE = """\
import json, os, sys, time
# what the setup steps and the env settings prepared must be there, or the run fails
data = os.path.join(os.environ["DATA_DIR"], "ready.txt")
models = open(os.path.join("models", "name.txt")).read().strip()
assert open(data).read().strip() == "ready" and models == "tiny", (data, models)
assert os.environ["EPOCHS"] == "2"
devices = os.environ["CUDA_VISIBLE_DEVICES"]
assert devices in ("0", "1"), devices
# a barrier: the first run on each GPU waits for a run on the other one, so the test shows
# both agents running at once instead of depending on which agent claims runs first
barrier = os.environ["PROBE_BARRIER"]
os.makedirs(barrier, exist_ok=True)
open(os.path.join(barrier, devices), "w").close()
other = os.path.join(barrier, "1" if devices == "0" else "0")
deadline = time.monotonic() + 180
while not os.path.exists(other):
    assert time.monotonic() < deadline, "no run on the other GPU while this one ran"
    time.sleep(0.1)
with open(os.environ["SWEEPCI_METRICS_FILE"], "a") as fh:
    fh.write(json.dumps({"step": 0, "metrics": {"score": float(sys.argv[1].split("=")[1])}}) + "\\n")
"""

SWEEP = """\
program: src/probe.py
method: random
metric: {name: score, goal: maximize}
parameters:
  x: {min: 0.0, max: 1.0}
"""

SETUP = (
    'mkdir -p "$HOME/gpu-bin" data\n'
    'printf \'#!/bin/sh\\nprintf "0\\\\n1\\\\n"\\n\' > "$HOME/gpu-bin/nvidia-smi"\n'
    'chmod +x "$HOME/gpu-bin/nvidia-smi"\n'
    'echo "$HOME/gpu-bin" >> "$GITHUB_PATH"\n'
    "echo ready > data/ready.txt\n"
)

PROJECT = {
    "sweep_file": "sweeps/probe.yaml",
    "backend": "local",
    "promote": False,
    "actions": {
        "env": {"EPOCHS": "2"},
        "agents": {
            "runs-on": ["self-hosted", "gpu"],
            "timeout-minutes": 15,
            "gpus": "auto",
            "env": {"DATA_DIR": "data"},
            "setup": [
                {"name": "Stand-in GPU driver and the data", "run": SETUP},
                {"uses": FETCH_MODELS, "with": {"name": "tiny"}},
            ],
        },
    },
}

ACTION = """\
name: fetch-models
description: stand-in for a model-cache action
inputs:
  name: {required: true, description: which models}
runs:
  using: composite
  steps:
    - shell: bash
      env:
        NAME: ${{ inputs.name }}
      run: mkdir -p models && printf '%s\\n' "$NAME" > models/name.txt
"""


def run_on_gpu_runner(
    repo: Path,
    tmp_path: Path,
    install: UserInstall,
    inputs: dict[str, str],
    *,
    actions: dict[str, Path] | None = None,
    env: dict[str, str] | None = None,
) -> ActResult:
    """A `workflow_dispatch` under act, its agent jobs on a self-hosted GPU runner (this host)."""
    return run_act_workflow(
        repo,
        tmp_path / "act",
        "workflow_dispatch",
        install=install,
        inputs=inputs,
        runs_on=("ubuntu-latest", "self-hosted", "gpu"),
        actions=actions,
        # GitHub stays unreachable (the harness's default): no baseline, not a failure
        env={
            "SWEEPCI_GPU_LOCK_DIR": str(tmp_path / "gpu-locks"),
            "PROBE_BARRIER": str(tmp_path / "barrier"),  # PROBE's meeting point of the GPUs
            **(env or {}),
        },
        timeout=600,
    )


def states_and_devices(run: ActResult) -> list[tuple[str, str]]:
    """(state, devices) of every run in the merged store of the `sweepci-report` artifact."""
    store = run.store()
    assert store is not None, run.text[-3000:]
    conn = sqlite3.connect(store)
    try:
        return conn.execute("SELECT state, devices FROM runs").fetchall()
    finally:
        conn.close()


@pytest.mark.slow
def test_a_gpu_runner_workflow_renders_lints_and_runs_one_agent_per_gpu(
    tmp_path: Path, user_install: UserInstall
) -> None:
    repo = make_user_repo(
        tmp_path / "vision-lab",
        script=PROBE,
        script_path="src/probe.py",
        sweep=SWEEP,
        sweep_path="sweeps/probe.yaml",
        files={
            "sweepci.yaml": yaml.safe_dump(PROJECT, sort_keys=False),
            # what the setup steps fetch is ignored (as `dvc pull` arranges): a prod sweep
            # refuses a checkout holding files git does not know
            ".gitignore": "data/\nmodels/\n.sweepci/\nwandb/\n",
        },
    )
    user_install.run("workflow", "render", cwd=repo, check=True)
    workflow = repo / ".github" / "workflows" / "sweep.yml"
    wf = yaml.safe_load(workflow.read_text())
    agents = wf["jobs"]["agents"]
    assert agents["runs-on"] == ["self-hosted", "gpu"] and agents["timeout-minutes"] == 15
    assert wf["jobs"]["plan"]["runs-on"] == "ubuntu-latest"
    assert wf["env"] == {"EPOCHS": "2"} and agents["env"] == {"DATA_DIR": "data"}
    assert actionlint([workflow]) == [] and zizmor([workflow]) == []
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "sweepci workflow on our GPU runner")
    assert user_install.run("workflow", "check", cwd=repo).returncode == 0  # drift-free

    action = tmp_path / "fetch-models"
    action.mkdir()
    (action / "action.yml").write_text(ACTION)
    run = run_on_gpu_runner(
        repo,
        tmp_path,
        user_install,
        {"count": "4", "agents": "1", "backend": "local"},
        actions={FETCH_MODELS: action},
    )

    lines = [line for line in run.text.splitlines() if "gent" in line or "rror" in line]
    assert run.returncode == 0, "\n".join(lines)[-6000:]
    assert set(run.job_results().values()) == {"success"}, run.job_results()
    assert "--gpus auto: 2 GPU(s) from nvidia-smi (0,1); 2 agent(s)" in run.text
    rows = states_and_devices(run)
    assert len(rows) == 4 and {state for state, _ in rows} == {"finished"}, rows
    assert {devices for _, devices in rows} == {"0", "1"}, "each GPU of the runner ran runs"
