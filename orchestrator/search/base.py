"""The sampler interface every search method implements."""

from __future__ import annotations

import abc
from collections.abc import Sequence
from typing import Any

from orchestrator.search.space import Space
from orchestrator.trials.trial import FAILED, FINISHED, KILLED, PENDING, Trial

__all__ = ["FAILED", "FINISHED", "KILLED", "PENDING", "Sampler", "Trial"]


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
