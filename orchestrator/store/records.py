"""Plain records read from the store."""

from __future__ import annotations

import dataclasses
import json
import secrets
import sqlite3
import string
from dataclasses import dataclass, field
from typing import Any, TypeVar

RUNNING, FINISHED, FAILED, KILLED, CRASHED, INTERRUPTED = (
    "running",
    "finished",
    "failed",
    "killed",
    "crashed",
    "interrupted",
)
#: states that end a run for good (interrupted runs are redone on resume)
DONE_STATES = (FINISHED, FAILED, KILLED, CRASHED)

T = TypeVar("T")

_ALPHABET = string.ascii_lowercase + string.digits


def from_row(cls: type[T], row: sqlite3.Row, **json_columns: str) -> T:
    """A record from a row: each field from the column of its name, or, for a field
    named in `json_columns`, parsed from that JSON column."""
    data = dict(row)
    values = {}
    for f in dataclasses.fields(cls):  # type: ignore[arg-type]
        if f.name in json_columns:
            values[f.name] = json.loads(data[json_columns[f.name]])
        elif f.name in data:
            values[f.name] = data[f.name]
    return cls(**values)


def new_id(length: int = 8) -> str:
    """A W&B-style id: 8 lowercase letters and digits."""
    return "".join(secrets.choice(_ALPHABET) for _ in range(length))


@dataclass
class SweepRecord:
    id: str
    name: str | None
    project: str
    env: str | None
    backend: str
    method: str
    metric_name: str | None
    metric_goal: str | None
    config: dict[str, Any]
    sweep_file: str | None
    seed: int
    shard_index: int
    shard_count: int
    status: str
    status_reason: str | None
    context: dict[str, Any]
    flags: dict[str, Any]
    remote_path: str | None
    created_at: float
    updated_at: float

    @property
    def maximize(self) -> bool:
        return self.metric_goal == "maximize"

    @classmethod
    def from_row(cls, row: sqlite3.Row) -> SweepRecord:
        return from_row(cls, row, config="config_json", context="context_json", flags="flags_json")

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "project": self.project,
            "env": self.env,
            "backend": self.backend,
            "method": self.method,
            "metric": {"name": self.metric_name, "goal": self.metric_goal},
            "status": self.status,
            "status_reason": self.status_reason,
            "sweep_file": self.sweep_file,
            "seed": self.seed,
            "shard": {"index": self.shard_index, "count": self.shard_count},
            "context": self.context,
            "flags": self.flags,
            "remote_path": self.remote_path,
            "created_at": self.created_at,
            "updated_at": self.updated_at,
        }


@dataclass
class RunRecord:
    id: str
    sweep_id: str
    seq: int
    config: dict[str, Any]
    state: str
    reason: str | None = None
    exit_code: int | None = None
    stderr_tail: str | None = None
    tags: list[str] = field(default_factory=list)
    agent_id: str | None = None
    created_at: float = 0.0
    started_at: float | None = None
    ended_at: float | None = None
    metric_value: float | None = None
    summary: dict[str, Any] = field(default_factory=dict)
    branch: str | None = None
    sha: str | None = None
    env: str | None = None
    run_dir: str | None = None
    config_key: str = ""
    reproduces: str | None = None  # the id of the run this one reran (sweepci reproduce)
    devices: str | None = None  # CUDA_VISIBLE_DEVICES of the run under --gpus

    @property
    def duration(self) -> float | None:
        if self.started_at is None or self.ended_at is None:
            return None
        return self.ended_at - self.started_at

    @classmethod
    def from_row(cls, row: sqlite3.Row) -> RunRecord:
        return from_row(cls, row, config="config_json", tags="tags_json", summary="summary_json")

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "sweep_id": self.sweep_id,
            "seq": self.seq,
            "state": self.state,
            "reason": self.reason,
            "exit_code": self.exit_code,
            "config": self.config,
            "metric_value": self.metric_value,
            "summary": self.summary,
            "tags": self.tags,
            "branch": self.branch,
            "sha": self.sha,
            "env": self.env,
            "devices": self.devices,
            "created_at": self.created_at,
            "started_at": self.started_at,
            "ended_at": self.ended_at,
            "duration": self.duration,
            "stderr_tail": self.stderr_tail,
            "reproduces": self.reproduces,
        }
