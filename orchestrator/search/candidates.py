"""Where the bayes sampler looks for the log-EI maximum: candidate points in the unit cube.

A global turn scores uniform points and steps around the best observations;
a local turn (`BayesSampler._local`) scores uniform points in the box of the
incumbent's neighbours and steps from the incumbent. The best of either set
start the gradient climbs.
"""

from __future__ import annotations

import numpy as np

from orchestrator.search.encoding import Encoder

#: step sizes around the best observations, in units of the length scale (at most 1)
GLOBAL_STEPS = (0.001, 0.005, 0.02, 0.08, 0.25)
#: step sizes from the incumbent in a local turn, in units of the box's sides
BOX_STEPS = (0.01, 0.05, 0.2)


def moved(
    rng: np.random.Generator, shape: tuple[int, int], free: np.ndarray, coordinates: int
) -> np.ndarray:
    """Which coordinates of each stepped candidate move: about `coordinates` of them, at least one.

    In more than a few dimensions a step in every coordinate at once mostly
    lands somewhere worse; as in TuRBO, each candidate moves a random subset
    of the numeric (`free`) coordinates.
    """
    share = min(1.0, coordinates / max(int(free.sum()), 1))
    mask = rng.random(shape) < share
    mask[np.arange(shape[0]), rng.integers(0, shape[1], shape[0])] = True
    return mask & free[None, :]


def around_best(
    rng: np.random.Generator,
    encoder: Encoder,
    x: np.ndarray,
    y: np.ndarray,
    lengths: np.ndarray,
    sizes: tuple[int, int, int],
    coordinates: int,
) -> np.ndarray:
    """Uniform points, plus steps of several sizes around the best observations.

    `sizes` is (uniform points, stepped points, parents); the best
    observation gets half of the stepped points. A space of categorical
    parameters only, if small, is enumerated instead.
    """
    enumerated = encoder.all_categorical_points(4096)
    if enumerated is not None:
        return enumerated
    n_uniform, n_local, n_parents = sizes
    uniform = encoder.random(rng, n_uniform)
    parents = x[np.argsort(y, kind="stable")[:n_parents]]
    weights = np.r_[len(parents), np.ones(len(parents) - 1)]
    picks = parents[rng.choice(len(parents), n_local, p=weights / weights.sum())]
    scale = rng.choice(GLOBAL_STEPS, n_local)[:, None]
    steps = rng.normal(size=picks.shape) * scale * np.minimum(lengths[encoder.groups], 1.0)
    mask = moved(rng, picks.shape, encoder.free, coordinates)
    local = picks.copy()
    local[mask] = np.clip(picks + steps, 0.0, 1.0)[mask]
    return np.vstack([uniform, local])


def nearest(x: np.ndarray, centre: np.ndarray, lengths: np.ndarray, size: int) -> np.ndarray:
    """Indices of the `size` rows of x nearest to centre, each dimension scaled by its length."""
    distance = (((x - centre) / lengths) ** 2).sum(1)
    return np.argsort(distance, kind="stable")[:size]


def in_box(
    rng: np.random.Generator,
    centre: np.ndarray,
    box: tuple[np.ndarray, np.ndarray],
    free: np.ndarray,
    sizes: tuple[int, int],
    coordinates: int,
) -> np.ndarray:
    """Uniform points in the box and steps from the centre; categories stay the centre's.

    `sizes` is (uniform points, stepped points).
    """
    lo, hi = box
    n_uniform, n_local = sizes
    uniform = np.tile(centre, (n_uniform, 1))
    inside = lo + rng.random(uniform.shape) * (hi - lo)
    uniform[:, free] = inside[:, free]
    local = np.tile(centre, (n_local, 1))
    scale = rng.choice(BOX_STEPS, n_local)[:, None] * (hi - lo)[None, :]
    mask = moved(rng, local.shape, free, coordinates)
    stepped = np.clip(local + rng.normal(size=local.shape) * scale, lo, hi)
    local[mask] = stepped[mask]
    return np.vstack([uniform, local])
