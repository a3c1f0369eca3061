"""The interface both backends implement, and the choice between them."""

from __future__ import annotations

import abc
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from orchestrator.agent.options import AgentOptions, AgentResult, RunContext
from orchestrator.config.sweep import SweepConfig
from orchestrator.errors import UsageError

BACKENDS = ("auto", "local", "wandb")


@dataclass
class SweepHandle:
    """A created sweep: its id and where it lives (store path or entity/project)."""

    backend: str
    id: str
    project: str
    entity: str | None = None
    url: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def path(self) -> str:
        if self.backend == "wandb":
            return f"{self.entity}/{self.project}/{self.id}"
        return self.id


@dataclass
class RunView:
    """A run as any backend reports it."""

    id: str
    state: str
    config: dict[str, Any]
    summary: dict[str, Any]
    tags: list[str]
    metric_value: float | None = None
    #: the CI context the run carries (in the store; on W&B in its notes), never in `config`
    ci: dict[str, Any] = field(default_factory=dict)


class Backend(abc.ABC):
    """Create a sweep, run an agent for N runs, list runs with metrics, find the best."""

    name: str

    @abc.abstractmethod
    def create(
        self,
        config: SweepConfig,
        context: RunContext,
        *,
        seed: int = 0,
        shard: tuple[int, int] = (0, 1),
        sweep_file: str | None = None,
        flags: dict[str, Any] | None = None,
        sweep_id: str | None = None,
    ) -> SweepHandle: ...

    @abc.abstractmethod
    def run_agent(
        self, handle: SweepHandle, context: RunContext, options: AgentOptions, quiet: bool = False
    ) -> AgentResult: ...

    @abc.abstractmethod
    def list_runs(self, handle: SweepHandle) -> list[RunView]: ...

    def best_run(self, handle: SweepHandle, metric: str, maximize: bool) -> RunView | None:
        candidates = [
            r
            for r in self.list_runs(handle)
            if r.state == "finished" and r.metric_value is not None
        ]
        if not candidates:
            return None
        return (max if maximize else min)(candidates, key=lambda r: r.metric_value)


def choose_backend(requested: str, env: Mapping[str, str] | None = None) -> tuple[str, str]:
    """(backend, why). `auto` picks wandb when there is a W&B key (WANDB_API_KEY, or the one
    `wandb login` saved in ~/.netrc), else local."""
    env = os.environ if env is None else env
    if requested not in BACKENDS:
        raise UsageError(f"--backend must be one of {', '.join(BACKENDS)}, not {requested!r}")
    if requested != "auto":
        return requested, f"--backend {requested}"
    from orchestrator.backends.wandb_key import find_key

    key, source = find_key(env)
    if key:
        return "wandb", f"auto: {source} is set" if source == "WANDB_API_KEY" else f"auto: {source}"
    return "local", "auto: WANDB_API_KEY is not set and `wandb login` saved no key"
