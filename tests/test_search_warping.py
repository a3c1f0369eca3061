"""The GP's output warp: the fitted Yeo-Johnson power and the transform it applies."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from orchestrator.search.warping import power, standardise, warp, yeo_johnson

SAMPLES = {
    "gaussian": lambda rng: rng.normal(size=60),
    "right-skewed": lambda rng: rng.exponential(size=80),
    "heavy left tail": lambda rng: -(rng.exponential(size=80) ** 3),
    "two clusters": lambda rng: (
        np.r_[np.zeros(50), -3.0 * np.ones(10)] + 0.01 * rng.normal(size=60)
    ),
    "log-normal": lambda rng: rng.lognormal(sigma=3.0, size=90),
}


@pytest.mark.parametrize("kind", sorted(SAMPLES))
def test_the_power_and_transform_match_scipys_maximum_likelihood_fit(kind):
    z = standardise(SAMPLES[kind](np.random.default_rng(3)))
    transformed, lam = stats.yeojohnson(z)
    assert power(z) == pytest.approx(lam, rel=1e-6, abs=1e-6)
    assert np.allclose(yeo_johnson(z, lam), transformed, rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("kind", sorted(SAMPLES))
def test_the_warp_is_monotone_and_standardised(kind):
    y = SAMPLES[kind](np.random.default_rng(4))
    w = warp(y)
    order = np.argsort(y, kind="stable")
    assert np.all(np.diff(w[order]) >= -1e-12)
    assert abs(w.mean()) < 1e-9 and w.std() == pytest.approx(1.0)


@pytest.mark.parametrize("lam", [0.0, 2.0, 0.5, -1.5])
def test_the_transform_handles_its_special_powers(lam):
    x = np.linspace(-3.0, 3.0, 13)
    assert np.allclose(yeo_johnson(x, lam), stats.yeojohnson(x, lmbda=lam))


def test_short_or_constant_series_are_only_standardised():
    assert np.array_equal(warp(np.array([1.0, 2.0])), standardise(np.array([1.0, 2.0])))
    assert np.array_equal(warp(np.full(5, 7.0)), np.zeros(5))
