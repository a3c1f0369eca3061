"""Hyperband early termination with W&B's semantics (wandb/sweeps `hyperband_stopping.py`).

Brackets are iteration counts: `min_iter * eta**k` for k = 0..99 (W&B makes
100 of them), or `max_iter / eta**k` for k = 1..s (truncated to integers,
those below 1 dropped). At a bracket b, the threshold is taken from the
metric values at iteration b of every run that got that far, whatever its
state (running ones included), sorted best first: the value at position
int(count / eta), so about the best 1/eta of the runs are at or better than
it. A running run is judged at the last bracket it has reached: with
`strict` (the default) by its value at that iteration, otherwise by the best
value it has logged so far; it is stopped when that is worse than the
threshold. A bracket no run reached has no threshold (W&B: infinity).

Histories are the metric's values in logging order; values that are not
finite numbers are skipped, as W&B does, so "iteration" means the n-th valid
value. The rules work on `MetricTrace`s, which keep of each run only what
they read, so judging a run costs the same after ten steps or a million.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from orchestrator.trials.trace import MetricTrace, is_valid

#: how many brackets W&B derives from `min_iter`
MIN_ITER_BANDS = 100


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

    @cached_property
    def bands(self) -> tuple[int, ...]:
        """Every bracket iteration, ascending, without repeats (W&B's `bands`)."""
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
            for _ in range(MIN_ITER_BANDS):
                if band > 2**62:
                    break  # far beyond any run's length; W&B's later bands are never reached
                found.add(int(band))
                band *= self.eta
        else:
            raise ValueError("hyperband needs 'min_iter', or both 'max_iter' and 's'")
        return tuple(sorted(found))

    @cached_property
    def band_set(self) -> frozenset[int]:
        return frozenset(self.bands)

    def brackets(self, longest: int) -> list[int]:
        """The bracket iterations up to `longest`, ascending, without repeats."""
        return [b for b in self.bands if b <= longest]


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
    return [float(v) for v in history if is_valid(v)]


def traces_of(config: Hyperband, histories: Mapping[str, Sequence[Any]]) -> dict[str, MetricTrace]:
    """Each history as the trace hyperband reads."""
    return {run: MetricTrace.of(h, config.band_set) for run, h in histories.items()}


def trace_thresholds(
    config: Hyperband, traces: Mapping[str, MetricTrace], maximize: bool
) -> dict[int, float]:
    """Each reached bracket's threshold, oriented so that lower is better (negated when maximising)."""
    sign = -1.0 if maximize else 1.0
    longest = max((t.n for t in traces.values()), default=0)
    out = {}
    for band in config.brackets(longest):
        at_band = sorted(sign * t.at[band] for t in traces.values() if band in t.at)
        if at_band:
            # W&B's index: r = 1/eta, position int(r * count) of the best-first order
            out[band] = at_band[int((1.0 / config.eta) * len(at_band))]
    return out


def thresholds(
    config: Hyperband, histories: Mapping[str, Sequence[Any]], maximize: bool
) -> dict[int, float]:
    """`trace_thresholds` of plain histories."""
    return trace_thresholds(config, traces_of(config, histories), maximize)


def judge(
    config: Hyperband,
    run: str,
    trace: MetricTrace,
    limits: Mapping[int, float],
    maximize: bool,
    metric: str = "metric",
) -> Stop | None:
    """W&B's verdict on one running run, given the brackets' thresholds (oriented)."""
    sign = -1.0 if maximize else 1.0
    reached = [band for band in config.bands if band <= trace.n]
    if not reached:
        return None
    band = reached[-1]
    threshold = limits.get(band, math.inf)
    if config.strict:
        judged = sign * trace.at[band]
    else:
        best = trace.best(maximize, with_summary=False)
        assert best is not None  # n >= 1
        judged = sign * best
    if not judged > threshold:
        return None
    value, shown = sign * judged, sign * threshold
    worse = "below" if maximize else "above"
    if config.strict:
        reason = f"hyperband: {metric}={value:.4g} at iteration {band} {worse} bracket threshold {shown:.4g}"
    else:
        reason = (
            f"hyperband: best {metric}={value:.4g} in {trace.n} iterations "
            f"{worse} the threshold {shown:.4g} of the bracket at iteration {band}"
        )
    return Stop(run, band, value, shown, reason)


def trace_stops(
    config: Hyperband,
    traces: Mapping[str, MetricTrace],
    running: Collection[str],
    goal: str = "minimize",
    metric: str = "metric",
) -> list[Stop]:
    """Which of the `running` runs to stop now, given every run's trace (any state)."""
    maximize = goal == "maximize"
    limits = trace_thresholds(config, traces, maximize)
    stops = []
    for run in sorted(running):
        stop = judge(config, run, traces.get(run, MetricTrace()), limits, maximize, metric)
        if stop is not None:
            stops.append(stop)
    return stops


def hyperband_stops(
    config: Hyperband,
    histories: Mapping[str, Sequence[Any]],
    running: Collection[str],
    goal: str = "minimize",
    metric: str = "metric",
) -> list[Stop]:
    """Which of the `running` runs to stop now, given every run's metric history."""
    return trace_stops(config, traces_of(config, histories), running, goal, metric)


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
