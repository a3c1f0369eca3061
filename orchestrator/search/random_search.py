"""Random search: each parameter sampled from its distribution as W&B's engine does."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from orchestrator.search.base import Sampler, Trial


class RandomSampler(Sampler):
    """The i-th suggestion depends only on (seed, i): reproducible and shardable."""

    def suggest(self, trials: Sequence[Trial], index: int | None = None) -> dict[str, Any] | None:
        i = len(trials) if index is None else index
        return self.sample_at(i)

    def sample_at(self, index: int) -> dict[str, Any]:
        rng = np.random.default_rng([self.seed, index])
        return {p.name: p.ppf(rng.random()) for p in self.space.params}

    def sample_many(self, n: int, start: int = 0) -> list[dict[str, Any]]:
        return [self.sample_at(start + i) for i in range(n)]
