"""What the sweep workflow's `plan` and `create` jobs decide, before any run starts.

Workflow inputs arrive as untrusted strings (empty on a push, where
sweepci.yaml gives the defaults). They are checked here, in Python, and reach
later jobs only as validated job outputs; nothing is ever evaluated by a shell.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from orchestrator.config.project import BACKENDS, ProjectConfig
from orchestrator.errors import NotFoundError, UsageError
from orchestrator.github.render import DEFAULT_COUNT

MAX_COUNT = 10_000
MAX_AGENTS = 256  # GitHub runs at most 256 jobs per matrix
_DATASET = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")


@dataclass
class AgentSlot:
    """One matrix job: agent `index` of `of`, doing `count` runs."""

    index: int
    of: int
    count: int

    def to_json(self) -> dict:
        return {"index": self.index, "shard": f"{self.index}/{self.of}", "count": self.count}


@dataclass
class WorkflowPlan:
    sweep_file: str
    dataset: str  # "" keeps the sweep file's own value
    count: int
    backend: str  # as requested: auto, local or wandb
    agents: list[AgentSlot] = field(default_factory=list)
    local_sweep_id: str = ""

    def outputs(self) -> dict[str, str]:
        """The `plan` job's step outputs."""
        return {
            "sweep-file": self.sweep_file,
            "dataset": self.dataset,
            "count": str(self.count),
            "backend": self.backend,
            "matrix": json.dumps([a.to_json() for a in self.agents], separators=(",", ":")),
            "local-sweep-id": self.local_sweep_id,
        }


def whole_number(name: str, text: str, default: int, low: int, high: int) -> int:
    """A workflow number input ("" means the default); GitHub sends numbers as strings."""
    text = text.strip()
    if not text:
        return default
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not value.is_integer() or not low <= value <= high:
        raise UsageError(f"input {name} must be a whole number from {low} to {high}, not {text!r}")
    return int(value)


def agent_slots(count: int, agents: int) -> list[AgentSlot]:
    """`count` runs shared among at most `agents` agents; nobody gets zero runs."""
    width = min(count, agents)
    return [
        AgentSlot(i + 1, width, count // width + (1 if i < count % width else 0))
        for i in range(width)
    ]


def repository_file(text: str, root: Path) -> str:
    """`text` as a path to a file inside the repository at `root`, or a clear error."""
    if not text or "\x00" in text:
        raise UsageError("input sweep_file is empty")
    path = Path(text)
    if path.is_absolute():
        raise UsageError(f"input sweep_file {text!r} must be relative to the repository root")
    resolved = (root / path).resolve()
    if not resolved.is_relative_to(root.resolve()):
        raise UsageError(f"input sweep_file {text!r} points outside the repository")
    if not resolved.is_file():
        raise NotFoundError(f"input sweep_file {text!r}: no such file in the repository")
    return path.as_posix()


def local_sweep_id(env: Mapping[str, str]) -> str:
    """One id for every shard of this workflow run, so the report job merges them into one sweep."""
    run_id, attempt = env.get("GITHUB_RUN_ID", ""), env.get("GITHUB_RUN_ATTEMPT", "1")
    if run_id.isdigit() and attempt.isdigit():
        return f"gh-{run_id}-{attempt}"
    return ""  # outside Actions: each shard names its own sweep


def plan_workflow(
    project: ProjectConfig,
    root: Path,
    *,
    count: str = "",
    agents: str = "",
    dataset: str = "",
    sweep_file: str = "",
    backend: str = "",
    env: Mapping[str, str] | None = None,
    warn: Callable[[str], None] = lambda _: None,
) -> WorkflowPlan:
    """Check the workflow inputs against sweepci.yaml and the sweep file; split the runs.

    The sweep file is loaded with the dataset pinned, exactly as the agents
    will load it, so a bad file or dataset fails here, before any job starts.
    """
    from orchestrator.agent.plan import load_sweep_with_warnings

    env = os.environ if env is None else env
    n_runs = whole_number("count", count, DEFAULT_COUNT, 1, MAX_COUNT)
    n_agents = whole_number("agents", agents, project.agents, 1, MAX_AGENTS)
    backend = backend.strip() or project.backend
    if backend not in BACKENDS:
        raise UsageError(f"input backend must be one of {', '.join(BACKENDS)}, not {backend!r}")
    dataset = dataset.strip()
    if dataset and not _DATASET.fullmatch(dataset):
        raise UsageError(f"input dataset {dataset!r}: use letters, digits, '.', '_' or '-'")
    file = repository_file(sweep_file.strip() or project.sweep_file, root)
    if dataset:
        check_dataset(dataset, project, root / file, file)
    load_sweep_with_warnings(
        os.path.relpath(root / file), [f"dataset={dataset}"] if dataset else [], False, warn
    )
    return WorkflowPlan(
        file, dataset, n_runs, backend, agent_slots(n_runs, n_agents), local_sweep_id(env)
    )


def check_dataset(dataset: str, project: ProjectConfig, sweep_path: Path, shown: str) -> None:
    """Refuse a dataset the sweep cannot take: not among the workflow's choices, or no such parameter."""
    from orchestrator.github.inputs import sweep_datasets

    own = sweep_datasets(sweep_path)
    has_parameter = bool(own) or _has_dataset_parameter(sweep_path)
    if not has_parameter:
        raise UsageError(
            f"input dataset {dataset!r}: {shown} has no `dataset` parameter to pin; leave it empty"
        )
    choices = project.datasets if project.datasets is not None else own
    if dataset not in choices:
        source = "`datasets` of sweepci.yaml" if project.datasets is not None else shown
        raise UsageError(
            f"input dataset {dataset!r} is not one of {', '.join(choices) or '(none)'} ({source})"
        )


def _has_dataset_parameter(sweep_path: Path) -> bool:
    from orchestrator.config.sweep import load_sweep

    config, _ = load_sweep(sweep_path)
    return ("dataset",) in config.flat_parameters()


def resolve_backend(requested: str, env: Mapping[str, str] | None = None) -> tuple[str, str]:
    """(backend, why) for the agents; `wandb` without a key is refused here, once."""
    from orchestrator.backends.base import choose_backend

    env = os.environ if env is None else env
    chosen, why = choose_backend(requested.strip() or "auto", env)
    from orchestrator.backends.wandb_key import find_key

    if chosen == "wandb" and find_key(env)[0] is None:
        raise UsageError(
            "backend wandb needs WANDB_API_KEY: add it as a secret of this GitHub environment "
            "(Settings > Environments), or run with backend local"
        )
    return chosen, why
