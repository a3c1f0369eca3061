"""Grid search: every combination once, in W&B's order, nested parameters included."""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from typing import Any

from orchestrator.search.base import Sampler, Trial
from orchestrator.trials.trial import config_key


class GridSampler(Sampler):
    """Enumerates the cartesian product of each parameter's grid values."""

    def _axes(self) -> list[tuple[str, list[Any]]]:
        return [(p.name, p.grid_values()) for p in self.space.params]

    def total(self) -> int:
        n = 1
        for _, values in self._axes():
            n *= len(values)
        return n

    def points(self):
        """All grid points, lazily, first parameter varying slowest."""
        axes = self._axes()
        names = [name for name, _ in axes]
        for combo in itertools.product(*(values for _, values in axes)):
            yield dict(zip(names, combo, strict=True))

    def suggest(self, trials: Sequence[Trial], index: int | None = None) -> dict[str, Any] | None:
        """The first grid point no trial has taken (pending ones included)."""
        taken = {config_key(t.config) for t in trials}
        for point in self.points():
            if config_key(point) not in taken:
                return point
        return None

    def point_at(self, index: int) -> dict[str, Any] | None:
        """The index-th grid point (for deterministic shards), or None past the end."""
        if index >= self.total():
            return None
        return next(itertools.islice(self.points(), index, None))
