"""Shared fixtures: real git repositories, the real CLI in subprocesses, a clean environment."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

pytest_plugins = ["tests.servers.github_fixtures"]

REPO_ROOT = Path(__file__).resolve().parent.parent

# variables that would change what sweepci sees; tests set what they need explicitly
_LEAKY = (
    "GITHUB_ACTIONS",
    "GITHUB_EVENT_NAME",
    "GITHUB_EVENT_PATH",
    "GITHUB_REF",
    "GITHUB_REF_NAME",
    "GITHUB_REF_TYPE",
    "GITHUB_HEAD_REF",
    "GITHUB_SHA",
    "GITHUB_REPOSITORY",
    "GITHUB_RUN_ID",
    "GITHUB_RUN_ATTEMPT",
    "GITHUB_OUTPUT",
    "GITHUB_STEP_SUMMARY",
    "GITHUB_WORKSPACE",
    "GITHUB_TOKEN",
    "GH_TOKEN",
    "WANDB_API_KEY",
    "WANDB_ENTITY",
    "WANDB_PROJECT",
    "WANDB_MODE",
    "WANDB_DIR",
    "WANDB_TAGS",
    "SWEEPCI_STORE",
    "SWEEPCI_DEBUG",
    "CI",
)


def clean_env(**extra: str) -> dict[str, str]:
    """os.environ without CI/W&B variables, plus `extra`."""
    env = {k: v for k, v in os.environ.items() if k not in _LEAKY}
    env["PYTHONPATH"] = str(REPO_ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    env.update(extra)
    return env


def sweepci(
    *args: str,
    cwd: Path,
    env: dict[str, str] | None = None,
    timeout: float = 120,
    check: bool = False,
) -> subprocess.CompletedProcess:
    """Run the real CLI as a subprocess."""
    proc = subprocess.run(
        [sys.executable, "-m", "orchestrator", *args],
        cwd=cwd,
        env=env or clean_env(),
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    if check and proc.returncode != 0:
        raise AssertionError(
            f"sweepci {' '.join(args)} exited {proc.returncode}\n{proc.stdout}\n{proc.stderr}"
        )
    return proc


def git(cwd: Path, *args: str) -> str:
    return subprocess.run(
        ["git", *args],
        cwd=cwd,
        check=True,
        capture_output=True,
        text=True,
        env=clean_env(
            GIT_AUTHOR_NAME="t",
            GIT_AUTHOR_EMAIL="t@example.com",
            GIT_COMMITTER_NAME="t",
            GIT_COMMITTER_EMAIL="t@example.com",
        ),
    ).stdout.strip()


def make_repo(
    path: Path,
    branch: str = "main",
    files: dict[str, str] | None = None,
    remote: str | None = "https://github.com/acme/wine-quality.git",
) -> Path:
    """A real git repository with one commit on `branch`."""
    path.mkdir(parents=True, exist_ok=True)
    git(path, "init", "-q", "-b", branch)
    for name, text in (files or {"README.md": "demo\n"}).items():
        target = path / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text)
    (path / ".gitignore").write_text(".sweepci/\nwandb/\n")
    git(path, "add", "-A")
    git(path, "commit", "-q", "-m", "init")
    if remote:
        git(path, "remote", "add", "origin", remote)
    return path


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    return make_repo(tmp_path / "wine-quality", branch="feature/x")
