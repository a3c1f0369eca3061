"""Metrics of a finished run: the offline W&B files first, the live channel as a fallback."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any


def collect_metrics(
    wandb_dir: Path, run_id: str, live_rows: list[dict[str, Any]]
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """(summary, history) for a run. The W&B offline file is the record of truth;
    values only reported live (report_metric) fill the gaps."""
    summary: dict[str, Any] = {}
    history: list[dict[str, Any]] = []
    try:
        from orchestrator.agent import wandb_files

        path = wandb_files.find_run_file(wandb_dir, run_id)
        if path is not None:
            offline = wandb_files.read_offline_run(path)
            summary = dict(offline.summary)
            history = [dict(row) for row in offline.history]
    except ImportError:  # the wandb package is not installed: only the live channel is available
        pass
    if not history and live_rows:
        history = [dict(r) for r in live_rows]
    for row in live_rows or history:
        for key, value in row.items():
            if not key.startswith("_") and key not in summary and _is_number(value):
                summary[key] = value
    # last values from history for keys the summary lacks
    for row in history:
        for key, value in row.items():
            if not key.startswith("_") and key not in summary and _is_number(value):
                summary[key] = value
    return {k: v for k, v in summary.items() if not k.startswith("_")}, history


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def metric_of(summary: dict[str, Any], name: str | None) -> float | None:
    """The sweep metric from a summary (dotted names for nested keys), if numeric and finite."""
    if not name or name not in summary:
        return None
    value = summary[name]
    if not _is_number(value):
        return None
    value = float(value)
    return value if math.isfinite(value) else None
