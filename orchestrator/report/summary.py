"""The GitHub Actions side of a report: the job summary and the baseline step outputs.

`orchestrator.commands.results` calls `write_job_summary` after every local sweep in
Actions, with only the sweep id and store path; the baseline then comes from
$SWEEPCI_BASELINE (a store file or a directory holding one, e.g. the
downloaded artifact of the last prod run of main), so a workflow opts in by
setting that variable on the step.
"""

from __future__ import annotations

import os
from pathlib import Path

from orchestrator.github.commands import append_summary, set_outputs
from orchestrator.report.baseline import BaselineComparison
from orchestrator.report.markdown import render_markdown
from orchestrator.report.model import ReportModel, build_report
from orchestrator.store import open_store

BASELINE_ENV_VAR = "SWEEPCI_BASELINE"


def baseline_outputs(comparison: BaselineComparison) -> dict[str, str]:
    """Step outputs: empty strings when there is no baseline, so `if:` tests stay simple."""
    base = comparison.baseline
    delta = comparison.delta
    return {
        "baseline-found": "true" if base is not None else "false",
        "baseline-value": f"{base.value:.6g}" if base else "",
        "baseline-sweep": base.sweep_id if base else "",
        "baseline-delta": f"{delta:+.6g}" if delta is not None else "",
        "baseline-direction": comparison.direction,
    }


def best_outputs(model: ReportModel, sweep_url: str | None = None) -> dict[str, str]:
    """Step outputs naming the sweep and its best run (empty strings when there is none)."""
    best = model.best
    value = best.metric_value if best is not None else None
    found = {
        "sweep-id": model.sweep.remote_path or model.sweep.id,
        "best-run": best.id if best is not None else "",
        "best-metric": f"{value:.6g}" if value is not None else "",
    }
    if sweep_url:  # a W&B sweep; a local one has no page to link
        found["sweep-url"] = sweep_url
    return found


def publish(model: ReportModel, sweep_url: str | None = None) -> str:
    """Append the Markdown of `model` to the job summary; set the best-run and baseline outputs."""
    markdown = render_markdown(model)
    append_summary(markdown)
    set_outputs({**best_outputs(model, sweep_url), **baseline_outputs(model.baseline)})
    return markdown


def write_job_summary(
    sweep_id: str,
    store_path: str | Path,
    baseline: str | Path | None = None,
    top: int = 10,
    sweep_url: str | None = None,
) -> str:
    """Write the summary of sweep `sweep_id` to $GITHUB_STEP_SUMMARY and the step outputs.

    Outside Actions ($GITHUB_STEP_SUMMARY / $GITHUB_OUTPUT unset) nothing is
    written; the Markdown is returned either way.
    """
    if baseline is None:
        baseline = os.environ.get(BASELINE_ENV_VAR) or None
    with open_store(store_path, create=False, readonly=True) as store:
        model = build_report(store, sweep_id, top=top, baseline=baseline)
    return publish(model, sweep_url)
