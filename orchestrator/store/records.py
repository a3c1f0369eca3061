"""Plain records read from the store."""

from __future__ import annotations

import json
import secrets
import sqlite3
import string
from dataclasses import dataclass, field
from typing import Any

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

_ALPHABET = string.ascii_lowercase + string.digits


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
        d = dict(row)
        return cls(
            id=d["id"],
            name=d["name"],
            project=d["project"],
            env=d["env"],
            backend=d["backend"],
            method=d["method"],
            metric_name=d["metric_name"],
            metric_goal=d["metric_goal"],
            config=json.loads(d["config_json"]),
            sweep_file=d["sweep_file"],
            seed=d["seed"],
            shard_index=d["shard_index"],
            shard_count=d["shard_count"],
            status=d["status"],
            status_reason=d["status_reason"],
            context=json.loads(d["context_json"]),
            flags=json.loads(d["flags_json"]),
            remote_path=d["remote_path"],
            created_at=d["created_at"],
            updated_at=d["updated_at"],
        )

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

    @property
    def duration(self) -> float | None:
        if self.started_at is None or self.ended_at is None:
            return None
        return self.ended_at - self.started_at

    @classmethod
    def from_row(cls, row: sqlite3.Row) -> RunRecord:
        d = dict(row)
        return cls(
            id=d["id"],
            sweep_id=d["sweep_id"],
            seq=d["seq"],
            config=json.loads(d["config_json"]),
            state=d["state"],
            reason=d["reason"],
            exit_code=d["exit_code"],
            stderr_tail=d["stderr_tail"],
            tags=json.loads(d["tags_json"]),
            agent_id=d["agent_id"],
            created_at=d["created_at"],
            started_at=d["started_at"],
            ended_at=d["ended_at"],
            metric_value=d["metric_value"],
            summary=json.loads(d["summary_json"]),
            branch=d["branch"],
            sha=d["sha"],
            env=d["env"],
            run_dir=d["run_dir"],
            config_key=d["config_key"],
        )

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
            "created_at": self.created_at,
            "started_at": self.started_at,
            "ended_at": self.ended_at,
            "duration": self.duration,
            "stderr_tail": self.stderr_tail,
        }
