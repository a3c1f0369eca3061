"""Search engines: pure functions of the runs so far and a seed. No I/O, no sweepci imports."""

from orchestrator.search.base import Sampler
from orchestrator.search.factory import make_sampler
from orchestrator.search.space import Param, Space
from orchestrator.trials.trial import Trial

__all__ = ["Param", "Sampler", "Space", "Trial", "make_sampler"]
