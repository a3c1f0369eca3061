"""The wandb.log start-up hook as pip installs it: from the wheel, and from `pip install -e`."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

from tests.conftest import REPO_ROOT
from tests.e2e.conftest import _NOT_SHIPPED, UserInstall, _purelib

SCRIPT = """\
import sys
import wandb

run = wandb.init()
for epoch in range(3):
    wandb.log({"val/loss": 1.0 / (epoch + 1)})
run.finish()
print(sorted(m for m in ("orchestrator",) if m in sys.modules))
"""


def _train(python: Path, tmp: Path, env: dict[str, str], live: Path | None) -> list[dict]:
    (tmp / "wandb").mkdir(parents=True, exist_ok=True)
    (tmp / "train.py").write_text(SCRIPT)
    run_env = dict(env, WANDB_MODE="offline", WANDB_SILENT="true", WANDB_DIR=str(tmp))
    if live is not None:
        run_env["SWEEPCI_WANDB_LOG_FILE"] = str(live)
    proc = subprocess.run(
        [str(python), "train.py"], cwd=tmp, env=run_env, capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    if live is None:
        assert proc.stdout.strip().endswith("[]")  # inert: sweepci not even imported
        return []
    return [json.loads(line) for line in live.read_text().splitlines()]


def test_the_wheel_puts_the_hook_in_site_packages(
    tmp_path: Path, user_install: UserInstall
) -> None:
    site = _purelib(user_install.python)
    assert (site / "sweepci-live.pth").is_file()
    env = user_install.env(HOME=str(tmp_path / "home"))
    assert _train(user_install.python, tmp_path / "off", env, None) == []
    rows = _train(user_install.python, tmp_path / "on", env, tmp_path / "live.jsonl")
    assert rows == [{"val/loss": 1.0 / (i + 1), "_step": i} for i in range(3)]


def test_an_editable_install_gets_the_hook_too(tmp_path: Path, user_install: UserInstall) -> None:
    source = tmp_path / "checkout"
    shutil.copytree(REPO_ROOT, source, ignore=_NOT_SHIPPED)
    venv = user_install.fresh_venv(tmp_path / "venv")
    python = venv / "bin" / "python"
    env = user_install.env(HOME=str(tmp_path / "home"))
    proc = subprocess.run(
        [str(python), "-m", "pip", "install", "-q", "--no-deps", "-e", str(source)],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert (_purelib(python) / "sweepci-live.pth").is_file()
    rows = _train(python, tmp_path / "on", env, tmp_path / "live.jsonl")
    assert [row["_step"] for row in rows] == [0, 1, 2]


def test_an_armed_start_up_loads_only_the_hook(tmp_path: Path, user_install: UserInstall) -> None:
    """Every Python process of a run pays the hook's imports: they stay the hook's own modules.

    `typing` (and the re, functools, collections... it pulls in) once came with
    it and tripled the start-up of an interpreter that imports nothing itself.
    """
    probe = "import sys; print(' '.join(sorted(sys.modules)))"
    env = user_install.env(HOME=str(tmp_path / "home"))

    def loaded(extra: dict[str, str]) -> set[str]:
        proc = subprocess.run(
            [str(user_install.python), "-c", probe],
            env=dict(env, **extra),
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert proc.returncode == 0, proc.stderr[-2000:]
        return set(proc.stdout.split())

    added = loaded({"SWEEPCI_WANDB_LOG_FILE": str(tmp_path / "live.jsonl")}) - loaded({})
    assert "orchestrator.agent.wandb_hook" in added
    assert added <= {
        "__future__",
        "orchestrator",
        "orchestrator.agent",
        "orchestrator.agent.wandb_hook",
    }
