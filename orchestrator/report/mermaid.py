"""A chart GitHub draws from Markdown text: Mermaid's `xychart-beta` of the best value so far.

GitHub renders ```` ```mermaid ```` blocks in comments, files and job summaries;
`xychart-beta` (Mermaid 10.5+) draws bars and lines over a category x axis. The
chart shows each run's value as a bar and the best value so far as a line,
over the runs in the order they started. A large sweep is sampled to at most
MAX_POINTS runs (the best-so-far line stays exact at the points shown, and
the run that set the best is always kept).

Only numbers and a label reduced to letters, digits and a few marks reach
the Mermaid text, so a metric name from a sweep file cannot end the block or
inject Mermaid directives (`%%{init}`, `click`).
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from decimal import Decimal

MAX_POINTS = 40
_UNSAFE = re.compile(r"[^A-Za-z0-9 _.\-/]+")


def _label(text: str, limit: int = 40) -> str:
    cleaned = " ".join(_UNSAFE.sub(" ", text).split())[:limit]
    return cleaned or "metric"


def _number(value: float) -> str:
    """Positional notation with up to 6 significant digits (no exponent for Mermaid)."""
    text = format(Decimal(f"{value:.6g}"), "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def _sampled(n: int, keep: int, must: int) -> list[int]:
    if n <= keep:
        return list(range(n))
    step = (n - 1) / (keep - 1)
    chosen = {round(i * step) for i in range(keep)} | {must}
    return sorted(chosen)


def best_so_far_chart(values: Sequence[tuple[int, float]], metric: str, maximize: bool) -> str:
    """A fenced Mermaid block, or "" when fewer than two runs have a finite value."""
    rated = [(seq, v) for seq, v in values if isinstance(v, (int, float)) and math.isfinite(v)]
    if len(rated) < 2:
        return ""
    best: list[float] = []
    current: float | None = None
    for _, value in rated:
        if current is None or (value > current if maximize else value < current):
            current = value
        best.append(current)
    champion = max(range(len(rated)), key=lambda i: rated[i][1] if maximize else -rated[i][1])
    keep = _sampled(len(rated), MAX_POINTS, champion)
    lo = min(rated[i][1] for i in keep)
    hi = max(rated[i][1] for i in keep)
    pad = (hi - lo) * 0.05 or abs(hi) * 0.05 or 1.0
    name = _label(metric)
    runs = ", ".join(f'"{rated[i][0]}"' for i in keep)
    sampled = f" ({len(keep)} of {len(rated)} runs)" if len(keep) < len(rated) else ""
    lines = [
        "```mermaid",
        "xychart-beta",
        f'    title "{name}: each run (bars) and the best so far (line){sampled}"',
        f'    x-axis "run" [{runs}]',
        f'    y-axis "{name}" {_number(lo - pad)} --> {_number(hi + pad)}',
        f"    bar [{', '.join(_number(rated[i][1]) for i in keep)}]",
        f"    line [{', '.join(_number(best[i]) for i in keep)}]",
        "```",
    ]
    return "\n".join(lines)
