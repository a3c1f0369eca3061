"""Leaderboards as text or JSON, and the step outputs / job summary in GitHub Actions."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import click

from orchestrator.agent.progress import printable
from orchestrator.store.records import RunRecord, SweepRecord

if TYPE_CHECKING:
    from orchestrator.backends.base import SweepHandle

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


def _fmt(value: Any) -> str:
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
                *map(_fmt, values),
                *(_fmt(r.config.get(p)) for p in params),
                *([_fmt(r.devices)] if gpus else []),
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


def print_results(
    handle: SweepHandle,
    store_path: str,
    as_json: bool = False,
    quiet: bool = False,
    limit: int = 20,
) -> None:
    """After a sweep: the leaderboard (top `limit`), the best run, and GitHub outputs."""
    if handle.backend != "local":
        from orchestrator.backends.wandb import print_wandb_results

        print_wandb_results(handle, as_json=as_json)
        return
    from orchestrator.cli.common import print_json
    from orchestrator.store import open_store
    from orchestrator.store.queries import best_run, leaderboard, state_counts
    from orchestrator.store.runs import get_sweep

    with open_store(store_path, create=False) as store:
        sweep = get_sweep(store, handle.id)
        runs = leaderboard(store, sweep)
        counts = state_counts(store, sweep.id)
        best = best_run(store, sweep)
    if as_json:
        print_json(sweep_result_json(sweep, runs, counts, best))
    else:
        shown = runs[:limit]
        header, rows = leaderboard_rows(sweep, shown)
        click.echo("")
        click.echo(
            f"sweep {sweep.id} ({sweep.method}, {sweep.project}): "
            + ", ".join(f"{n} {s}" for s, n in sorted(counts.items()))
        )
        click.echo(render_table(header, rows))
        if len(runs) > limit:
            click.echo(f"... {len(runs) - limit} more (sweepci leaderboard {sweep.id})")
        if best is not None:
            click.echo(
                f"best run {best.id}: {sweep.metric_name}={best.metric_value:.6g} "
                + " ".join(f"{k}={_fmt(v)}" for k, v in best.config.items())
            )
        else:
            click.echo("no finished run with a metric value")
        saved = _hyperband_line(handle.id, store_path)
        if saved:
            click.echo(saved)
    _write_github(sweep, best, store_path)


def _hyperband_line(sweep_id: str, store_path: str) -> str | None:
    """'hyperband stopped 3 runs early, saving 40 of 100 iterations (40%)' or None."""
    from orchestrator.agent.early import metric_histories, savings
    from orchestrator.store import open_store
    from orchestrator.store.runs import get_sweep

    with open_store(store_path, create=False) as store:
        sweep = get_sweep(store, sweep_id)
        if not sweep.config.get("early_terminate") or not sweep.metric_name:
            return None
        _, stopped = metric_histories(store, sweep.id, sweep.metric_name)
        saved = savings(store, sweep)
    if saved is None:
        return None
    return (
        f"hyperband stopped {len(stopped)} run(s) early, saving {saved.iterations_saved} of "
        f"{saved.iterations_run + saved.iterations_saved} iterations ({saved.fraction:.0%})"
    )


def _write_github(sweep: SweepRecord, best: RunRecord | None, store_path: str) -> None:
    from orchestrator.github.commands import in_actions, set_outputs

    if not in_actions():
        return
    set_outputs(
        {
            "sweep-id": sweep.id,
            "best-run": best.id if best else "",
            "best-metric": f"{best.metric_value:.6g}"
            if best and best.metric_value is not None
            else "",
            "env": sweep.env or "",
            "project": sweep.project,
        }
    )
    try:
        from orchestrator.report.summary import write_job_summary
    except ImportError:
        return
    write_job_summary(sweep.id, store_path)
