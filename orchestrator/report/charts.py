"""Charts as inline SVG (matplotlib, imported only here and only when a chart is drawn).

Text stays text (`svg.fonttype: none`), which keeps files small and lets the
page's sans-serif font render it. Large sweeps are sampled, never drawn point
by point: at most MAX_SCATTER points, the top MAX_LINES runs in parallel
coordinates, the top few history curves of at most MAX_CURVE_POINTS each.
Labels come from user configs, so mathtext parsing is off: a `$` in a value
is shown, not interpreted.
"""

from __future__ import annotations

import functools
import io
import math
import re
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from orchestrator.report.importance import Importance
from orchestrator.report.model import RunPoint, display, sample_indices

MAX_SCATTER = 2000
MAX_LINES = 50
MAX_AXES = 10
MAX_CURVE_POINTS = 500
MAX_TICK_LABELS = 8
_STATE_COLORS = {"finished": "#2563eb", "killed": "#9ca3af"}
_LINE_STYLES = ("-", "--", ":", "-.", (0, (5, 1, 1, 1, 1, 1)))
_MARKERS = ("o", "s", "^", "D", "v")
MAX_SCATTER_PARAMS = 6

# an inline <svg> in HTML needs no namespace declarations or XML prologue; dropping
# them also keeps the page free of http:// URLs (they are identifiers, not fetched)
_PROLOGUE = re.compile(r"<\?xml[^>]*>\s*|<!DOCTYPE[^>]*>\s*|<!--.*?-->\s*", re.S)
_XMLNS = re.compile(r'\s+xmlns(:\w+)?="[^"]*"')
_METADATA = re.compile(r"<metadata>.*?</metadata>\s*", re.S)


_STYLE = {
    "font.size": 11, "legend.fontsize": 9, "axes.titlesize": 10,
    "text.parse_math": False, "svg.fonttype": "none",
}  # fmt: skip
_Chart = TypeVar("_Chart", bound=Callable[..., "str | None"])


def _styled(draw: _Chart) -> _Chart:
    """Run a chart function inside the report style; rc_context restores the caller's."""

    @functools.wraps(draw)
    def wrapper(*args: Any, **kwargs: Any) -> str | None:
        import matplotlib

        matplotlib.use("Agg")  # no display; Figure objects below never touch pyplot state
        with matplotlib.rc_context(_STYLE):
            return draw(*args, **kwargs)

    return wrapper  # type: ignore[return-value]


def _figure(width: float = 8.0, height: float = 4.2) -> Any:
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height), layout="constrained")


def _svg(fig: Any, chart_id: str) -> str:
    import matplotlib

    buf = io.StringIO()
    with matplotlib.rc_context({"svg.hashsalt": chart_id}):  # unique ids per chart in one page
        fig.savefig(
            buf,
            format="svg",
            metadata={"Date": None, "Creator": None, "Format": None, "Type": None},
        )
    text = _METADATA.sub("", _PROLOGUE.sub("", buf.getvalue()))
    text = _XMLNS.sub("", text)
    # a class lets the page's CSS size every chart
    return text.replace("<svg ", f'<svg class="chart" role="img" aria-label="{chart_id}" ', 1)


@_styled
def metric_over_time(points: Sequence[RunPoint], metric: str, maximize: bool) -> str | None:
    """Each run's value in the order it ran, and the best value so far."""
    rated = [p for p in points if p.value is not None and math.isfinite(p.value)]
    if not rated:
        return None
    fig = _figure()
    ax = fig.add_subplot()
    keep = sample_indices(len(rated), MAX_SCATTER)
    for state in sorted({rated[i].state for i in keep}):
        xs = [rated[i].seq for i in keep if rated[i].state == state]
        ys = [rated[i].value for i in keep if rated[i].state == state]
        color = _STATE_COLORS.get(state, "#f59e0b")
        ax.plot(xs, ys, "o", ms=3, alpha=0.6, color=color, label=f"{state} runs")
    # best-so-far over all runs, drawn only where it changes (a handful of points)
    best_x, best_y, best = [], [], None
    for p in rated:
        if best is None or (p.value > best if maximize else p.value < best):
            best = p.value
            best_x.append(p.seq)
            best_y.append(best)
    best_x.append(rated[-1].seq)
    best_y.append(best)
    ax.plot(best_x, best_y, drawstyle="steps-post", color="#dc2626", lw=1.8, label="best so far")
    from matplotlib.ticker import MaxNLocator

    ax.set_gid("metric-over-time-axes")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))  # run 3, never run 2.5
    ax.set_xlabel("run (order started)")
    ax.set_ylabel(metric)
    ax.grid(alpha=0.3)
    ax.legend(loc="best", fontsize=8)
    if len(keep) < len(rated):
        ax.set_title(f"{len(keep)} of {len(rated)} runs shown", fontsize=9)
    return _svg(fig, "metric-over-time")


def power_label(value: float, _pos: Any = None) -> str:
    """A power of ten as plain text: 0.001, 1, 100 (1e-05 and 1e+06 beyond), never mathtext."""
    if value <= 0 or not math.isfinite(value):
        return ""
    exponent = round(math.log10(value))
    if -4 <= exponent <= 4:
        return f"{10.0**exponent:.{max(0, -exponent)}f}"
    return f"1e{exponent:+03d}"


def _log_positions(values: list[Any]) -> tuple[list[float], list[tuple[float, str]]] | None:
    """Positive numbers mapped to 0..1 on a log scale, ticks at the powers of ten between."""
    present = [float(v) for v in values if v is not None]
    if not present or min(present) <= 0:
        return None
    lo, hi = math.log10(min(present)), math.log10(max(present))
    span = (hi - lo) or 1.0
    powers = range(math.ceil(lo - 1e-9), math.floor(hi + 1e-9) + 1)
    ticks = [((e - lo) / span, power_label(10.0**e)) for e in powers]
    if not ticks:  # less than a decade: the ends, labelled as they are
        ticks = [(0.0, display(min(present), 12)), (1.0, display(max(present), 12))]
    positions = [(math.log10(v) - lo) / span if v is not None else -0.05 for v in values]
    return positions, ticks


def _axis_positions(
    values: list[Any], log: bool = False
) -> tuple[list[float], list[tuple[float, str]]]:
    """Values mapped to 0..1 and the tick labels: numbers scaled (log-scaled when `log`),
    categories spaced evenly."""
    present = [v for v in values if v is not None]
    numeric = present and all(
        isinstance(v, (int, float)) and not isinstance(v, bool) for v in present
    )
    if numeric and log and (found := _log_positions(values)) is not None:
        return found
    if numeric:
        lo, hi = min(present), max(present)
        span = (hi - lo) or 1.0
        ticks = (
            [(0.0, display(lo, 12)), (1.0, display(hi, 12))]
            if hi != lo
            else [(0.5, display(lo, 12))]
        )
        return [
            (v - lo) / span if v is not None else 0.5 if hi == lo else -0.05 for v in values
        ], ticks
    labels = sorted({display(v, 18) for v in values})
    where = {
        label: (i / (len(labels) - 1) if len(labels) > 1 else 0.5) for i, label in enumerate(labels)
    }
    shown = (
        labels
        if len(labels) <= MAX_TICK_LABELS
        else labels[:: math.ceil(len(labels) / MAX_TICK_LABELS)]
    )
    return [where[display(v, 18)] for v in values], [(where[label], label) for label in shown]


@_styled
def parallel_coordinates(
    points: Sequence[RunPoint],
    params: Sequence[str],
    metric: str,
    maximize: bool,
    log_params: frozenset[str] | set[str] = frozenset(),
) -> str | None:
    """The top runs as lines across one axis per parameter, coloured by the metric."""
    rated = sorted(
        (
            p
            for p in points
            if p.config is not None and p.value is not None and math.isfinite(p.value)
        ),
        key=lambda p: -p.value if maximize else p.value,  # type: ignore[operator]
    )[:MAX_LINES]
    axes = [k for k in params if len({display(p.config.get(k), 60) for p in rated}) > 1][:MAX_AXES]
    if len(rated) < 2 or not axes:
        return None
    from matplotlib import colormaps
    from matplotlib.collections import LineCollection
    from matplotlib.colors import Normalize

    columns = [_axis_positions([p.config.get(k) for p in rated], k in log_params) for k in axes]
    columns.append(_axis_positions([p.value for p in rated]))
    names = [*axes, metric]
    values = [p.value for p in rated]
    norm = Normalize(min(values), max(values))
    segments = [[(j, columns[j][0][i]) for j in range(len(names))] for i in range(len(rated))]
    fig = _figure(8.0, 4.2)  # one size for every chart keeps the grid of cards even
    ax = fig.add_subplot()
    lines = LineCollection(
        segments, cmap=colormaps["viridis"], norm=norm, linewidths=1.2, alpha=0.8
    )
    lines.set_array(values)
    ax.add_collection(lines)
    for j, (_, ticks) in enumerate(columns):
        ax.axvline(j, color="#374151", lw=0.8)
        for y, label in ticks:
            ax.text(
                j + 0.03, y, label, fontsize=8, va="center", ha="left", color="#111827",
                bbox={"boxstyle": "round,pad=0.15", "fc": "white", "ec": "none", "alpha": 0.8},
                gid=f"pc-tick-{j}",
            )  # fmt: skip
    ax.set_xlim(-0.2, len(names) - 0.6)
    ax.set_ylim(-0.1, 1.08)
    ax.set_xticks(
        range(len(names)), [display(n, 18) for n in names], rotation=20, ha="right", fontsize=8
    )
    ax.set_yticks([])
    for side in ("left", "right", "top"):
        ax.spines[side].set_visible(False)
    fig.colorbar(lines, ax=ax, label=metric, pad=0.01)
    ax.set_title(f"top {len(rated)} runs by {metric}", fontsize=9)
    return _svg(fig, "parallel-coordinates")


@_styled
def importance_chart(items: Sequence[Importance], metric: str) -> str | None:
    """Random-forest importance and correlation with the metric, one bar pair per feature."""
    if not items:
        return None
    fig = _figure(8.0, 0.35 * len(items) + 1.4)
    left, right = fig.subplots(1, 2, sharey=True)
    labels = [display(i.feature, 30) for i in items][::-1]
    importances = [i.importance for i in items][::-1]
    correlations = [i.correlation or 0.0 for i in items][::-1]
    left.barh(labels, importances, color="#2563eb")
    left.set_xlabel("importance (random forest)")
    colors = ["#16a34a" if c >= 0 else "#dc2626" for c in correlations]
    right.barh(labels, correlations, color=colors)
    right.set_xlim(-1, 1)
    right.axvline(0, color="#374151", lw=0.8)
    right.set_xlabel(f"correlation with {metric}")
    for ax in (left, right):
        ax.grid(axis="x", alpha=0.3)
        ax.tick_params(axis="y", labelsize=8)
    return _svg(fig, "parameter-importance")


@_styled
def history_curves(histories: dict[str, list[tuple[float, float]]], metric: str) -> str | None:
    """The metric over steps for the top runs (from each run's logged history)."""
    if not histories:
        return None
    fig = _figure()
    ax = fig.add_subplot()
    seen: dict[tuple[tuple[float, float], ...], str] = {}
    for i, (run_id, curve) in enumerate(histories.items()):
        keep = sample_indices(len(curve), MAX_CURVE_POINTS)
        label = display(run_id, 20)
        same = seen.setdefault(tuple(curve), label)
        if same != label:
            label += f" (same as {same})"
        # a dash pattern and a marker each: identical curves would otherwise hide each other
        ax.plot(
            [curve[j][0] for j in keep], [curve[j][1] for j in keep], lw=1.4 + 0.8 * (i == 0),
            ls=_LINE_STYLES[i % len(_LINE_STYLES)], marker=_MARKERS[i % len(_MARKERS)],
            markevery=max(1, len(keep) // 8), ms=5, label=label, alpha=0.9, gid=f"curve-{i}",
        )  # fmt: skip
    from matplotlib.ticker import MaxNLocator

    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel("step")
    ax.set_ylabel(metric)
    ax.grid(alpha=0.3)
    ax.legend(loc="best", fontsize=8, title="run")
    return _svg(fig, "history-curves")


@_styled
def parameter_scatter(
    points: Sequence[RunPoint],
    params: Sequence[str],
    metric: str,
    log_params: frozenset[str] | set[str] = frozenset(),
) -> str | None:
    """The metric against each numeric parameter; a log x axis for log-distributed ones."""
    rated = [p for p in points if p.config is not None and p.value is not None
             and math.isfinite(p.value)]  # fmt: skip
    numeric = []
    for name in params:
        values = [p.config.get(name) for p in rated]
        if len([v for v in values if _number(v)]) >= 2:
            numeric.append(name)
    numeric = numeric[:MAX_SCATTER_PARAMS]
    if not numeric:
        return None
    from matplotlib.ticker import FuncFormatter, LogLocator, MaxNLocator, NullFormatter

    cols = min(3, len(numeric))
    rows = math.ceil(len(numeric) / cols)
    fig = _figure(8.0, 2.6 * rows + 0.6)
    axes = fig.subplots(rows, cols, squeeze=False, sharey=True)
    for k, name in enumerate(numeric):
        ax = axes[k // cols][k % cols]
        pairs = [(p.config.get(name), p.value) for p in rated if _number(p.config.get(name))]
        log = name in log_params and all(x > 0 for x, _ in pairs)
        ax.plot([x for x, _ in pairs], [y for _, y in pairs], "o", ms=3, alpha=0.6,
                color=_STATE_COLORS["finished"])  # fmt: skip
        ax.set_gid(f"scatter-{k}")
        if log:
            ax.set_xscale("log")
            ax.xaxis.set_major_locator(LogLocator(base=10))
            ax.xaxis.set_major_formatter(FuncFormatter(power_label))
            ax.xaxis.set_minor_formatter(NullFormatter())
        else:
            ax.xaxis.set_major_locator(MaxNLocator(nbins=4))
        ax.set_xlabel(display(name, 24) + (" (log)" if log else ""), fontsize=9)
        ax.tick_params(labelsize=8)
        ax.grid(alpha=0.3)
    for k in range(len(numeric), rows * cols):
        axes[k // cols][k % cols].set_visible(False)
    for row in axes:
        row[0].set_ylabel(metric)
    return _svg(fig, "parameter-scatter")


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
