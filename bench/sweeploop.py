"""Shared bench helpers: drive a sampler (ours or Optuna's) through a sequential sweep.

Not part of the package; imported by the bench scripts next to it.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

# one BLAS thread per process: the benches run seeds in parallel processes,
# and timing one suggestion should not depend on how busy the other core is
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

from orchestrator.search import Space, Trial, make_sampler  # noqa: E402

Objective = Callable[[Mapping[str, Any]], float]


@dataclass
class SweepResult:
    """Values in order of evaluation and the time each suggestion took (seconds).

    `latencies` is wall time; `cpu_times` is this process's CPU time, which a
    busy machine (other jobs stealing the cores) does not inflate.
    """

    values: list[float]
    latencies: list[float]
    cpu_times: list[float]

    def best_after(self, n: int, maximize: bool = False) -> float:
        """The best value among the first n runs."""
        head = self.values[:n]
        return max(head) if maximize else min(head)


def run_sweepci(
    method: str, specs: Mapping[tuple[str, ...], Mapping[str, Any]], objective: Objective,
    n: int, seed: int, goal: str = "minimize", first: list[dict[str, Any]] | None = None,
) -> SweepResult:  # fmt: skip
    """A sequential sweep with one of sweepci's samplers, through the real Space/Trial path.

    `first`: configs evaluated before the sampler's own suggestions (see `start_up`).
    """
    sampler = make_sampler(method, Space.from_specs(specs), goal, seed)
    trials: list[Trial] = []
    latencies, cpu_times = [], []
    first = list(first or [])
    for i in range(n):
        start, cpu = time.perf_counter(), time.process_time()
        config = first[i] if i < len(first) else sampler.suggest(trials)
        latencies.append(time.perf_counter() - start)
        cpu_times.append(time.process_time() - cpu)
        trials.append(Trial(config, objective(config)))
    return SweepResult([t.value for t in trials], latencies, cpu_times)


def run_optuna_tpe(
    specs: Mapping[tuple[str, ...], Mapping[str, Any]], objective: Objective,
    n: int, seed: int, goal: str = "minimize", first: list[dict[str, Any]] | None = None,
) -> SweepResult:  # fmt: skip
    """The same sweep with Optuna's default TPE sampler (ask/tell, so only sampling is timed)."""
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(direction=goal, sampler=optuna.samplers.TPESampler(seed=seed))
    for config in first or []:
        study.enqueue_trial(config)
    values, latencies, cpu_times = [], [], []
    for _ in range(n):
        start, cpu = time.perf_counter(), time.process_time()
        trial = study.ask()
        config = {
            ".".join(path): optuna_value(trial, ".".join(path), spec)
            for path, spec in specs.items()
        }
        latencies.append(time.perf_counter() - start)
        cpu_times.append(time.process_time() - cpu)
        value = objective(config)
        study.tell(trial, value)
        values.append(value)
    return SweepResult(values, latencies, cpu_times)


def optuna_value(trial: Any, name: str, spec: Mapping[str, Any]) -> Any:
    """Optuna's equivalent of the W&B distributions the benches use."""
    kind = spec["distribution"]
    if kind == "uniform":
        return trial.suggest_float(name, spec["min"], spec["max"])
    if kind == "log_uniform_values":
        return trial.suggest_float(name, spec["min"], spec["max"], log=True)
    if kind == "int_uniform":
        return trial.suggest_int(name, spec["min"], spec["max"])
    if kind == "categorical":
        return trial.suggest_categorical(name, spec["values"])
    raise ValueError(f"bench has no Optuna mapping for {kind}")


#: start-up designs a sweep can be given as its first configs
START_UPS = {
    "sobol": "sweepci's Sobol points",
    "optuna": "Optuna's random points",
    "optuna-other": "Optuna's, seeds +10000",
}
#: the "optuna-other" start-up: Optuna's drawn with other seeds, to tell a design's kind from its luck
OTHER_SEEDS = 10_000


def start_up(
    kind: str, specs: Mapping[tuple[str, ...], Mapping[str, Any]], seed: int
) -> list[dict[str, Any]]:
    """The configs one sampler starts a seed's sweep with, before any model is fitted.

    "sobol": sweepci bayes's scrambled Sobol points (its n_initial of them);
    "optuna": the 10 draws of RandomSampler(seed) that Optuna's GPSampler and
    TPE both start from; "optuna-other": the same with seed + OTHER_SEEDS.
    """
    if kind == "sobol":
        sampler = make_sampler("bayes", Space.from_specs(specs), "minimize", seed)
        trials: list[Trial] = []
        for _ in range(sampler.n_initial):  # Sobol points: the values told do not matter
            trials.append(Trial(sampler.suggest(trials), 0.0))
        return [t.config for t in trials]
    if kind not in START_UPS:
        raise ValueError(f"no start-up {kind!r} (one of {', '.join(START_UPS)})")
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    if kind == "optuna-other":
        seed += OTHER_SEEDS
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=seed))
    points = []
    for _ in range(10):
        trial = study.ask()
        points.append({".".join(p): optuna_value(trial, ".".join(p), s) for p, s in specs.items()})
        study.tell(trial, 0.0)
    return points
