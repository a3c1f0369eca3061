"""Did a rerun reproduce its run? Metrics side by side, their differences, and a verdict."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any

from orchestrator.errors import UsageError

#: a metric is reproduced when |again - original| <= atol + rtol * |original| (numpy.isclose)
DEFAULT_RTOL = 1e-6
DEFAULT_ATOL = 1e-9


@dataclass
class MetricComparison:
    name: str
    original: Any
    again: Any
    difference: float | None  # again - original, for numbers
    relative: float | None  # difference / |original|, when original is not 0
    within: bool


@dataclass
class Reproduction:
    """The original run, its rerun, and how their metrics compare."""

    original: dict[str, Any]  # id, path, sha, state, metric
    again: dict[str, Any]  # id, path, sweep, state, reason, stderr_tail
    comparisons: list[MetricComparison]
    rtol: float
    atol: float
    notes: list[str] = field(default_factory=list)

    @property
    def same_state(self) -> bool:
        return self.original.get("state") == self.again.get("state")

    @property
    def reproduced(self) -> bool:
        return self.same_state and all(c.within for c in self.comparisons)

    def to_json(self) -> dict[str, Any]:
        return {
            "reproduced": self.reproduced,
            "original": self.original,
            "rerun": self.again,
            "metrics": [asdict(c) for c in self.comparisons],
            "rtol": self.rtol,
            "atol": self.atol,
            "notes": self.notes,
        }


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value)


def metrics_to_compare(
    summary: dict[str, Any], asked: tuple[str, ...] | list[str], sweep_metric: str | None
) -> list[str]:
    """The metrics a verdict rests on: those asked for (each must be in the original's
    summary), else every numeric metric of the original, the sweep's metric first."""
    if asked:
        missing = [name for name in asked if name not in summary]
        if missing:
            have = ", ".join(sorted(summary)[:12]) or "none"
            raise UsageError(
                f"--metric {missing[0]}: the original run has no such metric (it has: {have})"
            )
        return list(dict.fromkeys(asked))
    names = sorted(k for k, v in summary.items() if _number(v) is not None)
    if sweep_metric in names:
        names.remove(sweep_metric)
        names.insert(0, sweep_metric)
    return names


def compare(
    original: dict[str, Any], again: dict[str, Any], names: list[str], rtol: float, atol: float
) -> list[MetricComparison]:
    """Each metric of `names` in both summaries, with its difference and whether it is within."""
    if not (math.isfinite(rtol) and math.isfinite(atol)) or rtol < 0 or atol < 0:
        raise UsageError("--rtol and --atol must be finite numbers of at least 0")
    out = []
    for name in names:
        a, b = original.get(name), again.get(name)
        x, y = _number(a), _number(b)
        if x is not None and y is not None:
            if math.isnan(x) or math.isnan(y):
                within = math.isnan(x) and math.isnan(y)
                diff = rel = None
            else:
                diff = y - x
                rel = diff / abs(x) if x != 0 else None
                within = abs(diff) <= atol + rtol * abs(x)
            out.append(MetricComparison(name, a, b, diff, rel, within))
        else:
            out.append(MetricComparison(name, a, b, None, None, name in again and a == b))
    return out


def _cell(value: Any) -> str:
    from orchestrator.agent.progress import printable
    from orchestrator.report.model import display

    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.10g}"
    return printable(display(value, limit=30))


def render_reproduction(result: Reproduction) -> list[str]:
    """The lines `reproduce` prints: both runs, a side-by-side table, the verdict.

    Every value from a run (ids, reasons, stderr, metric names) is escaped onto one line."""
    from orchestrator.agent.progress import printable as p
    from orchestrator.report.leaderboard import render_table

    o, a = result.original, result.again
    lines = [
        p(f"original   {o['path']} at {o.get('sha') or '-'}: {o.get('state')}"),
        p(
            f"rerun      {a.get('path') or '-'}: {a.get('state')}"
            + (f" ({a['reason']})" if a.get("reason") else "")
        ),
    ]
    rows = [
        [
            _cell(c.name),
            _cell(c.original),
            _cell(c.again),
            _cell(c.difference),
            "-" if c.relative is None else f"{c.relative:+.3g}",
            "ok" if c.within else "DIFFERS",
        ]
        for c in result.comparisons
    ]
    if rows:
        lines.append(
            render_table(["metric", "original", "rerun", "difference", "relative", ""], rows)
        )
    else:
        lines.append("no metrics to compare (the original run logged none)")
    tail = (a.get("stderr_tail") or "").rstrip("\n").splitlines()[-5:]
    if a.get("state") != "finished" and tail:
        lines.append("rerun stderr (last lines)")
        lines += [p(f"  | {line}") for line in tail]
    lines += [p(f"note: {n}") for n in result.notes]
    tolerance = f"rtol={result.rtol:g}, atol={result.atol:g}"
    if result.reproduced:
        lines.append(f"reproduced: {len(rows)} metric(s) within {tolerance}")
    else:
        why = [_cell(c.name) for c in result.comparisons if not c.within]
        if not result.same_state:
            why.insert(0, p(f"state {o.get('state')} -> {a.get('state')}"))
        lines.append(f"NOT reproduced ({tolerance}): " + ", ".join(why))
    return lines
