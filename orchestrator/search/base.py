"""The sampler interface every search method implements."""

from __future__ import annotations

import abc
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from orchestrator.search.space import Space

#: trial states a sampler sees; pending = handed out, no result yet.
PENDING, FINISHED, FAILED, KILLED = "pending", "finished", "failed", "killed"


@dataclass(frozen=True)
class Trial:
    """A run as a sampler sees it: its flat config, its metric value, its state."""

    config: Mapping[str, Any]
    value: float | None = None
    state: str = FINISHED
    # intermediate values of the metric by step, for early termination
    history: Sequence[float] = field(default_factory=tuple)

    @property
    def has_value(self) -> bool:
        return self.value is not None and math.isfinite(self.value)


class Sampler(abc.ABC):
    """Suggests the next configuration from the trials so far.

    A sampler is a pure function of (space, goal, seed, trials): the same
    inputs give the same suggestion, so a suggestion can be recomputed after
    a crash and shards on different machines agree.
    """

    def __init__(
        self, space: Space, goal: str = "minimize", seed: int = 0, target: float | None = None
    ):
        self.space = space
        self.maximize = goal == "maximize"
        self.seed = int(seed)
        self.target = target

    @abc.abstractmethod
    def suggest(self, trials: Sequence[Trial], index: int | None = None) -> dict[str, Any] | None:
        """The next flat config ({'model.depth': 3, ...}), or None when exhausted.

        `index` is the ordinal of the suggestion in the sweep (default
        len(trials)); shards use it to pick their own share of the sequence.
        """

    def total(self) -> int | None:
        """How many configurations exist, when finite (grid); None otherwise."""
        return None

    def reached_target(self, trials: Sequence[Trial]) -> bool:
        """W&B's metric.target: stop once any run reaches it."""
        if self.target is None:
            return False
        for t in trials:
            if t.state == FINISHED and t.has_value:
                if (t.value >= self.target) if self.maximize else (t.value <= self.target):
                    return True
        return False


def make_sampler(
    method: str, space: Space, goal: str = "minimize", seed: int = 0, target: float | None = None
) -> Sampler:
    """The sampler for a sweep's `method`."""
    if method == "grid":
        from orchestrator.search.grid import GridSampler

        return GridSampler(space, goal, seed, target)
    if method == "random":
        from orchestrator.search.random_search import RandomSampler

        return RandomSampler(space, goal, seed, target)
    if method == "bayes":
        from orchestrator.search.bayes import BayesSampler

        return BayesSampler(space, goal, seed, target)
    raise ValueError(f"unknown method {method!r}")
