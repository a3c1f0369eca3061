"""Search engines: pure functions of the runs so far and a seed. No I/O, no sweepci imports."""

from orchestrator.search.base import Sampler, Trial, make_sampler
from orchestrator.search.space import Param, Space

__all__ = ["Param", "Sampler", "Space", "Trial", "make_sampler"]
