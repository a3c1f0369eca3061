"""Hyperband early termination with W&B's semantics.

Brackets are iteration counts: `min_iter * eta**k` (k = 0, 1, ...), or
`max_iter / eta**k` for k = 1..s (truncated to integers, those below 1
dropped). At a bracket b, the threshold is taken from the metric values at
iteration b of every run that got that far, the run itself included:
sorted best first, the value at position int(count / eta), so about the
best 1/eta of the runs are at or better than it. A running run is judged at
the last bracket it has reached: with `strict` (the default) by its value at
that iteration, otherwise by the best value it has logged so far; it is
stopped when that is worse than the threshold.

Histories are the metric's values in logging order; non-finite entries are
skipped, as W&B does, so "iteration" means the n-th valid value.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Hyperband:
    """The `early_terminate` settings: `min_iter`, or `max_iter` with `s`."""

    min_iter: int | None = None
    max_iter: int | None = None
    s: int | None = None
    eta: float = 3.0
    strict: bool = True

    @classmethod
    def from_settings(cls, settings: Mapping[str, Any]) -> Hyperband:
        """From a sweep file's `early_terminate` mapping (`type` and unset keys ignored)."""
        known = {"min_iter", "max_iter", "s", "eta", "strict"}
        return cls(**{k: v for k, v in settings.items() if k in known and v is not None})

    def brackets(self, longest: int) -> list[int]:
        """The bracket iterations up to `longest`, ascending, without repeats."""
        if self.eta <= 1:
            raise ValueError("hyperband eta must be greater than 1")
        found: set[int] = set()
        if self.max_iter is not None and self.s is not None:
            band = float(self.max_iter)
            for _ in range(int(self.s)):
                band /= self.eta
                if band < 1:
                    break
                found.add(int(band))
            if not found:
                # W&B refuses this too: with no bracket nothing would ever be stopped
                raise ValueError(
                    f"hyperband max_iter={self.max_iter} with eta={self.eta:g} gives no bracket "
                    "of at least one iteration; raise max_iter or s, or lower eta"
                )
        elif self.min_iter is not None:
            band = float(self.min_iter)
            while int(band) <= longest:
                found.add(int(band))
                band *= self.eta
        else:
            raise ValueError("hyperband needs 'min_iter', or both 'max_iter' and 's'")
        return sorted(b for b in found if b <= longest)


@dataclass(frozen=True)
class Stop:
    """A run to stop: the bracket it failed, its value there, the threshold, and why."""

    run: str
    iteration: int
    value: float
    threshold: float
    reason: str


def valid(history: Sequence[Any]) -> list[float]:
    """The finite numeric values of a history, in order (booleans are not numbers)."""
    return [
        float(v)
        for v in history
        if isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)
    ]


def thresholds(
    config: Hyperband, histories: Mapping[str, Sequence[Any]], maximize: bool
) -> dict[int, float]:
    """Each bracket's threshold, oriented so that lower is better (negated when maximising)."""
    sign = -1.0 if maximize else 1.0
    curves = [[sign * v for v in valid(h)] for h in histories.values()]
    longest = max((len(c) for c in curves), default=0)
    out = {}
    for band in config.brackets(longest):
        at_band = sorted(c[band - 1] for c in curves if len(c) >= band)
        # W&B's index: r = 1/eta, position int(r * count) of the best-first order
        out[band] = at_band[int((1.0 / config.eta) * len(at_band))]
    return out


def hyperband_stops(
    config: Hyperband,
    histories: Mapping[str, Sequence[Any]],
    running: Collection[str],
    goal: str = "minimize",
    metric: str = "metric",
) -> list[Stop]:
    """Which of the `running` runs to stop now, given every run's metric history."""
    maximize = goal == "maximize"
    sign = -1.0 if maximize else 1.0
    limits = thresholds(config, histories, maximize)
    worse = "below" if maximize else "above"
    stops = []
    for run in sorted(running):
        curve = [sign * v for v in valid(histories.get(run, ()))]
        reached = [band for band in limits if band <= len(curve)]
        if not reached:
            continue
        band = max(reached)
        threshold = limits[band]
        judged = curve[band - 1] if config.strict else min(curve)
        if judged <= threshold:
            continue
        value, shown = sign * judged, sign * threshold
        if config.strict:
            reason = f"hyperband: {metric}={value:.4g} at iteration {band} {worse} bracket threshold {shown:.4g}"
        else:
            reason = (
                f"hyperband: best {metric}={value:.4g} in {len(curve)} iterations "
                f"{worse} the threshold {shown:.4g} of the bracket at iteration {band}"
            )
        stops.append(Stop(run, band, value, shown, reason))
    return stops


@dataclass(frozen=True)
class Savings:
    """Iterations run in total, and iterations stopped runs did not run."""

    iterations_run: int
    iterations_saved: int

    @property
    def fraction(self) -> float:
        """The share of the work without early termination that was skipped."""
        total = self.iterations_run + self.iterations_saved
        return self.iterations_saved / total if total else 0.0


def compute_saved(histories: Mapping[str, Sequence[Any]], stopped: Collection[str]) -> Savings:
    """Compute saved: each stopped run is counted as if it had gone as long as the longest run."""
    lengths = {run: len(valid(h)) for run, h in histories.items()}
    longest = max(lengths.values(), default=0)
    saved = sum(longest - lengths[run] for run in stopped if run in lengths)
    return Savings(sum(lengths.values()), saved)
