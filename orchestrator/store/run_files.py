"""Where a run's files live beside the store: `<store dir>/runs/<sweep>/<run>/`."""

from __future__ import annotations

import os
from pathlib import Path


def run_dir(store_root: Path, sweep_id: str, run_id: str) -> Path:
    """The run's own directory: its parameter file, W&B files, stdout and stderr logs."""
    return Path(store_root) / "runs" / sweep_id / run_id


def stderr_log(store_root: Path, sweep_id: str, run_id: str) -> Path:
    """The run's full stderr (the store keeps only its tail)."""
    return run_dir(store_root, sweep_id, run_id) / "stderr.log"


def shown_path(path: Path) -> str:
    """`path` relative to the working directory when it lies below it, else absolute."""
    try:
        return (
            os.path.relpath(path) if Path(path).resolve().is_relative_to(Path.cwd()) else str(path)
        )
    except ValueError:
        return str(path)
