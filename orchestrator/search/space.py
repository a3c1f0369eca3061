"""The search space: one Param per (possibly nested) parameter, W&B's distributions.

A Param maps a uniform number u in [0, 1] to a value (the percent-point
function, as W&B's engine samples), and maps values back into [0, 1]
(the CDF) for model-based search. Parameters are built from plain dicts
`{"distribution": ..., **settings}` as produced by config validation.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

LOG_SPACE = {"log_uniform", "log_uniform_values", "q_log_uniform", "q_log_uniform_values"}
INV_LOG_SPACE = {"inv_log_uniform", "inv_log_uniform_values"}
QUANTISED = {
    "q_uniform",
    "q_log_uniform",
    "q_log_uniform_values",
    "q_normal",
    "q_log_normal",
    "q_beta",
}


@dataclass(frozen=True)
class Param:
    """One searchable (or constant) parameter; `path` is the nesting, e.g. ('model', 'depth')."""

    path: tuple[str, ...]
    distribution: str
    settings: Mapping[str, Any]

    @property
    def name(self) -> str:
        return ".".join(self.path)

    @property
    def is_constant(self) -> bool:
        return self.distribution == "constant"

    @property
    def is_categorical(self) -> bool:
        return self.distribution in ("categorical", "categorical_w_probabilities")

    @property
    def is_integer(self) -> bool:
        return self.distribution == "int_uniform" or (
            self.distribution in QUANTISED and _is_int(self.settings.get("q"))
        )

    # -- sampling --------------------------------------------------------------
    def ppf(self, u: float) -> Any:
        """The value at quantile u (W&B's way of sampling every distribution)."""
        s = self.settings
        d = self.distribution
        u = min(max(float(u), 0.0), 1.0)
        if d == "constant":
            return s["value"]
        if d == "categorical":
            values = s["values"]
            return values[min(int(u * len(values)), len(values) - 1)]
        if d == "categorical_w_probabilities":
            cdf = np.cumsum(s["probabilities"])
            index = int(np.searchsorted(cdf, u, side="right"))
            return s["values"][min(index, len(s["values"]) - 1)]
        if d == "int_uniform":
            lo, hi = int(s["min"]), int(s["max"])
            return min(lo + int(u * (hi - lo + 1)), hi)
        if d in ("uniform", "q_uniform"):
            x = s["min"] + u * (s["max"] - s["min"])
        elif d in ("log_uniform", "q_log_uniform"):
            x = math.exp(s["min"] + u * (s["max"] - s["min"]))
        elif d in ("log_uniform_values", "q_log_uniform_values"):
            lo, hi = math.log(s["min"]), math.log(s["max"])
            # exp(log(max)) can land an ulp above max: keep the value inside the range
            x = min(max(math.exp(lo + u * (hi - lo)), s["min"]), s["max"])
        elif d == "inv_log_uniform":
            # X = exp(-Y), Y ~ U(min, max): so 1/X is log-uniform over e^min..e^max
            x = math.exp(-(s["min"] + (1.0 - u) * (s["max"] - s["min"])))
        elif d == "inv_log_uniform_values":
            lo, hi = -math.log(s["max"]), -math.log(s["min"])
            x = min(max(math.exp(-(lo + (1.0 - u) * (hi - lo))), s["min"]), s["max"])
        elif d in ("normal", "q_normal"):
            # scipy.stats.norm.ppf(u, mu, sigma), by the special function it is built on
            x = s["mu"] + s["sigma"] * float(_special().ndtri(_open(u)))
        elif d in ("log_normal", "q_log_normal"):
            # scipy.stats.lognorm.ppf(u, s=sigma, scale=exp(mu))
            x = math.exp(s["mu"] + s["sigma"] * float(_special().ndtri(_open(u))))
        elif d in ("beta", "q_beta"):
            x = float(_special().betaincinv(s["a"], s["b"], u))
        else:  # pragma: no cover - config validation rejects unknown distributions
            raise ValueError(f"unknown distribution {d}")
        if d in QUANTISED:
            return self.quantise(x)
        return float(x)

    def quantise(self, x: float) -> Any:
        q = self.settings["q"]
        value = round(x / q) * q
        if _is_int(q):
            return int(value)
        return float(value)

    def cdf(self, value: Any) -> float:
        """Where a value sits in [0, 1] (inverse of ppf, up to quantisation)."""
        s = self.settings
        d = self.distribution
        if d == "constant":
            return 0.5
        if self.is_categorical:
            values = s["values"]
            index = self.index_of(value)
            if d == "categorical_w_probabilities":
                # the middle of the value's share of [0, 1], so ppf(cdf(v)) == v
                before = float(sum(s["probabilities"][:index]))
                return before + s["probabilities"][index] / 2.0
            return (index + 0.5) / len(values)
        x = float(value)
        if d == "int_uniform":
            lo, hi = s["min"], s["max"]
            return (x - lo + 0.5) / (hi - lo + 1)
        if d in ("uniform", "q_uniform"):
            lo, hi = s["min"], s["max"]
        elif d in ("log_uniform", "q_log_uniform"):
            lo, hi, x = s["min"], s["max"], math.log(max(x, 1e-300))
        elif d in ("log_uniform_values", "q_log_uniform_values"):
            lo, hi, x = math.log(s["min"]), math.log(s["max"]), math.log(max(x, 1e-300))
        elif d == "inv_log_uniform":
            lo, hi = s["min"], s["max"]
            return _unit(1.0 - (-math.log(max(x, 1e-300)) - lo) / (hi - lo) if hi > lo else 0.5)
        elif d == "inv_log_uniform_values":
            lo, hi = -math.log(s["max"]), -math.log(s["min"])
            return _unit(1.0 - (-math.log(max(x, 1e-300)) - lo) / (hi - lo) if hi > lo else 0.5)
        elif d in ("normal", "q_normal"):
            return _normal_cdf(x, s["mu"], s["sigma"])
        elif d in ("log_normal", "q_log_normal"):
            return _normal_cdf(math.log(x), s["mu"], s["sigma"]) if x > 0 else 0.0
        elif d in ("beta", "q_beta"):
            return float(_special().betainc(s["a"], s["b"], _unit(x)))
        else:  # pragma: no cover
            raise ValueError(d)
        return _unit((x - lo) / (hi - lo)) if hi > lo else 0.5

    def index_of(self, value: Any) -> int:
        for i, v in enumerate(self.settings["values"]):
            if v == value and type(v) is type(value):
                return i
        for i, v in enumerate(self.settings["values"]):
            if v == value:
                return i
        raise ValueError(f"{value!r} is not one of the values of {self.name}")

    def grid_values(self) -> list[Any]:
        """Every value a grid visits (W&B: int_uniform min..max, q_uniform min..max step q)."""
        s = self.settings
        d = self.distribution
        if d == "constant":
            return [s["value"]]
        if d == "categorical":
            return _distinct(s["values"])
        if d == "int_uniform":
            return list(range(int(s["min"]), int(s["max"]) + 1))
        if d == "q_uniform":
            # W&B's engine uses numpy.arange(min, max, q): max itself is excluded, and the
            # values are ints only when min, max and q all are (numpy's dtype rule).
            return _distinct(np.arange(s["min"], s["max"], s["q"]).tolist())
        raise ValueError(f"grid search cannot enumerate a {d} parameter ({self.name})")


def _grid_identity(value: Any) -> str:
    """W&B's grid tells values apart by their YAML text, with 3.0 the same as 3."""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return json.dumps(value, sort_keys=True, default=str)


def _distinct(values: Iterable[Any]) -> list[Any]:
    """Values in order, each once (W&B's grid never runs the same point twice)."""
    seen: set[str] = set()
    out = []
    for v in values:
        key = _grid_identity(v)
        if key not in seen:
            seen.add(key)
            out.append(v)
    return out


def _is_int(x: Any) -> bool:
    return isinstance(x, int) and not isinstance(x, bool)


def _special() -> Any:
    """scipy.special, imported on first use: scipy.stats would cost ~1 s of startup, this a quarter."""
    from scipy import special

    return special


def _normal_cdf(x: float, mu: float, sigma: float) -> float:
    if sigma <= 0:
        return 1.0 if x >= mu else 0.0
    return float(_special().ndtr((x - mu) / sigma))


def _open(u: float) -> float:
    """Keep u inside (0, 1) for distributions with infinite tails."""
    return min(max(u, 1e-12), 1.0 - 1e-12)


def _unit(x: float) -> float:
    return min(max(x, 0.0), 1.0)


class Space:
    """All parameters of a sweep, flattened in W&B's (sorted) order."""

    def __init__(self, params: Iterable[Param]):
        self.params: list[Param] = sorted(params, key=lambda p: p.path)
        self.by_name = {p.name: p for p in self.params}

    @classmethod
    def from_specs(cls, specs: Mapping[tuple[str, ...], Mapping[str, Any]]) -> Space:
        """Build from `{path: {"distribution": ..., **settings}}`."""
        params = []
        for path, spec in specs.items():
            spec = dict(spec)
            dist = spec.pop("distribution")
            params.append(Param(tuple(path), dist, spec))
        return cls(params)

    @property
    def searchable(self) -> list[Param]:
        return [p for p in self.params if not p.is_constant]

    def constants(self) -> dict[str, Any]:
        return {p.name: p.settings["value"] for p in self.params if p.is_constant}

    def nest(self, flat: Mapping[str, Any]) -> dict[str, Any]:
        """{'model.depth': 3} -> {'model': {'depth': 3}} for the program's config."""
        out: dict[str, Any] = {}
        for p in self.params:
            if p.name not in flat:
                continue
            node = out
            for part in p.path[:-1]:
                node = node.setdefault(part, {})
            node[p.path[-1]] = flat[p.name]
        return out

    def __len__(self) -> int:
        return len(self.params)
