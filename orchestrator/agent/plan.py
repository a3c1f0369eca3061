"""Sweep-level helpers shared by commands and backends: load, build a sampler, plan."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from orchestrator.config.sweep import SweepConfig, load_sweep
from orchestrator.search import Space, make_sampler
from orchestrator.search.base import Sampler

DEFAULT_PLAN_COUNT = 10


def load_sweep_with_warnings(
    path: str, overrides: list[str], add: bool, warn: Callable[[str], None]
) -> SweepConfig:
    """Load a sweep file, passing each warning to `warn` as one line."""
    config, warnings = load_sweep(path, overrides, add)
    for w in warnings:
        warn(w.one_line().replace(": warning: ", ": ", 1))
    return config


def space_of(config: SweepConfig) -> Space:
    return Space.from_specs(
        {path: spec.to_dict() for path, spec in config.flat_parameters().items()}
    )


def sampler_of(config: SweepConfig, seed: int = 0) -> Sampler:
    metric = config.metric
    return make_sampler(
        config.method,
        space_of(config),
        goal=metric.goal if metric else "minimize",
        seed=seed,
        target=metric.target if metric else None,
    )


def plan_configs(
    config: SweepConfig, count: int | None, seed: int
) -> tuple[list[dict[str, Any]], int | None, str]:
    """The configs a sweep would run first: (configs, grid size or None, note)."""
    from orchestrator.search.grid import GridSampler
    from orchestrator.search.random_search import RandomSampler

    space = space_of(config)
    total = None
    note = ""
    if config.method == "grid":
        grid = GridSampler(space, seed=seed)
        total = grid.total()
        n = total if count is None else min(count, total)
        configs = [grid.point_at(i) for i in range(n)]
    else:
        n = count or DEFAULT_PLAN_COUNT
        if config.run_cap is not None:
            n = min(n, config.run_cap)
        # bayes starts from random draws, so the plan shows those
        configs = RandomSampler(space, seed=seed).sample_many(n)
        if config.method == "bayes":
            note = "bayes: shown as random draws; later points depend on results"
    if config.run_cap is not None and config.method == "grid" and total > config.run_cap:
        configs = configs[: config.run_cap]
        note = f"run_cap {config.run_cap} stops the grid early"
    return [c for c in configs if c is not None], total, note
