"""The sampler for a sweep's `method`: grid, random or bayes, each imported when asked for."""

from __future__ import annotations

from orchestrator.search.base import Sampler
from orchestrator.search.space import Space


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
