"""Small helpers shared by the bench scripts."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def env() -> dict[str, str]:
    e = {k: v for k, v in os.environ.items() if not k.startswith(("GITHUB_", "WANDB_"))}
    e["PYTHONPATH"] = str(ROOT) + os.pathsep + e.get("PYTHONPATH", "")
    return e


def git_repo(files: dict[str, str]) -> Path:
    """A throwaway git repository on a feature branch (routed to dev)."""
    path = Path(tempfile.mkdtemp(prefix="sweepci-bench-"))
    for name, text in files.items():
        (path / name).write_text(text)
    (path / ".gitignore").write_text(".sweepci/\n")
    g = ["git", "-c", "user.name=b", "-c", "user.email=b@b"]
    subprocess.run(g + ["init", "-q", "-b", "bench/x"], cwd=path, check=True)
    subprocess.run(g + ["add", "-A"], cwd=path, check=True)
    subprocess.run(g + ["commit", "-qm", "bench"], cwd=path, check=True)
    return path


def sweepci(args: list[str], cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "orchestrator", *args],
        cwd=cwd,
        env=env(),
        capture_output=True,
        text=True,
        check=True,
    )


def ratio_line(
    name: str, value: float, anchor_name: str, anchor: float, target: str | None = None
) -> str:
    r = value / anchor if anchor else float("inf")
    line = f"{name:<44} {value:9.3f}s  vs {anchor_name} {anchor:8.3f}s  ratio {r:5.2f}x"
    return line + (f"  (target {target})" if target else "")
