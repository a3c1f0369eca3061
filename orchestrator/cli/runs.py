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
@click.option("--commit", default=None, help="Full commit SHA or a unique prefix (4+ characters).")
@click.option("--branch", default=None, help="Branch name.")
@click.option("--env", default=None, help="Environment (dev, prod).")
@click.option("--since", default=None, help="Only runs created since: 2h, 3d, or an ISO date.")
@click.option("--sweep", "sweep_id", default=None, help="Only runs of this sweep.")
@click.option("--limit", type=click.IntRange(min=1), default=100, show_default=True)
@store_option
@json_option
def runs(commit, branch, env, since, sweep_id, limit, store_path, as_json) -> int:
    """Find runs by commit, branch, environment or time, with their metrics."""
    from orchestrator.results import render_table
    from orchestrator.store import open_store
    from orchestrator.store.queries import find_runs

    if commit is not None and not re.fullmatch(r"[0-9a-fA-F]{4,40}", commit):
        raise UsageError(f"--commit {commit!r}: give a hex SHA or prefix of at least 4 characters")
    with open_store(store_path, create=False, readonly=True) as store:
        found = find_runs(
            store,
            commit=commit,
            branch=branch,
            env=env,
            since=parse_since(since),
            sweep_id=sweep_id,
            limit=limit,
        )
    if commit and len(commit) < 40:
        shas = {r.sha for r in found}
        if len(shas) > 1:
            raise UsageError(
                f"--commit {commit} is ambiguous: matches {', '.join(sorted(s[:12] for s in shas if s))}"
            )
    if as_json:
        print_json([r.to_json() for r in found])
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
    click.echo(f"{len(found)} run(s)")
    return 0
