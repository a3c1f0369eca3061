"""Light records shared by the agent, backends and CLI (no heavy imports)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from orchestrator.store.records import RunRecord
from orchestrator.trials.trace import MetricTrace


@dataclass
class AgentOptions:
    count: int | None = None  # runs this agent starts at most
    max_total: int | None = None  # runs the sweep may hold in all (shared by --parallel agents)
    run_timeout: float | None = None
    time_budget: float | None = None
    max_failures: int = 3  # consecutive failures before giving up
    echo: bool = False  # stream the program's output
    workdir: Path = field(default_factory=Path.cwd)
    devices: tuple[str, ...] | None = None  # this agent's GPU slot (CUDA_VISIBLE_DEVICES)


@dataclass
class RunContext:
    """Where the runs go and what they carry (from the CI context and routing)."""

    project: str
    entity: str | None = None
    env: str | None = None
    tags: list[str] = field(default_factory=list)
    ci: dict[str, Any] = field(default_factory=dict)


@dataclass
class AgentResult:
    started: int = 0
    finished: int = 0
    failed: int = 0
    killed: int = 0
    interrupted: bool = False
    last_failure: RunRecord | None = None
    stop_reason: str | None = None


class EarlyStop:
    """What the agent asks while a run goes: a reason to stop it now, or None."""

    #: the iterations whose values the rule reads (trials/trace.py)
    bands: frozenset[int] = frozenset()

    def __call__(self, run: RunRecord, trace: MetricTrace) -> str | None:
        raise NotImplementedError
