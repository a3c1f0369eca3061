"""W&B's 18 distributions: their keys and defaults, and how one is inferred from the keys given.

The rules follow W&B's published sweep schema: a parameter with `value` is a
constant, with `values` categorical (`probabilities` optional), with integer
`min`/`max` int_uniform, with other numeric `min`/`max` uniform; every other
distribution must be named. `log_uniform`, `q_log_uniform` and
`inv_log_uniform` take natural-log bounds; the `_values` variants take the
values themselves. `q` defaults to 1.0, `mu`/`sigma` to 0/1, `a`/`b` to 1/1.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from orchestrator.config.problems import is_int

# distribution -> (required keys, {optional key: default})
DISTRIBUTIONS: dict[str, tuple[tuple[str, ...], dict[str, object]]] = {
    "constant": (("value",), {}),
    "categorical": (("values",), {}),
    "categorical_w_probabilities": (("values", "probabilities"), {}),
    "int_uniform": (("min", "max"), {}),
    "uniform": (("min", "max"), {}),
    "q_uniform": (("min", "max"), {"q": 1.0}),
    "log_uniform": (("min", "max"), {}),
    "log_uniform_values": (("min", "max"), {}),
    "q_log_uniform": (("min", "max"), {"q": 1.0}),
    "q_log_uniform_values": (("min", "max"), {"q": 1.0}),
    "inv_log_uniform": (("min", "max"), {}),
    "inv_log_uniform_values": (("min", "max"), {}),
    "normal": ((), {"mu": 0.0, "sigma": 1.0}),
    "q_normal": ((), {"mu": 0.0, "sigma": 1.0, "q": 1.0}),
    "log_normal": ((), {"mu": 0.0, "sigma": 1.0}),
    "q_log_normal": ((), {"mu": 0.0, "sigma": 1.0, "q": 1.0}),
    "beta": ((), {"a": 1.0, "b": 1.0}),
    "q_beta": ((), {"a": 1.0, "b": 1.0, "q": 1.0}),
}

#: distributions a grid can enumerate (int_uniform and q_uniform are discretised).
GRID_DISTRIBUTIONS = {"constant", "categorical", "int_uniform", "q_uniform"}
#: grid points a sweep may have: the size is computed from the specs, never enumerated
MAX_GRID_POINTS = 1_000_000
#: distributions whose `min`/`max` are the values themselves and must be > 0.
POSITIVE_MIN = {"log_uniform_values", "q_log_uniform_values", "inv_log_uniform_values"}


@dataclass
class ParamSpec:
    """One validated parameter with its distribution inferred and defaults filled."""

    distribution: str
    settings: dict[str, object] = field(default_factory=dict)

    def to_dict(self) -> dict[str, object]:
        return {"distribution": self.distribution, **self.settings}

    def grid_size(self) -> float:
        """How many values a grid visits for this parameter, computed (W&B: int_uniform
        min..max, q_uniform numpy.arange(min, max, q)); inf when it cannot be counted."""
        s, d = self.settings, self.distribution
        if d == "constant":
            return 1
        if d == "categorical":
            return len(s["values"])  # type: ignore[arg-type]
        if d == "int_uniform":
            return max(0, int(s["max"]) - int(s["min"]) + 1)  # type: ignore[call-overload]
        if d == "q_uniform":
            try:
                steps = (float(s["max"]) - float(s["min"])) / float(s["q"])  # type: ignore[arg-type]
                return max(0, math.ceil(steps))
            except (OverflowError, ValueError, ZeroDivisionError):
                return math.inf
        return math.inf


def infer_distribution(raw: dict) -> str | None:
    """The distribution W&B infers for a parameter written without one."""
    keys = set(raw)
    if "value" in keys:
        return "constant"
    if "values" in keys:
        return "categorical_w_probabilities" if "probabilities" in keys else "categorical"
    if {"min", "max"} <= keys:
        if is_int(raw["min"]) and is_int(raw["max"]):
            return "int_uniform"
        return "uniform"
    return None


def flatten_specs(specs: dict, prefix: tuple[str, ...] = ()) -> dict[tuple[str, ...], ParamSpec]:
    """Nested specs -> {path: ParamSpec}, in W&B's sorted order."""
    flat: dict[tuple[str, ...], ParamSpec] = {}
    for name in sorted(specs):
        value = specs[name]
        if isinstance(value, ParamSpec):
            flat[prefix + (name,)] = value
        else:
            flat.update(flatten_specs(value, prefix + (name,)))
    return flat
