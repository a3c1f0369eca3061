"""`sweepci reproduce RUN`: rerun a run's commit with its config and compare the metrics."""

from __future__ import annotations

import click

from orchestrator.cli.common import Finite, Seconds, json_option, print_json, store_option
from orchestrator.report.reproduction import DEFAULT_ATOL, DEFAULT_RTOL


@click.command()
@click.argument("run_id", metavar="RUN")
@store_option
@click.option(
    "--metric",
    "metrics",
    multiple=True,
    help="Judge only this metric (repeatable; default: every numeric metric of the run).",
)
@click.option(
    "--rtol",
    type=Finite(min=0.0),
    default=DEFAULT_RTOL,
    show_default=True,
    help="Relative tolerance.",
)
@click.option(
    "--atol",
    type=Finite(min=0.0),
    default=DEFAULT_ATOL,
    show_default=True,
    help="Absolute tolerance.",
)
@click.option(
    "--dirty",
    is_flag=True,
    help="Rerun a run made from uncommitted changes anyway (its commit only; recorded).",
)
@click.option(
    "--run-timeout", type=Seconds(min=0.001), default=None, help="Stop the rerun after this long."
)
@click.option("--verbose", "-v", "echo", is_flag=True, help="Stream the program's output.")
@json_option
def reproduce(run_id, store_path, metrics, rtol, atol, dirty, run_timeout, echo, as_json) -> int:
    """Rerun RUN from its commit with its exact config and compare its metrics.

    The commit is checked out into a temporary git worktree (your tree and index
    are not touched) and the program is launched as the agent launched it. The
    rerun is recorded, linked to RUN. Exit 0 when every metric is within
    --rtol/--atol (|rerun - original| <= atol + rtol * |original|), 1 when one
    is not, 2 when RUN's commit is not in this repository. RUN is a run id of the
    store, or ENTITY/PROJECT/ID of a W&B run (its rerun is tagged reproduces:ID).
    """
    from orchestrator.commands.reproduce import ReproduceRequest, reproduce_local_run
    from orchestrator.report.reproduction import render_reproduction

    if run_id.count("/") == 2:  # ENTITY/PROJECT/ID: a W&B run
        from orchestrator.commands.reproduce_wandb import reproduce_wandb_run as rerun
    else:
        rerun = reproduce_local_run
    result = rerun(
        ReproduceRequest(
            run=run_id,
            store_path=store_path,
            metrics=tuple(metrics),
            rtol=rtol,
            atol=atol,
            dirty=dirty,
            run_timeout=run_timeout,
            echo=echo,
            quiet=as_json,
        )
    )
    if as_json:
        print_json(result.to_json())
    else:
        for line in render_reproduction(result):
            click.echo(line)
    return 0 if result.reproduced else 1
