"""Sweep reports: Markdown (job summary, PR comment), self-contained HTML with charts, JSON.

`render_report` is the Python API behind `sweepci report`. Heavy libraries
(matplotlib, scikit-learn) load only when an HTML report draws its charts.
"""

from __future__ import annotations

import json
from pathlib import Path

from orchestrator.errors import UsageError

FORMATS = ("md", "html", "json")
DEFAULT_TOP = 10
MAX_TABLE_ROWS = 200  # no Markdown or HTML table shows more (markdown.py shows fewer)


def render_report(
    store_path: str | Path,
    sweep_id: str = "latest",
    fmt: str = "md",
    *,
    top: int = DEFAULT_TOP,
    baseline: str | Path | None = None,
) -> str:
    """The report of one sweep of a store as text in `fmt` (md, html or json)."""
    from orchestrator.report.model import build_report
    from orchestrator.store import open_store

    if fmt not in FORMATS:
        raise UsageError(f"unknown report format '{fmt}' (choose from {', '.join(FORMATS)})")
    if fmt != "json":
        # the tables are capped anyway; reading 10k configs only to drop them costs seconds
        top = min(top, MAX_TABLE_ROWS)
    with open_store(store_path, create=False, readonly=True) as store:
        model = build_report(store, sweep_id, top=top, baseline=baseline, charts=fmt == "html")
    if fmt == "json":
        return json.dumps(model.to_json(), indent=2, default=str) + "\n"
    if fmt == "html":
        from orchestrator.report.html import render_html

        return render_html(model)
    from orchestrator.report.markdown import render_markdown

    return render_markdown(model)


__all__ = ["DEFAULT_TOP", "FORMATS", "render_report"]
