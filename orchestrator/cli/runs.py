"""`sweepci runs`: which runs came from this code?"""

from __future__ import annotations

import datetime as dt
import re
import time

import click

from orchestrator.cli.common import json_option, print_json, store_option
from orchestrator.errors import UsageError


def parse_since(text: str | None) -> float | None:
    """'2h', '3d', '45m', '30s' ago, or an ISO date/time."""
    if not text:
        return None
    m = re.fullmatch(r"(\d+(?:\.\d+)?)\s*([smhdw])", text.strip())
    if m:
        unit = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}[m.group(2)]
        return time.time() - float(m.group(1)) * unit
    try:
        return dt.datetime.fromisoformat(text).timestamp()
    except ValueError:
        raise UsageError(
            f"--since {text!r}: use a duration such as 2h or 3d, or an ISO date"
        ) from None


@click.command()
@click.option(
    "--commit",
    default=None,
    help="A git revision (HEAD, main~2, a tag, a sha) resolved with git, or a hex sha prefix (4+).",
)
@click.option("--branch", default=None, help="Branch name.")
@click.option("--env", default=None, help="Environment (dev, prod).")
@click.option("--since", default=None, help="Only runs created since: 2h, 3d, or an ISO date.")
@click.option("--sweep", "sweep_id", default=None, help="Only runs of this sweep.")
@click.option("--limit", type=click.IntRange(min=1), default=100, show_default=True)
@store_option
@json_option
def runs(commit, branch, env, since, sweep_id, limit, store_path, as_json) -> int:
    """Find runs by commit, branch, environment or time, with their metrics.

    --commit takes any revision git knows in the current repository; a full sha
    or a hex prefix also finds runs of commits this clone does not have.
    """
    from pathlib import Path

    from orchestrator.ci.revision import commit_filter
    from orchestrator.report.leaderboard import render_table
    from orchestrator.store import open_store
    from orchestrator.store.queries import count_runs, find_runs

    wanted = commit_filter(commit, Path.cwd()) if commit is not None else None
    filters = dict(
        commit=wanted, branch=branch, env=env, since=parse_since(since), sweep_id=sweep_id
    )
    with open_store(store_path, create=False, readonly=True) as store:
        found = find_runs(store, **filters, limit=limit)
        total = count_runs(store, **filters) if len(found) >= limit else len(found)
    if wanted and len(wanted) < 40:
        shas = {r.sha for r in found}
        if len(shas) > 1:
            raise UsageError(
                f"--commit {commit} is ambiguous: matches {', '.join(sorted(s[:12] for s in shas if s))}"
            )
    more = (
        f"{len(found)} of {total} runs shown; raise --limit to see more"
        if total > len(found)
        else ""
    )
    if as_json:
        print_json([r.to_json() for r in found])
        if more:
            click.echo(f"sweepci: {more}", err=True)
        return 0
    rows = [
        [
            r.id,
            r.sweep_id,
            r.state,
            "-" if r.metric_value is None else f"{r.metric_value:.4g}",
            r.branch or "-",
            (r.sha or "-")[:12],
            r.env or "-",
            dt.datetime.fromtimestamp(r.created_at).isoformat(timespec="seconds"),
        ]
        for r in found
    ]
    click.echo(
        render_table(["run", "sweep", "state", "metric", "branch", "sha", "env", "created"], rows)
    )
    click.echo(more or f"{len(found)} run(s)")
    return 0
