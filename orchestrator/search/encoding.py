"""Configs to points of the unit cube and back, for model-based search.

A numeric parameter becomes one coordinate, its CDF value: uniform
parameters are scaled linearly, log-scale parameters land in log space, and
normal or beta ones are spread by their own distribution. A categorical
parameter becomes a one-hot block, so no order is imposed on its values.
Decoding goes through Param.ppf, which rounds integer and q-parameters
exactly as random sampling does.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from orchestrator.search.space import Space

_MISSING = object()


def _hashable(value: Any) -> Any:
    """The value itself, or its type and repr when it cannot be hashed (a list value)."""
    try:
        hash(value)
    except TypeError:
        return (type(value).__name__, repr(value))
    # 1 == 1.0 == True as dict keys, but they are different configs
    return (type(value).__name__, value)


class Encoder:
    """The unit-cube layout of a space's searchable parameters."""

    def __init__(self, space: Space):
        self.space = space
        self.params = space.searchable
        groups: list[int] = []
        self.slices: list[slice] = []
        for j, p in enumerate(self.params):
            width = len(p.settings["values"]) if p.is_categorical else 1
            self.slices.append(slice(len(groups), len(groups) + width))
            groups.extend([j] * width)
        #: which parameter each dimension belongs to (the kernel's length-scale groups)
        self.groups = np.array(groups, dtype=int)
        #: dimensions a gradient method may move (numeric ones, not one-hot blocks)
        self.free = np.array([not self.params[g].is_categorical for g in groups], dtype=bool)
        self.dims = len(groups)
        # encodings by config values: a sweep re-encodes every trial on every
        # suggestion, and the CDFs are the slow part of that
        self._memo: dict[tuple[Any, ...], np.ndarray | None] = {}

    def key(self, config: Mapping[str, Any]) -> tuple[Any, ...]:
        """The searchable values of a config, as a hashable identity."""
        return tuple(_hashable(config.get(p.name, _MISSING)) for p in self.params)

    def encode(self, config: Mapping[str, Any]) -> np.ndarray | None:
        """The point of a config, or None if it lacks a parameter or holds a foreign value."""
        key = self.key(config)
        if key not in self._memo:
            if len(self._memo) > 100_000:
                self._memo.clear()
            self._memo[key] = self._encode(config)
        return self._memo[key]

    def _encode(self, config: Mapping[str, Any]) -> np.ndarray | None:
        x = np.zeros(self.dims)
        for p, where in zip(self.params, self.slices):
            if p.name not in config:
                return None
            try:
                if p.is_categorical:
                    x[where.start + p.index_of(config[p.name])] = 1.0
                else:
                    x[where.start] = p.cdf(config[p.name])
            except (TypeError, ValueError):
                # e.g. a value the sweep file no longer lists: the model cannot place it
                return None
        return x

    def decode(self, x: np.ndarray) -> dict[str, Any]:
        """The flat config of a point, constants included, in the space's order."""
        chosen: dict[str, Any] = {}
        for p, where in zip(self.params, self.slices):
            if p.is_categorical:
                chosen[p.name] = p.settings["values"][int(np.argmax(x[where]))]
            else:
                chosen[p.name] = p.ppf(float(x[where.start]))
        constants = self.space.constants()
        return {
            p.name: constants[p.name] if p.is_constant else chosen[p.name]
            for p in self.space.params
        }

    def snap(self, x: np.ndarray) -> np.ndarray:
        """Round a point to the config it decodes to (ints, q-steps, one category)."""
        encoded = self.encode(self.decode(x))
        return x if encoded is None else encoded

    def random(self, rng: np.random.Generator, n: int) -> np.ndarray:
        """n uniform points: numeric coordinates uniform, one random category per block."""
        x = np.zeros((n, self.dims))
        x[:, self.free] = rng.random((n, int(self.free.sum())))
        for p, where in zip(self.params, self.slices):
            if p.is_categorical:
                x[np.arange(n), where.start + rng.integers(0, where.stop - where.start, n)] = 1.0
        return x

    def all_categorical_points(self, limit: int) -> np.ndarray | None:
        """Every point of an all-categorical space, or None when there are more than limit."""
        sizes = [s.stop - s.start for s in self.slices]
        if self.free.any() or int(np.prod(sizes)) > limit:
            return None
        grids = np.meshgrid(*[np.arange(k) for k in sizes], indexing="ij")
        combos = np.stack([g.ravel() for g in grids], axis=1)
        x = np.zeros((len(combos), self.dims))
        for column, where in enumerate(self.slices):
            x[np.arange(len(combos)), where.start + combos[:, column]] = 1.0
        return x
