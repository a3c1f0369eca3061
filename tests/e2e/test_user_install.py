"""The session's user installation is a real pip install of this checkout's wheel, not the checkout."""

from __future__ import annotations

import json
from pathlib import Path

from tests.conftest import REPO_ROOT
from tests.e2e.conftest import UserInstall, make_user_repo


def test_installed_sweepci_runs_from_its_venv_not_the_checkout(
    tmp_path: Path, user_install: UserInstall
) -> None:
    where = user_install.run("--version", cwd=tmp_path, check=True).stdout
    assert user_install.version in where
    probe = "import json, orchestrator; print(json.dumps(orchestrator.__file__))"
    env = user_install.env()
    assert "PYTHONPATH" not in env
    import subprocess

    out = subprocess.run(
        [str(user_install.python), "-c", probe], cwd=tmp_path, env=env, capture_output=True,
        text=True, check=True,
    ).stdout  # fmt: skip
    module = Path(json.loads(out))
    assert user_install.venv in module.parents and REPO_ROOT not in module.parents


def test_a_user_repository_validates_its_own_sweep_with_the_installed_command(
    tmp_path: Path, user_install: UserInstall
) -> None:
    repo = make_user_repo(tmp_path / "digits-lab")
    assert not (repo / "orchestrator").exists()
    shown = user_install.run("validate", "sweeps/digits.yaml", cwd=repo)
    assert shown.returncode == 0, shown.stdout + shown.stderr


def test_act_jobs_install_the_wheel_with_their_own_pip_step(
    tmp_path: Path, user_install: UserInstall
) -> None:
    from orchestrator.github.pins import PINS
    from tests.e2e.conftest import git, run_act_workflow

    workflow = f"""\
name: smoke
on: push
permissions: {{}}
jobs:
  check:
    runs-on: ubuntu-latest
    steps:
      - uses: {PINS["checkout"].uses}
      - uses: {PINS["setup_python"].uses}
        with:
          python-version: "3.11"
      - run: python -m pip install "sweepci[wandb]=={user_install.version}"
      - run: sweepci validate sweeps/digits.yaml
      - run: python -c "import orchestrator, sys; print('from', orchestrator.__file__)"
"""
    repo = make_user_repo(tmp_path / "digits-lab", files={".github/workflows/smoke.yml": workflow})
    assert git(repo, "status", "--porcelain") == ""

    run = run_act_workflow(
        repo, tmp_path / "act", "push", install=user_install, workflow=".github/workflows/smoke.yml"
    )

    assert run.returncode == 0, run.text[-3000:]
    assert run.job_results() == {"check": "success"}
    assert len(run.job_venvs) == 1 and run.installed_in_jobs() == run.job_venvs
    assert f"Successfully installed sweepci-{user_install.version}" in run.text
    assert f"from {run.job_venvs[0]}" in run.text
