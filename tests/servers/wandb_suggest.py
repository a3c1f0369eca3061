"""The stand-in's search engine: a deliberately simple grid/random suggester.

The real W&B sweep server runs W&B's engine; the stand-in only has to hand out
plausible, deterministic parameter sets in the agent's ``args`` format
(``{"lr": {"value": 0.01}}``) and say when the sweep is done (grid exhausted or
``run_cap`` reached). Bayes is treated as random: this is a stand-in, not an engine.
"""

from __future__ import annotations

import itertools
import math
import random
from typing import Any


class SweepSuggester:
    """Suggests parameter sets for one sweep config."""

    def __init__(self, config: dict[str, Any], rng: random.Random) -> None:
        self.config = config
        self.rng = rng
        self.handed_out = 0
        self._grid: list[dict[str, Any]] | None = None
        if config.get("method") == "grid":
            self._grid = _grid_points(config.get("parameters") or {})

    def done(self) -> bool:
        """True once no further run should start (grid exhausted or run_cap reached)."""
        cap = self.config.get("run_cap")
        if cap is not None and self.handed_out >= int(cap):
            return True
        return self._grid is not None and self.handed_out >= len(self._grid)

    def next_args(self) -> dict[str, dict[str, Any]]:
        """The next parameter set, as the agent's ``args`` mapping."""
        if self._grid is not None:
            values = self._grid[self.handed_out]
        else:
            values = _sample(self.config.get("parameters") or {}, self.rng)
        self.handed_out += 1
        return {name: {"value": value} for name, value in values.items()}


def _grid_points(parameters: dict[str, Any]) -> list[dict[str, Any]]:
    names = list(parameters)
    choices = [_grid_values(parameters[name]) for name in names]
    return [dict(zip(names, combo, strict=True)) for combo in itertools.product(*choices)]


def _grid_values(spec: dict[str, Any]) -> list[Any]:
    if "value" in spec:
        return [spec["value"]]
    if "values" in spec:
        return list(spec["values"])
    if "parameters" in spec:
        return _grid_points(spec["parameters"])
    if isinstance(spec.get("min"), int) and isinstance(spec.get("max"), int):
        return list(range(spec["min"], spec["max"] + 1))
    raise ValueError(f"grid cannot enumerate {spec!r}")


def _sample(parameters: dict[str, Any], rng: random.Random) -> dict[str, Any]:
    return {name: _sample_one(spec, rng) for name, spec in parameters.items()}


def _sample_one(spec: dict[str, Any], rng: random.Random) -> Any:
    if "value" in spec:
        return spec["value"]
    if "values" in spec:
        return rng.choice(list(spec["values"]))
    if "parameters" in spec:
        return _sample(spec["parameters"], rng)
    low, high = spec.get("min", 0.0), spec.get("max", 1.0)
    distribution = spec.get("distribution", "")
    if distribution == "log_uniform_values":
        return math.exp(rng.uniform(math.log(low), math.log(high)))
    if distribution == "log_uniform":
        return math.exp(rng.uniform(low, high))
    if isinstance(low, int) and isinstance(high, int) and "uniform" not in distribution:
        return rng.randint(low, high)
    return rng.uniform(low, high)
