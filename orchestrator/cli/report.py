"""`sweepci report`: a sweep as Markdown (job summary), self-contained HTML, or JSON."""

from __future__ import annotations

from pathlib import Path

import click

from orchestrator.cli.common import store_option

#: where `report ENTITY/PROJECT/ID` puts main's latest prod sweep read from W&B
WANDB_BASELINE_DIR = Path(".sweepci") / "wandb-baseline"


@click.command()
@click.argument("sweep_id", default="latest")
@store_option
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["md", "html", "json"]),
    default="md",
    show_default=True,
    help="md: the GitHub job summary / PR comment; html: one self-contained page with charts; json: for scripts.",
)
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, writable=True, path_type=Path),
    default=None,
    help="Write the report to this file instead of standard output.",
)
@click.option(
    "--baseline",
    type=click.Path(path_type=Path),
    default=None,
    envvar="SWEEPCI_BASELINE",
    help="Store file, or a directory holding one (a downloaded artifact), whose latest prod sweep of "
    "main is the baseline to compare with (env: SWEEPCI_BASELINE). A missing path means no baseline.",
)
@click.option(
    "--top",
    type=click.IntRange(min=1),
    default=10,
    show_default=True,
    help="How many of the best runs the leaderboard shows.",
)
@click.option(
    "--job-summary",
    is_flag=True,
    help="Also append the Markdown to $GITHUB_STEP_SUMMARY and set baseline-* step outputs (GitHub Actions).",
)
def report(
    sweep_id: str, store_path: str, fmt: str, output: Path | None, baseline: Path | None, top: int,
    job_summary: bool,
) -> int:  # fmt: skip
    """Write a report of sweep SWEEP_ID (default: the latest): counts, best run, top runs,
    comparison with the latest prod sweep of main, and (HTML) charts.

    A W&B sweep is given as ENTITY/PROJECT/ID: its runs are read through the W&B API
    (WANDB_API_KEY) into --store, and, unless --baseline is given, main's latest sweep
    in the prod project into .sweepci/wandb-baseline; later reports can then name the
    sweep by its ID. With --job-summary the step outputs sweep-id, sweep-url, best-run
    and best-metric are set too."""
    from orchestrator.report import render_report
    from orchestrator.report.summary import write_job_summary

    sweep_url = None
    if sweep_id.count("/") == 2:
        from orchestrator.report.wandb_report import prepare_wandb_report

        found = prepare_wandb_report(sweep_id, store_path, WANDB_BASELINE_DIR)
        click.echo(f"read W&B sweep {sweep_id} into {store_path}; {found.note}", err=True)
        sweep_id, sweep_url = found.sweep_id, found.sweep_url
        if baseline is None:
            baseline = found.baseline or WANDB_BASELINE_DIR
    text = render_report(store_path, sweep_id, fmt, top=top, baseline=baseline)
    if job_summary:
        write_job_summary(sweep_id, store_path, baseline=baseline, top=top, sweep_url=sweep_url)
    if output is None:
        click.echo(text, nl=not text.endswith("\n"))
        return 0
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(text, encoding="utf-8")
    click.echo(f"wrote {fmt} report of sweep {sweep_id} to {output}", err=True)
    return 0
