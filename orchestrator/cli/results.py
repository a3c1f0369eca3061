"""Printing a sweep's results after `run` and `resume`, and for `show ENTITY/PROJECT/ID`."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import click

from orchestrator.cli.common import print_json

if TYPE_CHECKING:
    from orchestrator.backends.base import SweepHandle


def print_results(
    handle: SweepHandle,
    store_path: str,
    as_json: bool = False,
    quiet: bool = False,
    limit: int = 20,
) -> None:
    """After a sweep: the leaderboard (top `limit`), the best run, and GitHub outputs."""
    if handle.backend != "local":
        print_wandb_results(handle, as_json=as_json)
        return
    from orchestrator.commands.results import hyperband_note, local_results, publish_local_results
    from orchestrator.report.leaderboard import format_cell, leaderboard_rows, render_table

    results = local_results(handle.id, store_path)
    sweep, runs, counts, best = results.sweep, results.runs, results.counts, results.best
    if as_json:
        print_json(results.to_json())
    else:
        header, rows = leaderboard_rows(sweep, runs[:limit])
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
                + " ".join(f"{k}={format_cell(v)}" for k, v in best.config.items())
            )
        else:
            click.echo("no finished run with a metric value")
        saved = hyperband_note(handle.id, store_path)
        if saved:
            click.echo(saved)
    publish_local_results(results, store_path)


def print_wandb_results(handle: SweepHandle, as_json: bool = False, limit: int = 20) -> None:
    """The runs of a W&B sweep, best first when the metric is known."""
    from orchestrator.backends.wandb import wandb_results
    from orchestrator.commands.results import publish_wandb_results
    from orchestrator.report.leaderboard import render_table

    results = wandb_results(handle)
    publish_wandb_results(results)
    if as_json:
        print_json(results.to_json())
        return
    runs, metric, best = results.runs, results.metric, results.best
    keys = [
        k
        for k in ([metric] if metric else []) + ["accuracy", "precision", "recall", "f1"]
        if any(k in r.summary for r in runs)
    ]
    keys = list(dict.fromkeys(keys))
    rows = [
        [str(i), r.id, r.state, *(_fmt(r.summary.get(k)) for k in keys), ",".join(r.tags)[:60]]
        for i, r in enumerate(runs[:limit], 1)
    ]
    click.echo(
        f"W&B sweep {handle.path}"
        + (f" ({handle.url})" if handle.url else "")
        + f": {len(runs)} run(s)"
    )
    click.echo(render_table(["#", "run", "state", *keys, "tags"], rows))
    if len(runs) > limit:
        click.echo(f"{limit} of {len(runs)} runs shown; raise --limit to see more")
    if best is not None:
        click.echo(f"best run {best.id}: {metric}={best.metric_value:.6g}")


def _fmt(value: Any) -> str:
    if value is None:
        return "-"
    return f"{value:.4g}" if isinstance(value, float) else str(value)
