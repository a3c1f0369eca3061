"""Parameter importance, as in W&B's panel: correlation and random-forest importance.

Each parameter becomes one or more numeric features: a numeric parameter is
used as is (missing values take the median), a categorical one (strings,
booleans, lists, mixed types) is one-hot encoded, one feature per value, so
that neither the correlation nor the forest invents an order between
categories. Parameters with a single value are skipped: they explain nothing.
"""

from __future__ import annotations

import json
import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from orchestrator.report.model import RunPoint

#: enough rows for a stable forest; more only costs time (10k-run sweeps)
MAX_ROWS = 2000
MAX_CATEGORIES = 20
MAX_FEATURES = 15
MIN_RUNS = 3
#: below this many runs with a value, importance and correlation are mostly noise
RELIABLE_RUNS = 10


@dataclass
class Importance:
    """One feature: a parameter, or `param=value` for a category of a categorical parameter."""

    feature: str
    correlation: float | None
    importance: float


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _label(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, sort_keys=True, default=str)


def encode(points: Sequence[RunPoint]) -> tuple[list[str], list[list[float]], list[float]]:
    """Feature names, feature rows and metric values of the runs that have a value."""
    rated = [
        p for p in points if p.config is not None and p.value is not None and math.isfinite(p.value)
    ]
    keys = sorted({k for p in rated for k in p.config})
    names: list[str] = []
    columns: list[list[float]] = []
    for key in keys:
        values = [p.config.get(key) for p in rated]
        present = [v for v in values if v is not None]
        if len({_label(v) for v in present}) + (len(present) < len(values)) <= 1:
            continue  # constant
        if present and all(_is_number(v) for v in present):
            ordered = sorted(float(v) for v in present)
            median = ordered[len(ordered) // 2]
            names.append(key)
            columns.append([float(v) if v is not None else median for v in values])
            continue
        labels = [_label(v) if v is not None else "(missing)" for v in values]
        for category, _ in Counter(labels).most_common(MAX_CATEGORIES):
            names.append(f"{key}={category}")
            columns.append([1.0 if label == category else 0.0 for label in labels])
    rows = [list(r) for r in zip(*columns, strict=True)] if columns else [[] for _ in rated]
    return names, rows, [float(p.value) for p in rated]  # type: ignore[arg-type]


def parameter_importance(points: Sequence[RunPoint], seed: int = 0) -> list[Importance]:
    """The most important features first (at most MAX_FEATURES); [] with too few runs."""
    import numpy as np

    names, rows, y = encode(points)
    if len(y) < MIN_RUNS or not names:
        return []
    x = np.asarray(rows, dtype=float)
    target = np.asarray(y, dtype=float)
    if len(target) > MAX_ROWS:
        # a fixed seed: the same store gives the same report
        pick = np.random.default_rng(seed).choice(len(target), MAX_ROWS, replace=False)
        x, target = x[pick], target[pick]
    correlations = [_pearson(x[:, i], target) for i in range(x.shape[1])]
    importances = _forest(x, target, seed)
    ranked = sorted(
        (
            Importance(n, c, float(i))
            for n, c, i in zip(names, correlations, importances, strict=True)
        ),
        key=lambda item: (-item.importance, item.feature),
    )
    return ranked[:MAX_FEATURES]


def _pearson(column: Any, target: Any) -> float | None:
    import numpy as np

    if float(np.std(column)) == 0.0 or float(np.std(target)) == 0.0:
        return None  # undefined, e.g. a category present in every sampled run
    return float(np.corrcoef(column, target)[0, 1])


def _forest(x: Any, target: Any, seed: int) -> list[float]:
    import numpy as np

    if float(np.std(target)) == 0.0:
        return [0.0] * x.shape[1]  # every run scored the same: nothing to explain
    from sklearn.ensemble import RandomForestRegressor

    forest = RandomForestRegressor(n_estimators=50, min_samples_leaf=2, random_state=seed, n_jobs=1)
    forest.fit(x, target)
    return [float(v) for v in forest.feature_importances_]


def importance_note(points: Sequence[RunPoint]) -> str | None:
    """A warning when too few runs have a value for the importance to be trusted."""
    rated = sum(1 for p in points if p.value is not None and math.isfinite(p.value))
    if rated >= RELIABLE_RUNS:
        return None
    return (
        f"Unreliable: only {rated} runs have a value; importance and correlation need at "
        f"least {RELIABLE_RUNS} to mean much."
    )
