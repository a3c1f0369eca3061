"""The samplers the Bayesian-search bench measures sweepci against, behind one ask/tell shape.

Not part of the package; imported by the bench scripts next to it. Each
peer is a bench-only dependency (pyproject's `bench` extra) and is imported
only when asked for; `missing(name)` says why a peer cannot run here.
All model work a peer does for a suggestion happens inside `ask` (for
scikit-optimize that means the `tell` of the previous result, which is
where it refits), so timing `ask` times one suggestion.
"""

from __future__ import annotations

import importlib.util
import math
import os
import tempfile
from collections.abc import Mapping
from typing import Any

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

from sweeploop import optuna_value  # noqa: E402

from orchestrator.search import Space, Trial, make_sampler  # noqa: E402

Specs = Mapping[tuple[str, ...], Mapping[str, Any]]

#: peer name -> (modules it needs, what it is)
PEERS: dict[str, tuple[tuple[str, ...], str]] = {
    "sweepci": ((), "sweepci bayes"),
    "tpe": (("optuna",), "Optuna TPE (independent)"),
    "tpe-mv": (("optuna",), "Optuna TPE (multivariate)"),
    "optuna-gp": (("optuna", "torch"), "Optuna GPSampler"),
    "botorch": (("botorch", "torch"), "BoTorch SingleTaskGP + LogEI"),
    "skopt": (("skopt",), "scikit-optimize gp_minimize"),
    "smac": (("smac", "ConfigSpace"), "SMAC3 blackbox facade"),
    "random": ((), "random search"),
}


def missing(name: str) -> str | None:
    """Why the peer cannot run here (a module not installed), or None."""
    absent = [m for m in PEERS[name][0] if importlib.util.find_spec(m) is None]
    if absent:
        return f"skipped {name} ({PEERS[name][1]}): {', '.join(absent)} not installed (pip install '.[bench]')"
    return None


def single_thread_torch() -> None:
    """One torch thread: the bench runs sweeps in parallel processes on a shared machine."""
    import torch

    torch.set_num_threads(1)


def make_peer(name: str, specs: Specs, seed: int, n: int) -> Any:
    """An object with ask() -> flat config and tell(config, value) for a minimisation."""
    return {
        "sweepci": lambda: SweepciPeer("bayes", specs, seed),
        "random": lambda: SweepciPeer("random", specs, seed),
        "tpe": lambda: OptunaPeer("tpe", specs, seed),
        "tpe-mv": lambda: OptunaPeer("tpe-mv", specs, seed),
        "optuna-gp": lambda: OptunaPeer("gp", specs, seed),
        "botorch": lambda: BotorchPeer(specs, seed),
        "skopt": lambda: SkoptPeer(specs, seed),
        "smac": lambda: SmacPeer(specs, seed, n),
    }[name]()


class SweepciPeer:
    def __init__(self, method: str, specs: Specs, seed: int):
        self.sampler = make_sampler(method, Space.from_specs(specs), "minimize", seed)
        self.trials: list[Trial] = []
        self.first: list[dict[str, Any]] = []

    def start_with(self, configs: list[dict[str, Any]]) -> None:
        """Suggest these configs first, before the sampler's own."""
        self.first = list(configs)

    def ask(self) -> dict[str, Any]:
        done = len(self.trials)
        return self.first[done] if done < len(self.first) else self.sampler.suggest(self.trials)

    def tell(self, config: dict[str, Any], value: float) -> None:
        self.trials.append(Trial(config, value))


class OptunaPeer:
    def __init__(self, kind: str, specs: Specs, seed: int):
        import optuna

        optuna.logging.set_verbosity(optuna.logging.WARNING)
        if kind == "gp":
            single_thread_torch()
            sampler = optuna.samplers.GPSampler(seed=seed)
        else:
            sampler = optuna.samplers.TPESampler(seed=seed, multivariate=kind == "tpe-mv")
        self.study = optuna.create_study(sampler=sampler)
        self.specs = specs
        self.trial: Any = None

    def start_with(self, configs: list[dict[str, Any]]) -> None:
        """Suggest these configs first (Optuna's enqueued trials), before the sampler's own."""
        for config in configs:
            self.study.enqueue_trial(config)

    def ask(self) -> dict[str, Any]:
        self.trial = self.study.ask()
        return {
            ".".join(p): optuna_value(self.trial, ".".join(p), s) for p, s in self.specs.items()
        }

    def tell(self, config: dict[str, Any], value: float) -> None:
        self.study.tell(self.trial, value)


class SkoptPeer:
    """scikit-optimize with gp_minimize's own settings, driven through its Optimizer."""

    def __init__(self, specs: Specs, seed: int):
        import numpy as np
        from skopt import Optimizer
        from skopt.space import Categorical, Integer, Real
        from skopt.utils import cook_estimator

        dims = []
        for path, s in specs.items():
            kind, name = s["distribution"], ".".join(path)
            if kind == "uniform":
                dims.append(Real(s["min"], s["max"], name=name))
            elif kind == "log_uniform_values":
                dims.append(Real(s["min"], s["max"], prior="log-uniform", name=name))
            elif kind == "int_uniform":
                dims.append(Integer(s["min"], s["max"], name=name))
            else:
                dims.append(Categorical(s["values"], name=name))
        self.names = [d.name for d in dims]
        rng = np.random.RandomState(seed)
        # what gp_minimize(func, dims, random_state=seed) builds
        from skopt.space import Space as SkSpace

        estimator = cook_estimator(
            "GP", space=SkSpace(dims), random_state=rng.randint(0, np.iinfo(np.int32).max),
            noise="gaussian",
        )  # fmt: skip
        self.opt = Optimizer(
            dims, estimator, n_initial_points=10, initial_point_generator="random",
            acq_func="gp_hedge", acq_optimizer="lbfgs", random_state=rng,
            acq_optimizer_kwargs={"n_points": 10000, "n_restarts_optimizer": 5, "n_jobs": 1},
            acq_func_kwargs={"xi": 0.01, "kappa": 1.96},
        )  # fmt: skip
        self.told: tuple[list, float] | None = None

    def ask(self) -> dict[str, Any]:
        if self.told is not None:
            self.opt.tell(*self.told)  # refits the GP and picks the next point
            self.told = None
        x = self.opt.ask()
        return {n: _plain(v) for n, v in zip(self.names, x)}

    def tell(self, config: dict[str, Any], value: float) -> None:
        self.told = ([config[n] for n in self.names], float(value))


def _plain(v: Any) -> Any:
    """numpy scalars as Python ones (the objectives index dicts by category)."""
    return v.item() if hasattr(v, "item") else v


class SmacPeer:
    """SMAC3's blackbox facade (a GP), deterministic objective, ask/tell."""

    def __init__(self, specs: Specs, seed: int, n: int):
        from ConfigSpace import Categorical, ConfigurationSpace, Float, Integer
        from smac import BlackBoxFacade, Scenario

        space = ConfigurationSpace(seed=seed)
        for path, s in specs.items():
            kind, name = s["distribution"], ".".join(path)
            if kind == "uniform":
                space.add(Float(name, (s["min"], s["max"])))
            elif kind == "log_uniform_values":
                space.add(Float(name, (s["min"], s["max"]), log=True))
            elif kind == "int_uniform":
                space.add(Integer(name, (s["min"], s["max"])))
            else:
                space.add(Categorical(name, s["values"]))
        self.tmp = tempfile.TemporaryDirectory(prefix="bench-smac-")
        scenario = Scenario(
            space, deterministic=True, n_trials=n, seed=seed, output_directory=self.tmp.name
        )
        self.smac = BlackBoxFacade(
            scenario, target_function=_never_called, overwrite=True, logging_level=40
        )
        self.info: Any = None

    def ask(self) -> dict[str, Any]:
        self.info = self.smac.ask()
        return {k: _plain(v) for k, v in dict(self.info.config).items()}

    def tell(self, config: dict[str, Any], value: float) -> None:
        from smac.runhistory.dataclasses import TrialValue

        self.smac.tell(self.info, TrialValue(cost=float(value)), save=False)


def _never_called(config: Any, seed: int = 0) -> float:  # pragma: no cover - ask/tell only
    raise RuntimeError("the bench drives SMAC through ask/tell")


class BotorchPeer:
    """BoTorch's textbook loop: Sobol start, SingleTaskGP (its default priors), LogEI.

    Inputs are the unit cube: numeric parameters by their range (log ones in
    log space, integers over [min - 0.5, max + 0.5] and rounded), a
    categorical parameter as a one-hot block decoded by its largest entry.
    The GP is fitted on the encoding of the rounded point that was evaluated.
    """

    def __init__(self, specs: Specs, seed: int):
        import torch

        single_thread_torch()
        self.torch = torch
        self.specs = list(specs.items())
        self.width = [
            len(s["values"]) if s["distribution"] == "categorical" else 1 for _, s in self.specs
        ]
        self.dims = sum(self.width)
        self.seed = seed
        self.n_init = max(5, min(10, 2 * len(self.specs)))
        self.x: list[list[float]] = []
        self.y: list[float] = []

    def _decode(self, u: list[float]) -> dict[str, Any]:
        config, at = {}, 0
        for (path, s), w in zip(self.specs, self.width):
            part, at = u[at : at + w], at + w
            config[".".join(path)] = _from_unit(s, part)
        return config

    def _encode(self, config: dict[str, Any]) -> list[float]:
        out: list[float] = []
        for path, s in self.specs:
            out.extend(_to_unit(s, config[".".join(path)]))
        return out

    def ask(self) -> dict[str, Any]:
        torch = self.torch
        from botorch.acquisition import LogExpectedImprovement
        from botorch.fit import fit_gpytorch_mll
        from botorch.models import SingleTaskGP
        from botorch.models.transforms import Standardize
        from botorch.optim import optimize_acqf
        from gpytorch.mlls import ExactMarginalLogLikelihood
        from torch.quasirandom import SobolEngine

        if len(self.y) < self.n_init:
            sobol = SobolEngine(self.dims, scramble=True, seed=self.seed)
            u = sobol.draw(self.n_init, dtype=torch.double)[len(self.y)]
            return self._decode(u.tolist())
        torch.manual_seed(self.seed * 1000 + len(self.y))
        x = torch.tensor(self.x, dtype=torch.double)
        y = -torch.tensor(self.y, dtype=torch.double).unsqueeze(-1)  # BoTorch maximises
        model = SingleTaskGP(x, y, outcome_transform=Standardize(m=1))
        fit_gpytorch_mll(ExactMarginalLogLikelihood(model.likelihood, model))
        acq = LogExpectedImprovement(model, best_f=model.posterior(x).mean.max())
        bounds = torch.stack([torch.zeros(self.dims), torch.ones(self.dims)]).double()
        candidate, _ = optimize_acqf(acq, bounds=bounds, q=1, num_restarts=10, raw_samples=512)
        return self._decode(candidate[0].tolist())

    def tell(self, config: dict[str, Any], value: float) -> None:
        self.x.append(self._encode(config))
        self.y.append(float(value))


def _from_unit(s: Mapping[str, Any], u: list[float]) -> Any:
    kind = s["distribution"]
    if kind == "categorical":
        return s["values"][max(range(len(u)), key=lambda i: u[i])]
    v = min(max(u[0], 0.0), 1.0)
    if kind == "uniform":
        return s["min"] + v * (s["max"] - s["min"])
    if kind == "log_uniform_values":
        lo, hi = math.log(s["min"]), math.log(s["max"])
        return math.exp(lo + v * (hi - lo))
    if kind == "int_uniform":
        return min(s["max"], s["min"] + int(v * (s["max"] - s["min"] + 1)))
    raise ValueError(kind)


def _to_unit(s: Mapping[str, Any], value: Any) -> list[float]:
    kind = s["distribution"]
    if kind == "categorical":
        return [1.0 if v == value else 0.0 for v in s["values"]]
    if kind == "uniform":
        return [(value - s["min"]) / (s["max"] - s["min"])]
    if kind == "log_uniform_values":
        lo, hi = math.log(s["min"]), math.log(s["max"])
        return [(math.log(value) - lo) / (hi - lo)]
    if kind == "int_uniform":
        return [(value - s["min"] + 0.5) / (s["max"] - s["min"] + 1)]
    raise ValueError(kind)
