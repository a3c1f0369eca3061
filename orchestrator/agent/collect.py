"""Metrics of a finished run: the offline W&B files first, the live files as a fallback."""

from __future__ import annotations

import math
from collections.abc import Collection
from pathlib import Path
from typing import Any

from orchestrator.agent.livemetrics import LiveMetrics
from orchestrator.trials.trace import MetricTrace


def collect_metrics(
    wandb_dir: Path, run_id: str, live: LiveMetrics
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """(summary, history) for a run. The W&B offline file is the record of truth;
    values only reported live fill the gaps, each key at its last value (as W&B's
    summary holds the last value logged)."""
    summary: dict[str, Any] = {}
    history: list[dict[str, Any]] = []
    try:
        from orchestrator.agent import wandb_files

        path = wandb_files.find_run_file(wandb_dir, run_id)
        if path is not None:
            offline = wandb_files.read_offline_run(path)
            summary = dict(offline.summary)
            history = [dict(row) for row in offline.history]
    except ImportError:  # the wandb package is not installed: only the live files are available
        pass
    if not history:
        history = [dict(r) for r in live.history()]
    for key, value in live.summary().items():
        if key not in summary and _is_number(value):
            summary[key] = value
    # last values from history for keys the summary lacks
    for row in history:
        for key, value in row.items():
            if not key.startswith("_") and key not in summary and _is_number(value):
                summary[key] = value
    return {k: v for k, v in summary.items() if not k.startswith("_")}, history


def final_trace(
    metric: str,
    summary: dict[str, Any],
    history: list[dict[str, Any]],
    live: LiveMetrics,
    bands: Collection[int] = (),
) -> MetricTrace:
    """The run's trace for the search: from its W&B history when it has one (what W&B's
    engine reads), else what the live files showed; the summary value in both cases."""
    live_trace = live.trace()
    if history and any(metric in row for row in history):
        trace = MetricTrace.of((row[metric] for row in history if metric in row), bands)
        if trace.n < live_trace.n:
            # a killed run's W&B file may end before the values it logged live
            trace = MetricTrace(**{**live_trace.__dict__, "at": dict(live_trace.at)})
    else:
        trace = MetricTrace(**{**live_trace.__dict__, "at": dict(live_trace.at)})
    trace.set_summary(summary.get(metric))
    return trace


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
