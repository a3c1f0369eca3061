"""`sweepci sync`: upload a local sweep's offline runs to W&B."""

from __future__ import annotations

import click

from orchestrator.cli.common import json_option, print_json, store_option
from orchestrator.errors import EXIT_BACKEND


@click.command()
@click.argument("sweep_id")
@store_option
@click.option(
    "--project",
    default=None,
    help="W&B project to upload to (default: the project the sweep was routed to).",
)
@click.option(
    "--entity",
    default=None,
    help="W&B entity (default: sweepci.yaml's entity, then WANDB_ENTITY, then the API key's default entity).",
)
@click.option(
    "--dry-run",
    is_flag=True,
    help="List the runs that would be uploaded; upload nothing, need no key.",
)
@click.option(
    "--parallel",
    type=click.IntRange(min=1, max=32),
    default=4,
    show_default=True,
    help="Runs uploaded at a time.",
)
@click.option(
    "--timeout",
    type=click.FloatRange(min=1),
    default=600,
    show_default=True,
    help="Stop uploading after this many seconds; runs not uploaded are retried by the next sync.",
)
@json_option
def sync(
    sweep_id: str,
    store_path: str,
    project: str | None,
    entity: str | None,
    dry_run: bool,
    parallel: int,
    timeout: float,
    as_json: bool,
) -> int:
    """Upload the ended runs of local sweep SWEEP_ID to W&B with `wandb sync`.

    Tags, config (with `ci`), the run group `sweep-<id>`, history and summary
    go as they are. Runs already uploaded are skipped, so syncing again only
    sends what is missing (for example after a failed upload). The API key is
    read from WANDB_API_KEY only. A prod sweep, or a prod target project,
    passes the same guard as `sweepci run` into prod.
    """
    from orchestrator.backends.wandb_sync import sync_sweep

    report = sync_sweep(
        sweep_id,
        store_path,
        project=project,
        entity=entity,
        dry_run=dry_run,
        parallel=parallel,
        timeout=timeout,
        progress=lambda line: click.echo(f"sweepci: {line}", err=True),
    )
    target = report.to_json()["target"]
    if as_json:
        print_json(report.to_json())
    elif dry_run:
        click.echo(
            f"would upload {report.count('would_sync')} run(s) of sweep {report.sweep_id} to {target}"
        )
        for run in report.runs:
            if run.status == "would_sync":
                click.echo(f"  {run.id} ({run.state})")
    else:
        click.echo(
            f"uploaded {report.count('synced')} run(s) of sweep {report.sweep_id} to {target}; "
            f"{report.count('already_synced')} already there, {report.count('skipped')} skipped, "
            f"{report.count('failed')} failed"
        )
    if report.failed:
        first = report.failed[0]
        click.echo(
            f"sweepci: error: {len(report.failed)} run(s) not uploaded (run {first.id}: {first.reason}); "
            f"sync again to retry them",
            err=True,
        )
        return EXIT_BACKEND
    return 0
