"""Leaderboards: the columns, rows and text table of a sweep's runs, and their JSON form."""

from __future__ import annotations

from typing import Any

from orchestrator.agent.progress import printable
from orchestrator.store.records import RunRecord, SweepRecord

PREFERRED_METRICS = ("accuracy", "precision", "recall", "f1")
MAX_METRIC_COLUMNS = 6


def metric_columns(sweep_metric: str | None, runs: list[RunRecord]) -> list[str]:
    """The sweep metric first, then accuracy/precision/recall/f1, then other numeric summary keys."""
    seen: list[str] = []
    for r in runs:
        for k, v in r.summary.items():
            if k not in seen and isinstance(v, (int, float)) and not isinstance(v, bool):
                seen.append(k)
    cols = [sweep_metric] if sweep_metric else []
    cols += [m for m in PREFERRED_METRICS if m in seen and m not in cols]
    cols += sorted(
        m
        for m in seen
        if m not in cols and not m.startswith("_") and m not in ("epoch", "step", "iteration")
    )
    return cols[:MAX_METRIC_COLUMNS]


def format_cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.4g}"
    text = printable(str(value))
    return text if len(text) <= 20 else text[:17] + "..."


def leaderboard_rows(
    sweep: SweepRecord, runs: list[RunRecord]
) -> tuple[list[str], list[list[str]]]:
    metrics = metric_columns(sweep.metric_name, runs)
    params = sorted({k for r in runs for k in r.config})
    gpus = any(r.devices for r in runs)  # a column only for sweeps run with --gpus
    header = ["#", "run", "state", *metrics, *params, *(["gpu"] if gpus else []), "time"]
    rows = []
    for i, r in enumerate(runs, 1):
        values = [r.metric_value if m == sweep.metric_name else r.summary.get(m) for m in metrics]
        rows.append(
            [
                str(i),
                r.id,
                r.state,
                *map(format_cell, values),
                *(format_cell(r.config.get(p)) for p in params),
                *([format_cell(r.devices)] if gpus else []),
                f"{r.duration:.1f}s" if r.duration is not None else "-",
            ]
        )
    return header, rows


def render_table(header: list[str], rows: list[list[str]]) -> str:
    widths = [
        max(len(h), *(len(r[i]) for r in rows)) if rows else len(h) for i, h in enumerate(header)
    ]
    lines = ["  ".join(h.ljust(w) for h, w in zip(header, widths)).rstrip()]
    lines += ["  ".join(v.ljust(w) for v, w in zip(r, widths)).rstrip() for r in rows]
    return "\n".join(lines)


def sweep_result_json(
    sweep: SweepRecord, runs: list[RunRecord], counts: dict[str, int], best: RunRecord | None
) -> dict:
    return {
        "sweep": sweep.to_json(),
        "counts": counts,
        "best": best.to_json() if best else None,
        "runs": [r.to_json() for r in runs],
    }
