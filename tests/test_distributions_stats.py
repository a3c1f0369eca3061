"""Random search draws each of W&B's 18 distributions as W&B defines it.

2000 draws per distribution (fixed seed, so the outcome never changes) are
compared with a reference written here from W&B's definitions, not from
sweepci's code: a KS test for continuous distributions, a chi-square test
for discrete ones (int_uniform, categorical, every q_ variant, whose
probabilities come from the continuous CDF and W&B's round(x / q) * q).

ALPHA is small so a correct sampler passes comfortably, while a wrong
distribution gives p-values many orders of magnitude below it; the
mix-up tests at the end prove that for the likely mistakes.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from scipy import stats

from orchestrator.config.distributions import flatten_specs
from orchestrator.config.params import check_parameters
from orchestrator.search import Space, make_sampler

N = 2000
SEED = 20240
ALPHA = 1e-4

# the parameter as a sweep file writes it -> its reference (continuous) distribution
CONTINUOUS: dict[str, tuple[dict[str, Any], Callable[[np.ndarray], np.ndarray], Any]] = {
    # name: (spec, transform applied to the draws, scipy distribution the result must follow)
    "uniform": ({"min": -2.0, "max": 3.0}, lambda x: x, stats.uniform(-2.0, 5.0)),
    # log_uniform: X = exp(U(min, max)), natural-log bounds
    "log_uniform": (
        {"distribution": "log_uniform", "min": -9.0, "max": -2.0},
        np.log,
        stats.uniform(-9.0, 7.0),
    ),
    # log_uniform_values: X = exp(U(log min, log max))
    "log_uniform_values": (
        {"distribution": "log_uniform_values", "min": 1.0e-4, "max": 1.0e-1},
        np.log,
        stats.uniform(math.log(1e-4), math.log(1e-1) - math.log(1e-4)),
    ),
    # inv_log_uniform: X = exp(-U(min, max))
    "inv_log_uniform": (
        {"distribution": "inv_log_uniform", "min": 0.5, "max": 4.0},
        lambda x: -np.log(x),
        stats.uniform(0.5, 3.5),
    ),
    # inv_log_uniform_values: 1/X is log-uniform on [1/max, 1/min]
    "inv_log_uniform_values": (
        {"distribution": "inv_log_uniform_values", "min": 0.01, "max": 2.0},
        lambda x: np.log(1.0 / x),
        stats.uniform(math.log(1 / 2.0), math.log(1 / 0.01) - math.log(1 / 2.0)),
    ),
    "normal": (
        {"distribution": "normal", "mu": 100.0, "sigma": 10.0},
        lambda x: x,
        stats.norm(100.0, 10.0),
    ),
    # log_normal: log X ~ N(mu, sigma)
    "log_normal": (
        {"distribution": "log_normal", "mu": 1.0, "sigma": 0.5},
        np.log,
        stats.norm(1.0, 0.5),
    ),
    "beta": ({"distribution": "beta", "a": 2.0, "b": 5.0}, lambda x: x, stats.beta(2.0, 5.0)),
}

# q_ variants: W&B draws the continuous value, then returns round(x / q) * q
QUANTISED: dict[str, tuple[dict[str, Any], Any]] = {
    # name: (spec, distribution of the value before rounding)
    "q_uniform": (
        {"distribution": "q_uniform", "min": 0, "max": 100, "q": 5},
        stats.uniform(0, 100),
    ),
    "q_log_uniform": (
        {"distribution": "q_log_uniform", "min": 2.0, "max": 5.0, "q": 4},
        stats.loguniform(math.exp(2.0), math.exp(5.0)),
    ),
    "q_log_uniform_values": (
        {"distribution": "q_log_uniform_values", "min": 16, "max": 512, "q": 16},
        stats.loguniform(16, 512),
    ),
    "q_normal": ({"distribution": "q_normal", "mu": 64, "sigma": 16, "q": 8}, stats.norm(64, 16)),
    "q_log_normal": (
        {"distribution": "q_log_normal", "mu": 3.0, "sigma": 0.5, "q": 2},
        stats.lognorm(0.5, scale=math.exp(3.0)),
    ),
    "q_beta": ({"distribution": "q_beta", "a": 0.5, "b": 0.5, "q": 0.1}, stats.beta(0.5, 0.5)),
}


def draws(spec: dict[str, Any], n: int = N, seed: int = SEED) -> list[Any]:
    """n values of one parameter, as `sweepci` random search suggests them."""
    specs, problems = check_parameters({"x": spec})
    assert not problems, problems
    space = Space.from_specs({path: s.to_dict() for path, s in flatten_specs(specs).items()})
    sampler = make_sampler("random", space, seed=seed)
    return [sampler.suggest([], index=i)["x"] for i in range(n)]


def quantised_probabilities(continuous: Any, q: float) -> dict[float, float]:
    """P(round(X / q) * q == k q) for every k with a non-negligible probability."""
    lo = math.floor(continuous.ppf(1e-12) / q) - 1
    hi = math.ceil(continuous.ppf(1 - 1e-12) / q) + 1
    probs = {}
    for k in range(lo, hi + 1):
        p = float(continuous.cdf((k + 0.5) * q) - continuous.cdf((k - 0.5) * q))
        if p > 0:
            probs[round(k * q, 10)] = p
    return probs


def chi_square_p(observed: list[Any], probabilities: dict[Any, float]) -> float:
    """Chi-square goodness of fit; neighbouring cells merge until each expects >= 5 draws.

    A value the reference gives probability 0 fails outright.
    """
    counts = Counter(round(v, 10) if isinstance(v, float) else v for v in observed)
    outside = set(counts) - set(probabilities)
    assert not outside, f"values the distribution cannot produce: {sorted(map(str, outside))[:5]}"
    keys = list(probabilities)
    if all(isinstance(k, (int, float)) and not isinstance(k, bool) for k in keys):
        keys.sort()
    n = len(observed)
    obs_cells, exp_cells = [], []
    o = e = 0.0
    for k in keys:
        o += counts.get(k, 0)
        e += probabilities[k] * n
        if e >= 5:
            obs_cells.append(o)
            exp_cells.append(e)
            o = e = 0.0
    if e > 0 or o > 0:
        obs_cells[-1] += o
        exp_cells[-1] += e
    exp = np.array(exp_cells) * (n / sum(exp_cells))  # the far tails beyond 1e-12 are left out
    return float(stats.chisquare(obs_cells, exp).pvalue)


# -- continuous -----------------------------------------------------------------------


@pytest.mark.parametrize("name", list(CONTINUOUS))
def test_continuous_distribution_matches_wandb(name: str) -> None:
    spec, transform, reference = CONTINUOUS[name]
    values = draws(spec)
    assert all(type(v) is float for v in values)
    result = stats.kstest(transform(np.array(values)), reference.cdf)
    assert result.pvalue > ALPHA, f"{name}: KS p = {result.pvalue:.2e}"


# -- discrete ------------------------------------------------------------------------------


@pytest.mark.parametrize("name", list(QUANTISED))
def test_quantised_distribution_matches_wandb(name: str) -> None:
    spec, continuous = QUANTISED[name]
    q = spec["q"]
    values = draws(spec)
    # an integer q gives integers, a float q floats (W&B: isinstance(q, int))
    assert all(type(v) is (int if isinstance(q, int) else float) for v in values)
    p = chi_square_p(values, quantised_probabilities(continuous, q))
    assert p > ALPHA, f"{name}: chi-square p = {p:.2e}"


def test_int_uniform_matches_wandb() -> None:
    values = draws({"min": -3, "max": 6})
    assert all(type(v) is int for v in values)
    p = chi_square_p(values, {k: 0.1 for k in range(-3, 7)})
    assert p > ALPHA, p


def test_categorical_matches_wandb() -> None:
    choices = ["adam", 3, 2.5, True, None]
    values = draws({"values": choices})
    assert {type(v) for v in values} == {str, int, float, bool, type(None)}
    # compare by type and value, so 1 and True are not confused
    tagged = [f"{type(v).__name__}:{v}" for v in values]
    p = chi_square_p(tagged, {f"{type(v).__name__}:{v}": 0.2 for v in choices})
    assert p > ALPHA, p


def test_categorical_with_probabilities_matches_wandb() -> None:
    probabilities = [0.1, 0.2, 0.1, 0.25, 0.35]
    values = draws({"values": [1, 2, 3, 4, 5], "probabilities": probabilities})
    p = chi_square_p(values, dict(zip([1, 2, 3, 4, 5], probabilities, strict=True)))
    assert p > ALPHA, p


def test_a_zero_probability_value_is_never_drawn() -> None:
    values = draws({"values": ["never", "always", "rare"], "probabilities": [0.0, 0.95, 0.05]})
    assert "never" not in values
    assert 0 < values.count("rare") < N * 0.1


def test_constant_is_always_its_value() -> None:
    assert set(draws({"value": 0.001}, n=50)) == {0.001}
    assert draws({"distribution": "constant", "value": [1, "a"]}, n=5) == [[1, "a"]] * 5


def test_defaults_mu_0_sigma_1_a_1_b_1_q_1() -> None:
    normal = draws({"distribution": "normal"})
    assert stats.kstest(normal, stats.norm(0, 1).cdf).pvalue > ALPHA
    beta = draws({"distribution": "beta"})  # beta(1, 1) is uniform on [0, 1]
    assert stats.kstest(beta, stats.uniform(0, 1).cdf).pvalue > ALPHA
    q_default = draws({"distribution": "q_normal", "mu": 5.0}, n=200)
    assert all(type(v) is float and v == round(v) for v in q_default)  # q = 1.0: whole floats


def test_every_distribution_is_covered() -> None:
    covered = (
        set(CONTINUOUS)
        | set(QUANTISED)
        | {"int_uniform", "categorical", "categorical_w_probabilities", "constant"}
    )
    assert len(covered) == 18


# -- the tests have power: likely mix-ups are rejected by a wide margin -------------------


def _ks_p(
    values: list[float], transform: Callable[[np.ndarray], np.ndarray], reference: Any
) -> float:
    return float(stats.kstest(transform(np.array(values)), reference.cdf).pvalue)


MIXUPS: dict[str, Callable[[], float]] = {
    # log_uniform bounds read as the values themselves (the _values variant)
    "log_uniform as log_uniform_values": lambda: _ks_p(
        draws({"distribution": "log_uniform_values", "min": 0.5, "max": 4.0}),
        np.log,
        stats.uniform(0.5, 3.5),
    ),
    # inv_log_uniform without the minus sign
    "inv_log_uniform as log_uniform": lambda: _ks_p(
        draws({"distribution": "log_uniform", "min": 0.5, "max": 4.0}),
        lambda x: -np.log(x),
        stats.uniform(0.5, 3.5),
    ),
    # inv_log_uniform_values bounds read as exponents
    "inv_log_uniform_values as inv_log_uniform": lambda: _ks_p(
        draws({"distribution": "inv_log_uniform", "min": 0.01, "max": 2.0}),
        lambda x: np.log(1.0 / x),
        stats.uniform(math.log(0.5), math.log(100) - math.log(0.5)),
    ),
    # sigma taken as the variance
    "normal with sigma as variance": lambda: _ks_p(
        draws({"distribution": "normal", "mu": 0.0, "sigma": 3.0}),
        lambda x: x,
        stats.norm(0.0, 9.0),
    ),
    # log_normal drawn as a plain normal
    "log_normal as normal": lambda: _ks_p(
        draws({"distribution": "normal", "mu": 1.0, "sigma": 0.5}),
        lambda x: np.log(np.abs(x)),
        stats.norm(1.0, 0.5),
    ),
    # beta with a and b swapped
    "beta with a and b swapped": lambda: _ks_p(
        draws({"distribution": "beta", "a": 5.0, "b": 2.0}), lambda x: x, stats.beta(2.0, 5.0)
    ),
    # q rounding by floor instead of round: every value half a step low
    "q_uniform floored": lambda: chi_square_p(
        [
            v - 5 if v > 0 else v
            for v in draws({"distribution": "q_uniform", "min": 0, "max": 100, "q": 5})
        ],
        quantised_probabilities(stats.uniform(0, 100), 5),
    ),
    # probabilities ignored
    "categorical probabilities ignored": lambda: chi_square_p(
        draws({"values": [1, 2, 3, 4, 5]}),
        dict(zip([1, 2, 3, 4, 5], [0.1, 0.2, 0.1, 0.25, 0.35], strict=True)),
    ),
    # int_uniform with max excluded (range(min, max))
    "int_uniform without max": lambda: chi_square_p(
        draws({"min": -3, "max": 5}), {k: 0.1 for k in range(-3, 7)}
    ),
}


@pytest.mark.parametrize("mixup", list(MIXUPS))
def test_a_wrong_distribution_fails_by_a_wide_margin(mixup: str) -> None:
    try:
        p = MIXUPS[mixup]()
    except AssertionError:
        return  # values outside the reference's support: rejected outright
    assert p < ALPHA * 1e-6, f"{mixup}: p = {p:.2e} would not be caught"
