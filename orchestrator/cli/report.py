"""`sweepci report`: a sweep as Markdown (job summary), self-contained HTML, or JSON."""

from __future__ import annotations

from pathlib import Path

import click

from orchestrator.cli.common import store_option


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
    comparison with the latest prod sweep of main, and (HTML) charts."""
    from orchestrator.report import render_report
    from orchestrator.report.summary import write_job_summary

    text = render_report(store_path, sweep_id, fmt, top=top, baseline=baseline)
    if job_summary:
        write_job_summary(sweep_id, store_path, baseline=baseline, top=top)
    if output is None:
        click.echo(text, nl=not text.endswith("\n"))
        return 0
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(text, encoding="utf-8")
    click.echo(f"wrote {fmt} report of sweep {sweep_id} to {output}", err=True)
    return 0
