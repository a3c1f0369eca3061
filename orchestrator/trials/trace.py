"""A run's metric as the search sees it, in bounded space, whatever the length of its history.

W&B's engine reads a run's whole history; what its rules use of it is
small. Hyperband needs how many valid values a run logged (its
"iteration"), its value at each bracket iteration, and the best value so far
(the non-strict rule); bayes needs the extremum of history and summary, and
the latest value (`impute: latest`). `MetricTrace` keeps exactly that, so the
agent's memory and the store's row do not grow with the number of steps.

"Valid" is W&B's: a finite number, booleans excluded.
"""

from __future__ import annotations

import json
import math
from collections.abc import Collection, Iterable
from dataclasses import dataclass, field
from typing import Any


def is_valid(value: Any) -> bool:
    """A finite number, as W&B's engine filters history values (booleans are not numbers)."""
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


@dataclass
class MetricTrace:
    """One run's metric: count of valid values, values at the bracket iterations, extremes."""

    n: int = 0
    low: float | None = None  # smallest valid history value
    high: float | None = None  # largest valid history value
    latest: float | None = None
    summary: float | None = None  # the run's summary value, when finite
    at: dict[int, float] = field(default_factory=dict)  # iteration (1-based) -> value

    def add(self, value: Any, bands: Collection[int] = ()) -> bool:
        """Take the next history value; False (and nothing kept) when it is not valid."""
        if not is_valid(value):
            return False
        v = float(value)
        self.n += 1
        self.low = v if self.low is None else min(self.low, v)
        self.high = v if self.high is None else max(self.high, v)
        self.latest = v
        if self.n in bands:
            self.at[self.n] = v
        return True

    def set_summary(self, value: Any) -> None:
        self.summary = float(value) if is_valid(value) else None

    def best(self, maximize: bool, with_summary: bool = True) -> float | None:
        """W&B's `metric_extremum` in the goal's direction (history and summary), or None."""
        values = [v for v in (self.low, self.high) if v is not None]
        if with_summary and self.summary is not None:
            values.append(self.summary)
        if not values:
            return None
        return max(values) if maximize else min(values)

    def worst(self, maximize: bool) -> float | None:
        """The extremum in the other direction (what `impute: worst` takes of each run)."""
        return self.best(not maximize)

    @classmethod
    def of(
        cls, history: Iterable[Any], bands: Collection[int] = (), summary: Any = None
    ) -> MetricTrace:
        trace = cls()
        for value in history:
            trace.add(value, bands)
        trace.set_summary(summary)
        return trace

    def to_json(self) -> str:
        return json.dumps(
            {
                "n": self.n,
                "low": self.low,
                "high": self.high,
                "latest": self.latest,
                "summary": self.summary,
                "at": {str(k): v for k, v in self.at.items()},
            }
        )

    @classmethod
    def from_json(cls, text: str) -> MetricTrace:
        """From the store; anything damaged reads as an empty trace (the run counts as unseen)."""
        try:
            data = json.loads(text)
            trace = cls(
                n=int(data["n"]),
                low=_num(data.get("low")),
                high=_num(data.get("high")),
                latest=_num(data.get("latest")),
                summary=_num(data.get("summary")),
                at={int(k): float(v) for k, v in data.get("at", {}).items() if is_valid(v)},
            )
        except (ValueError, TypeError, KeyError, AttributeError):
            return cls()
        return trace if trace.n >= 0 else cls()


def _num(value: Any) -> float | None:
    return float(value) if is_valid(value) else None
