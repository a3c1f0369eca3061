"""A sampler that hands out one given configuration once: a rerun of a run (sweepci reproduce)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from orchestrator.search.base import Sampler
from orchestrator.search.space import Space
from orchestrator.trials.trial import Trial


class FixedSampler(Sampler):
    """Suggests exactly `config` (a flat config as the store keeps it) for the first run, then
    nothing: the agent then launches it as it launched the original."""

    def __init__(
        self, space: Space, config: Mapping[str, Any], goal: str = "minimize", seed: int = 0
    ):
        super().__init__(space, goal, seed)
        self.config = dict(config)

    def suggest(self, trials: Sequence[Trial], index: int | None = None) -> dict[str, Any] | None:
        return dict(self.config) if not trials else None

    def total(self) -> int | None:
        return 1
