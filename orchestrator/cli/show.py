"""`sweepci show`, `leaderboard`, `sweeps`: read a store."""

from __future__ import annotations

import datetime as dt

import click

from orchestrator.cli.common import json_option, print_json, store_option


@click.command()
@click.argument("ident", metavar="[SWEEP|RUN]", default="latest")
@store_option
@click.option(
    "--limit", type=click.IntRange(min=1), default=None, help="Show at most this many runs."
)
@json_option
def show(ident: str, store_path: str, limit: int | None, as_json: bool) -> int:
    """Show a sweep (default: the latest) and its runs best first, or one run.

    A run shows its config, summary metrics, the metric the search used, state,
    tags, commit, artifacts, reproductions, the end of its stderr and the path
    of its full log. On W&B give ENTITY/PROJECT/ID (a sweep or a run).
    """
    from orchestrator.report.run_detail import render_run_detail

    if ident.count("/") == 2:
        from orchestrator.backends.wandb_runs import kind_of, run_detail

        if kind_of(ident) == "run":
            _print_run(run_detail(ident), as_json, render_run_detail)
            return 0
        from orchestrator.backends.base import SweepHandle
        from orchestrator.cli.results import print_wandb_results

        entity, project, sid = ident.split("/")
        print_wandb_results(
            SweepHandle("wandb", sid, project, entity), as_json=as_json, limit=limit or 20
        )
        return 0
    from orchestrator.report.run_detail import local_run_detail
    from orchestrator.store import open_store
    from orchestrator.store.queries import find_sweep_or_run
    from orchestrator.store.records import RunRecord

    with open_store(store_path, create=False, readonly=True) as store:
        found = find_sweep_or_run(store, ident)
        detail = local_run_detail(store, found) if isinstance(found, RunRecord) else None
    if detail is not None:
        _print_run(detail, as_json, render_run_detail)
        return 0
    _leaderboard(found.id, store_path, limit, as_json, details=True)
    return 0


def _print_run(detail: dict, as_json: bool, render) -> None:
    if as_json:
        print_json(detail)
        return
    for line in render(detail):
        click.echo(line)


@click.command()
@click.argument("sweep_id", default="latest")
@store_option
@click.option(
    "--limit",
    type=click.IntRange(min=1),
    default=20,
    show_default=True,
    help="Show at most this many runs.",
)
@json_option
def leaderboard(sweep_id: str, store_path: str, limit: int, as_json: bool) -> int:
    """Runs of SWEEP_ID (default: the latest) sorted by the sweep metric, best first."""
    _leaderboard(sweep_id, store_path, limit, as_json, details=False)
    return 0


def _leaderboard(
    sweep_id: str, store_path: str, limit: int | None, as_json: bool, details: bool
) -> None:
    from orchestrator.report.leaderboard import leaderboard_rows, render_table, sweep_result_json
    from orchestrator.store import open_store
    from orchestrator.store.queries import best_run, state_counts
    from orchestrator.store.queries import leaderboard as board
    from orchestrator.store.runs import get_sweep

    with open_store(store_path, create=False, readonly=True) as store:
        sweep = get_sweep(store, sweep_id)
        runs = board(store, sweep, limit=limit)
        counts = state_counts(store, sweep.id)
        best = best_run(store, sweep)
    total = sum(counts.values())
    more = (
        f"{len(runs)} of {total} runs shown; raise --limit to see more" if total > len(runs) else ""
    )
    if as_json:
        print_json(sweep_result_json(sweep, runs, counts, best))
        if more:
            click.echo(f"sweepci: {more}", err=True)
        return
    if details:
        ctx = sweep.context
        click.echo(f"sweep      {sweep.id} {sweep.name or ''}".rstrip())
        click.echo(f"project    {sweep.project} (env {sweep.env})")
        click.echo(
            f"method     {sweep.method}, metric {sweep.metric_name or '-'} ({sweep.metric_goal or '-'})"
        )
        click.echo(
            f"status     {sweep.status}"
            + (f" ({sweep.status_reason})" if sweep.status_reason else "")
        )
        click.echo(
            f"code       branch {ctx.get('branch') or ctx.get('tag') or '-'} sha {ctx.get('sha') or '-'}"
        )
        click.echo(
            f"created    {dt.datetime.fromtimestamp(sweep.created_at).isoformat(timespec='seconds')}"
        )
        click.echo(
            "runs       " + (", ".join(f"{n} {s}" for s, n in sorted(counts.items())) or "none")
        )
        click.echo("")
    header, rows = leaderboard_rows(sweep, runs)
    click.echo(render_table(header, rows))
    if more:
        click.echo(more)
    if best is not None:
        click.echo(f"best run {best.id}: {sweep.metric_name}={best.metric_value:.6g}")
    for r in runs:
        if details and r.state in ("failed", "crashed") and r.stderr_tail:
            last = r.stderr_tail.strip().splitlines()[-1:] or [""]
            click.echo(f"run {r.id} {r.state}: {r.reason}; stderr: {last[0][:200]}")


@click.command()
@store_option
@click.option("--limit", type=click.IntRange(min=1), default=50, show_default=True)
@json_option
def sweeps(store_path: str, limit: int, as_json: bool) -> int:
    """List the sweeps in the store, newest first."""
    from orchestrator.report.leaderboard import render_table
    from orchestrator.store import open_store
    from orchestrator.store.queries import list_sweeps, state_counts

    with open_store(store_path, create=False, readonly=True) as store:
        items = list_sweeps(store, limit)
        counts = {s.id: state_counts(store, s.id) for s in items}
    if as_json:
        print_json([dict(s.to_json(), counts=counts[s.id]) for s in items])
        return 0
    rows = [
        [
            s.id,
            s.method,
            s.project,
            s.status,
            str(sum(counts[s.id].values())),
            dt.datetime.fromtimestamp(s.created_at).isoformat(timespec="seconds"),
        ]
        for s in items
    ]
    click.echo(render_table(["sweep", "method", "project", "status", "runs", "created"], rows))
    return 0
