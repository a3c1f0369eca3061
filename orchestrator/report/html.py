"""The HTML report: one self-contained file with the summary tables and inline SVG charts.

Self-contained means the page fetches nothing: no scripts, stylesheets, fonts
or images from anywhere (CSS is inline, charts are inline SVG, the font is
the reader's own sans-serif). The only URLs in the file are the links to the
commit and the workflow run on GitHub, as plain `<a href>` the reader may
click; they are shown only when they have the exact shape of such links
(model.safe_url). Every other value is escaped by the template's autoescape.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from markupsafe import Markup

from orchestrator.report import charts
from orchestrator.report.importance import importance_note, parameter_importance
from orchestrator.report.model import ReportModel, display, flatten
from orchestrator.report.scales import log_parameters, swept_parameters
from orchestrator.templating.jinja import render

CELL_CHARS = 60
CONFIG_CHARS = 500
MAX_TABLE_ROWS = 200
MAX_CONFIG_ROWS = 100
MAX_PARALLEL_AXES_FROM_IMPORTANCE = 10


def _chart(chart_id: str, title: str, caption: str, svg: str | None) -> dict[str, Any] | None:
    if svg is None:
        return None
    # the SVG is matplotlib's output (its text nodes are XML-escaped by the writer)
    return {"id": chart_id, "title": title, "caption": caption, "svg": Markup(svg)}


def build_charts(model: ReportModel) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The charts and the importance rows (the table beside the importance chart)."""
    sweep = model.sweep
    metric = sweep.metric_name or "metric"
    maximize = sweep.metric_goal != "minimize"
    importance = parameter_importance(model.points)
    log_params = log_parameters(sweep.config)
    swept = swept_parameters(sweep.config)
    # parallel axes: the most important parameters first, then the rest alphabetically
    ranked = []
    for item in importance:
        name = item.feature.split("=", 1)[0] if "=" in item.feature else item.feature
        if name not in ranked:
            ranked.append(name)
    every = sorted({k for p in model.points if p.config for k in p.config})
    axes = (ranked + [k for k in every if k not in ranked])[:MAX_PARALLEL_AXES_FROM_IMPORTANCE]
    found = [
        _chart("metric-over-time", f"{metric} per run", "Each run in the order it started; the line is the best value so far.",
               charts.metric_over_time(model.points, metric, maximize)),
        _chart("parallel-coordinates", "Parameters of the top runs",
               f"One line per run across the parameter axes, coloured by {metric}; categories are spaced evenly.",
               charts.parallel_coordinates(model.points, axes, metric, maximize, log_params)),
        _chart("parameter-scatter", f"{metric} against each parameter",
               "One point per run; log-distributed parameters on a log axis.",
               charts.parameter_scatter(model.points, swept or axes, metric, log_params)),
        _chart("parameter-importance", "Parameter importance",
               f"Random-forest importance for predicting {metric}, and linear correlation with it. Categorical parameters are one-hot encoded; constants are skipped.",
               charts.importance_chart(importance, metric)),
        _chart("history-curves", f"{metric} over training steps",
               "Logged history of the best runs.", charts.history_curves(model.histories, metric)),
        _chart("stopped-curves", f"{metric} of the runs hyperband stopped",
               "Each stopped run's logged history, up to the iteration it was stopped at.",
               charts.history_curves(model.early.curves, metric) if model.early else None),
    ]  # fmt: skip
    rows = [
        {
            "feature": display(i.feature, CELL_CHARS),
            "importance": f"{i.importance:.3f}",
            "correlation": signed3(i.correlation),
        }
        for i in importance
    ]
    return [c for c in found if c is not None], rows


def signed3(value: float | None) -> str:
    """A correlation with three decimals and its sign; a value that rounds to zero is 0.000."""
    if value is None:
        return "-"
    text = f"{value:+.3f}"
    return "0.000" if text in ("+0.000", "-0.000") else text


def html_context(model: ReportModel, with_charts: bool = True) -> dict[str, Any]:
    """Plain values for templates/report.html.j2 (escaped there by autoescape)."""
    sweep = model.sweep
    cmp = model.baseline
    base = cmp.baseline
    top = model.top[:MAX_TABLE_ROWS]
    chart_list, importance_rows = build_charts(model) if with_charts else ([], [])
    best_config = sorted(flatten(model.best.config).items()) if model.best else []
    return {
        "title": sweep.name or sweep.id,
        "sweep": sweep,
        "created": dt.datetime.fromtimestamp(sweep.created_at, dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "branch": model.branch or "-",
        "short_sha": model.short_sha,
        "commit_url": model.commit_url,
        "run_url": model.run_url,
        "counts": list(model.counts.items()),
        "total": model.total,
        "metric": sweep.metric_name,
        "best": model.best,
        "best_value": display(model.best.metric_value) if model.best else "",
        "best_config": [(display(k, CELL_CHARS), display(v, CONFIG_CHARS)) for k, v in best_config[:MAX_CONFIG_ROWS]],
        "header": ["#", "run", "state", *model.metrics, *model.params, "time"],
        "numeric": {"#", *model.metrics},
        "rows": [
            [str(i), r.id, r.state, *(display(model.metric_of(r, m)) for m in model.metrics),
             *(display(flatten(r.config).get(p), CELL_CHARS) for p in model.params),
             f"{r.duration:.1f}s" if r.duration is not None else "-"]
            for i, r in enumerate(top, 1)
        ],
        "hidden_rows": model.total - len(top),
        "baseline": base,
        "baseline_note": cmp.note[:1].upper() + cmp.note[1:],
        "baseline_value": display(base.value) if base else "",
        "current_value": display(cmp.current) if cmp.current is not None else "-",
        "delta": f"{cmp.delta:+.4g}" if cmp.delta is not None else "-",
        "relative": f"{cmp.relative * 100:+.2f}%" if cmp.relative is not None else "-",
        "direction": cmp.direction,
        "lineage": model.lineage,
        "failures": [
            {"id": r.id, "state": r.state, "exit_code": display(r.exit_code), "reason": display(r.reason, 300),
             "stderr": (r.stderr_tail or "")[-2000:], "log": model.logs.get(r.id, "")}
            for r in model.failures
        ],
        "charts": chart_list,
        "importance": importance_rows,
        "early": model.early,
        "searched": [(r.id, display(r.metric_value), display(model.searched[r.id]))
                     for r in top if r.id in model.searched],
        "importance_note": importance_note(model.points) if importance_rows else None,
    }  # fmt: skip


def render_html(model: ReportModel, with_charts: bool = True) -> str:
    """The report page; `model` must be built with charts=True for the charts to have data."""
    return render("report.html.j2", **html_context(model, with_charts))
