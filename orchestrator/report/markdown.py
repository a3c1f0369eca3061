"""The Markdown report: the GitHub job summary, also fit to paste into a pull request.

Every value that comes from a sweep file, a config or a run (names, branch,
parameter values, error reasons) goes through `md_text`, which flattens it to
one line, shortens it, and backslash-escapes every ASCII punctuation mark.
CommonMark renders an escaped mark literally, so such a value cannot close a
table cell (`|`), open HTML (`<`), an entity (`&`), a link or image (`[`, `!`),
emphasis, a code span, math (`$`), or a GFM autolink (`:`, `.`). The template receives only
escaped strings, which is why Markdown templates render without autoescape.
Values never start a line, so marks that matter only there (`-`, `=`) stay.

GitHub refuses a job summary over 1 MiB. Tables are bounded (rows, columns,
cell length), and `render_markdown` checks the size and drops rows if needed.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Any

from orchestrator.report.mermaid import best_so_far_chart
from orchestrator.report.model import ReportModel, display, flatten
from orchestrator.store.records import RunRecord
from orchestrator.templating.jinja import render

MAX_MARKDOWN_BYTES = 900 * 1024  # below GitHub's 1 MiB, leaving room for other steps' summaries
MAX_TABLE_ROWS = 100
MAX_CONFIG_ROWS = 50
CELL_CHARS = 40
CONFIG_CHARS = 200
REASON_CHARS = 160

# every ASCII punctuation mark with a meaning somewhere in GitHub Markdown; the rest
# (- / , ' " ; % ? =) is inert inside a line and stays readable ("feature/x-1")
_PUNCTUATION = re.compile(r"([!#$&()*+.:<>@\[\\\]^_`{|}~])")
_LINE_BREAKS = re.compile(r"[\r\n\v\f\x1c-\x1e\x85\u2028\u2029]+")


def _printable(text: str) -> str:
    # control and format characters (bidi overrides among them) would hide or
    # reorder text; drop them after line breaks have become spaces
    text = _LINE_BREAKS.sub(" ", text)
    return "".join(ch for ch in text if unicodedata.category(ch) not in ("Cc", "Cf", "Co", "Cs"))


def md_text(value: Any, limit: int = CELL_CHARS) -> str:
    """A value as inert Markdown on one line: shortened, then its punctuation escaped."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return display(value)  # digits, '.', '-', '+', 'e', 'inf', 'nan': nothing to escape
    text = value if isinstance(value, str) else display(value, limit)
    text = " ".join(_printable(text).split())
    if len(text) > limit:
        text = text[: max(limit - 1, 1)] + "\u2026"
    return _PUNCTUATION.sub(r"\\\1", text) or "\\-"


def md_link(text: str, url: str | None) -> str:
    """A link when the model vetted the URL (see model.safe_url), else the text alone."""
    label = md_text(text)
    return f"[{label}]({url})" if url else label


def _duration(run: RunRecord) -> str:
    return f"{run.duration:.1f}s" if run.duration is not None else "-"


def _signed(value: float | None, percent: bool = False) -> str:
    if value is None:
        return "-"
    return f"{value * 100:+.2f}%" if percent else f"{value:+.4g}"


def markdown_context(model: ReportModel, max_rows: int = MAX_TABLE_ROWS) -> dict[str, Any]:
    """Escaped strings for templates/summary.md.j2."""
    sweep = model.sweep
    top = model.top[:max_rows]
    header = ["#", "run", "state", *model.metrics, *model.params, "time"]
    rows = [
        [
            str(i), md_text(r.id), md_text(r.state),
            *(md_text(model.metric_of(r, m)) for m in model.metrics),
            *(md_text(_flat(r).get(p)) for p in model.params),
            _duration(r),
        ]
        for i, r in enumerate(top, 1)
    ]  # fmt: skip
    best_config: list[tuple[str, str]] = []
    if model.best is not None:
        items = sorted(_flat(model.best).items())
        best_config = [
            (md_text(k, CELL_CHARS), md_text(v, CONFIG_CHARS)) for k, v in items[:MAX_CONFIG_ROWS]
        ]
    cmp = model.baseline
    base = cmp.baseline
    return {
        "title": md_text(sweep.name or sweep.id, 80),
        "sweep_id": md_text(sweep.id),
        "project": md_text(sweep.project),
        "env": md_text(sweep.env or "-"),
        "branch": md_text(model.branch or "-"),
        "commit": md_link(model.short_sha, model.commit_url) if model.short_sha else "-",
        "run_link": f" · [workflow run]({model.run_url})" if model.run_url else "",
        "method": md_text(sweep.method),
        "metric": md_text(sweep.metric_name or "no metric"),
        "goal": md_text(sweep.metric_goal or "-"),
        "status": md_text(sweep.status),
        "count_states": [md_text(s) for s in model.counts],
        "count_values": [str(n) for n in model.counts.values()],
        "total": model.total,
        "best": model.best is not None,
        "best_id": md_text(model.best.id) if model.best else "",
        "best_value": md_text(model.best.metric_value) if model.best else "",
        "best_config": best_config,
        "more_config": max(0, len(_flat(model.best)) - MAX_CONFIG_ROWS) if model.best else 0,
        "header": [md_text(h) for h in header],
        "align": ["---:" if h == "#" or h in model.metrics else "---" for h in header],
        "rows": rows,
        "hidden_rows": model.total - len(rows),
        "baseline_found": base is not None,
        "baseline_note": md_text(cmp.note[:1].upper() + cmp.note[1:], 300),
        "baseline_value": md_text(base.value) if base else "",
        "baseline_sweep": md_text(base.sweep_name or base.sweep_id) if base else "",
        "baseline_sha": md_text((base.sha or "-")[:7]) if base else "",
        "current_value": md_text(cmp.current) if cmp.current is not None else "-",
        "delta": _signed(cmp.delta),
        "relative": _signed(cmp.relative, percent=True),
        "direction": cmp.direction,
        "failures": [
            (md_text(r.id), md_text(r.state), md_text(r.exit_code), md_text(r.reason or "-", REASON_CHARS),
             md_text(_tail(r.stderr_tail) or "-", REASON_CHARS), md_text(model.logs.get(r.id, "-"), 300))
            for r in model.failures
        ],
        "lineage": _lineage_lines(model),
        **_early_context(model),
        "chart": best_so_far_chart(
            model.values, sweep.metric_name or "metric", sweep.metric_goal != "minimize"
        ) if sweep.metric_name else "",
    }  # fmt: skip


def _tail(text: str | None, lines: int = 3) -> str:
    """The last lines of a run's stderr, joined on one line (a table cell)."""
    return " | ".join(line.strip() for line in (text or "").strip().splitlines()[-lines:])


def _early_context(model: ReportModel) -> dict[str, Any]:
    """Escaped strings for the early-termination section and the searched-values note."""
    early = model.early
    out: dict[str, Any] = {"early": early is not None}
    out["searched"] = [
        (md_text(r.id), md_text(r.metric_value), md_text(model.searched[r.id]))
        for r in model.top
        if r.id in model.searched
    ]
    if early is None:
        return out
    out.update(
        early_line=early.summary_line(),
        early_rows=[
            (
                md_text(r.id), str(r.iteration) if r.iteration is not None else "-", str(r.ran),
                md_text(" ".join(f"{v:.4g}" for _, v in early.curves.get(r.id, [])[:12]) or "-", 120),
            )
            for r in early.runs
        ],
        early_hidden=max(0, early.stopped - len(early.runs)),
    )  # fmt: skip
    return out


def _lineage_lines(model: ReportModel) -> list[str]:
    """Escaped lines for the lineage section (empty when the best run logged no artifacts)."""
    lin = model.lineage
    if lin is None:
        return []
    lines = [
        f"commit {md_text((lin.commit or '-')[:12])}",
        "dataset " + (", ".join(md_text(d) for d in lin.datasets) or "-"),
        "model " + (", ".join(md_text(m) for m in lin.models) or "-"),
    ]
    if lin.production:
        held = f"production model {md_text(lin.production)}"
        if lin.production_run:
            held += f" (run {md_text(lin.production_run)}"
            if lin.production_value is not None:
                held += f", {md_text(model.sweep.metric_name)} = {md_text(lin.production_value)}"
            held += ")"
        lines.append(held)
    elif lin.models:
        lines.append("no model holds the production alias yet (`sweepci promote`)")
    return lines


def _flat(run: RunRecord) -> dict[str, Any]:
    return flatten(run.config)


def render_markdown(model: ReportModel) -> str:
    """The Markdown summary, guaranteed under MAX_MARKDOWN_BYTES."""
    rows = MAX_TABLE_ROWS
    while True:
        text = render("summary.md.j2", **markdown_context(model, rows))
        if len(text.encode("utf-8")) <= MAX_MARKDOWN_BYTES or rows == 0:
            break
        rows //= 2  # cells are bounded, so halving the rows converges fast
    return text
