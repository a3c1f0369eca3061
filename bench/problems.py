"""Test functions for the Bayesian-search benches, with their known optima.

Not part of the package; imported by the bench scripts next to it. Every
problem is a minimisation over a W&B-style space (`specs`). A problem with
noise adds Gaussian noise to what the sampler sees, drawn from
(seed, evaluation index) so every sampler meets the same noise, and is
scored by the noiseless value of the best point it observed.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

Specs = Mapping[tuple[str, ...], Mapping[str, Any]]


@dataclass(frozen=True)
class Problem:
    name: str
    label: str
    specs: Specs
    function: Callable[[Mapping[str, Any]], float]
    optimum: float
    noise_sd: float = 0.0

    def observe(self, config: Mapping[str, Any], seed: int, index: int) -> tuple[float, float]:
        """(what the sampler is told, the noiseless value) of the index-th evaluation."""
        true = self.function(config)
        if not self.noise_sd:
            return true, true
        noise = np.random.default_rng([seed, index, 7919]).normal(0.0, self.noise_sd)
        return true + float(noise), true


def _uniform(lo: float, hi: float) -> dict[str, Any]:
    return {"distribution": "uniform", "min": lo, "max": hi}


def branin(c: Mapping[str, Any]) -> float:
    """Branin-Hoo on [-5, 10] x [0, 15]; three global minima of 0.397887."""
    x1, x2 = c["x1"], c["x2"]
    b, k = 5.1 / (4 * math.pi**2), 5 / math.pi
    return (x2 - b * x1**2 + k * x1 - 6) ** 2 + 10 * (1 - 1 / (8 * math.pi)) * math.cos(x1) + 10


HARTMANN_A = np.array(
    [
        [10, 3, 17, 3.5, 1.7, 8],
        [0.05, 10, 17, 0.1, 8, 14],
        [3, 3.5, 1.7, 10, 17, 8],
        [17, 8, 0.05, 10, 0.1, 14],
    ]
)
HARTMANN_P = np.array(
    [
        [0.1312, 0.1696, 0.5569, 0.0124, 0.8283, 0.5886],
        [0.2329, 0.4135, 0.8307, 0.3736, 0.1004, 0.9991],
        [0.2348, 0.1451, 0.3522, 0.2883, 0.3047, 0.6650],
        [0.4047, 0.8828, 0.8732, 0.5743, 0.1091, 0.0381],
    ]
)
HARTMANN_ALPHA = np.array([1.0, 1.2, 3.0, 3.2])


def hartmann6(c: Mapping[str, Any]) -> float:
    """Hartmann-6 on the unit cube: global minimum -3.32237, a local one at -3.2032."""
    x = np.array([c[f"x{i}"] for i in range(1, 7)])
    return -float(HARTMANN_ALPHA @ np.exp(-(HARTMANN_A * (x - HARTMANN_P) ** 2).sum(1)))


def ackley(c: Mapping[str, Any]) -> float:
    """Ackley on [-5, 10]^d; minimum 0 at the origin (off the centre of the box)."""
    x = np.array([c[f"x{i:02d}"] for i in range(1, len(c) + 1)])
    d = len(x)
    return float(
        -20.0 * np.exp(-0.2 * np.sqrt((x * x).sum() / d))
        - np.exp(np.cos(2 * np.pi * x).sum() / d)
        + 20.0
        + math.e
    )


def rosenbrock(c: Mapping[str, Any]) -> float:
    """Rosenbrock on [-5, 10]^d; minimum 0 at (1, ..., 1)."""
    x = np.array([c[f"x{i}"] for i in range(1, len(c) + 1)])
    return float((100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2).sum())


#: per optimiser: (offset, best log10 learning rate); the optimum is adam at lr 1e-3
MIXED_OPTIMISERS = {"adam": (0.0, -3.0), "rmsprop": (0.1, -2.5), "sgd": (0.2, -1.5)}


def mixed(c: Mapping[str, Any]) -> float:
    """A training-like loss: optimiser x learning rate interact, plus weight decay and depth."""
    offset, best_lr = MIXED_OPTIMISERS[c["optimizer"]]
    return (
        offset
        + (math.log10(c["lr"]) - best_lr) ** 2
        + 0.5 * (math.log10(c["weight_decay"]) + 4.0) ** 2
        + 0.05 * (c["layers"] - 6) ** 2
    )


HARTMANN_SPECS = {(f"x{i}",): _uniform(0.0, 1.0) for i in range(1, 7)}

PROBLEMS: dict[str, Problem] = {
    p.name: p
    for p in [
        Problem(
            "branin",
            "Branin (2-d)",
            {("x1",): _uniform(-5.0, 10.0), ("x2",): _uniform(0.0, 15.0)},
            branin,
            0.397887357729739,
        ),
        Problem("hartmann6", "Hartmann-6", HARTMANN_SPECS, hartmann6, -3.322368011415515),
        Problem(
            "hartmann6-noisy",
            "Hartmann-6, noise sd 0.05",
            HARTMANN_SPECS,
            hartmann6,
            -3.322368011415515,
            noise_sd=0.05,
        ),
        Problem(
            "ackley10",
            "Ackley (10-d)",
            {(f"x{i:02d}",): _uniform(-5.0, 10.0) for i in range(1, 11)},
            ackley,
            0.0,
        ),
        Problem(
            "rosenbrock4",
            "Rosenbrock (4-d)",
            {(f"x{i}",): _uniform(-5.0, 10.0) for i in range(1, 5)},
            rosenbrock,
            0.0,
        ),
        Problem(
            "mixed",
            "mixed: categorical + integer + 2 log-scaled",
            {
                ("optimizer",): {"distribution": "categorical", "values": list(MIXED_OPTIMISERS)},
                ("layers",): {"distribution": "int_uniform", "min": 1, "max": 12},
                ("lr",): {"distribution": "log_uniform_values", "min": 1e-5, "max": 1.0},
                ("weight_decay",): {"distribution": "log_uniform_values", "min": 1e-6, "max": 0.1},
            },
            mixed,
            0.0,
        ),
    ]
}
