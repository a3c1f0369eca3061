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
        # computed once: validation bounds the grid (MAX_GRID_POINTS), so every axis fits
        if getattr(self, "_axes_cache", None) is None:
            self._axes_cache = [(p.name, p.grid_values()) for p in self.space.params]
        return self._axes_cache

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
        if index < 0 or index >= self.total():
            return None
        # mixed radix, the last parameter varying fastest (itertools.product's order): O(axes),
        # so planning n points costs n, not n^2
        picked: list[Any] = []
        for _, values in reversed(self._axes()):
            index, digit = divmod(index, len(values))
            picked.append(values[digit])
        picked.reverse()
        return {name: value for (name, _), value in zip(self._axes(), picked, strict=True)}
