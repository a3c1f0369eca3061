"""Log expected improvement and its maximisation over the unit cube.

Expected improvement underflows to exactly zero far from the incumbent,
which leaves a gradient-based optimiser with flat ground; its logarithm,
computed stably (Ament et al. 2023, "Unexpected improvements to expected
improvement"), keeps a useful slope everywhere.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from scipy import optimize, special

from orchestrator.search.gp import GaussianProcess

LOG_SQRT_2PI = 0.5 * np.log(2.0 * np.pi)
SQRT_HALF_PI = np.sqrt(0.5 * np.pi)


def _log_h(z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """log(z Phi(z) + phi(z)) and its derivative Phi(z) / h(z), stable for very negative z."""
    z = np.maximum(z, -1e6)
    out = np.empty_like(z)
    slope = np.empty_like(z)
    high = z > -1.0
    zh = z[high]
    h = zh * special.ndtr(zh) + np.exp(-0.5 * zh * zh - LOG_SQRT_2PI)
    out[high] = np.log(h)
    slope[high] = special.ndtr(zh) / h
    # for z <= -1: h = phi(z) (1 - t m(t)), t = -z, with the Mills ratio m(t) = Phi(-t)/phi(t)
    t = -z[~high]
    mills = SQRT_HALF_PI * special.erfcx(t / np.sqrt(2.0))
    rest = -np.expm1(np.log(t) + np.log(mills))
    rest = np.maximum(rest, 1e-300)
    out[~high] = -0.5 * t * t - LOG_SQRT_2PI + np.log(rest)
    slope[~high] = mills / rest
    return out, slope


def log_ei(model: GaussianProcess, x: np.ndarray, best: float) -> np.ndarray:
    """log E[max(best - f(x), 0)] for each row of x (minimisation)."""
    mean, var = model.predict(x)
    sd = np.sqrt(var)
    value, _ = _log_h((best - mean) / sd)
    return value + np.log(sd)


def log_ei_with_grad(
    model: GaussianProcess, x: np.ndarray, best: float
) -> tuple[np.ndarray, np.ndarray]:
    """log EI and its gradient with respect to each row of x."""
    mean, var, dmean, dvar = model.predict_with_grad(x)
    sd = np.sqrt(var)
    z = (best - mean) / sd
    value, slope = _log_h(z)
    dsd = dvar / (2.0 * sd[:, None])
    dz = -dmean / sd[:, None] - z[:, None] * dsd / sd[:, None]
    grad = dsd / sd[:, None] + slope[:, None] * dz
    return value + np.log(sd), grad


def climb(
    model: GaussianProcess,
    starts: np.ndarray,
    free: np.ndarray,
    best: float,
    acquisition: Callable[..., tuple[np.ndarray, np.ndarray]] = log_ei_with_grad,
    maxiter: int = 40,
    box: tuple[np.ndarray, np.ndarray] | None = None,
) -> np.ndarray:
    """Local ascent of the acquisition from every start at once.

    The starts are independent, so the sum of their acquisition values has a
    block-diagonal Hessian: one L-BFGS-B run over all of them costs one
    vectorised model evaluation per step instead of one per start. Only the
    `free` (numeric) dimensions move; one-hot categorical blocks stay fixed.
    `box` (lower and upper corner) keeps the climb inside a region of the
    unit cube.
    """
    if not free.any() or len(starts) == 0:
        return starts
    fixed = starts.copy()
    n = len(starts)
    lo, hi = (np.zeros(starts.shape[1]), np.ones(starts.shape[1])) if box is None else box

    def negative(flat: np.ndarray) -> tuple[float, np.ndarray]:
        x = fixed.copy()
        x[:, free] = flat.reshape(n, -1)
        value, grad = acquisition(model, x, best)
        return -float(value.sum()), -grad[:, free].ravel()

    result = optimize.minimize(
        negative,
        starts[:, free].ravel(),
        jac=True,
        method="L-BFGS-B",
        bounds=list(zip(np.tile(lo[free], n), np.tile(hi[free], n))),
        options={"maxiter": maxiter},
    )
    out = fixed.copy()
    out[:, free] = np.clip(result.x.reshape(n, -1), lo[free], hi[free])
    return out


def pick_starts(
    scores: np.ndarray, rng: np.random.Generator, n_top: int, n_drawn: int
) -> np.ndarray:
    """Indices of local-search starts: the n_top best scores, and n_drawn more drawn from the rest.

    The draw weighs each candidate by exp(score - best), so a second basin
    whose acquisition is nearly as high gets a climb too instead of every
    start crowding the incumbent's neighbourhood.
    """
    order = np.argsort(-scores, kind="stable")
    top = order[:n_top]
    rest = order[n_top:]
    if not len(rest) or n_drawn <= 0:
        return top
    weights = np.exp(np.clip(scores[rest] - scores[order[0]], -700.0, 0.0))
    alive = weights > 0
    if not alive.any():
        return top
    k = min(n_drawn, int(alive.sum()))
    drawn = rng.choice(rest[alive], k, replace=False, p=weights[alive] / weights[alive].sum())
    return np.concatenate([top, drawn])
