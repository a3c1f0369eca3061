"""Writing sweeps and runs: creation, status, start, heartbeats, results.

Claims of the next configuration are in claims.py, recovery of runs whose
agent died in recovery.py.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Sequence
from typing import Any

from orchestrator.errors import NotFoundError, UsageError
from orchestrator.store.db import Store
from orchestrator.store.records import (
    DONE_STATES,
    FINISHED,
    SweepRecord,
    new_id,
)
from orchestrator.trials.trace import MetricTrace


def create_sweep(
    store: Store,
    *,
    project: str,
    method: str,
    config: dict[str, Any],
    metric_name: str | None,
    metric_goal: str | None,
    name: str | None = None,
    env: str | None = None,
    backend: str = "local",
    sweep_file: str | None = None,
    seed: int = 0,
    shard_index: int = 0,
    shard_count: int = 1,
    context: dict | None = None,
    flags: dict | None = None,
    sweep_id: str | None = None,
    remote_path: str | None = None,
) -> SweepRecord:
    """Record a new sweep and return it."""
    now = time.time()
    sid = sweep_id or new_id()
    with store.transaction() as conn:
        if conn.execute("SELECT 1 FROM sweeps WHERE id = ?", (sid,)).fetchone():
            raise UsageError(
                f"sweep '{sid}' already exists in {store.path}; resume it with sweepci run --resume {sid}"
            )
        conn.execute(
            "INSERT INTO sweeps (id, name, project, env, backend, method, metric_name, metric_goal, config_json,"
            " sweep_file, seed, shard_index, shard_count, status, context_json, flags_json, remote_path,"
            " created_at, updated_at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,'running',?,?,?,?,?)",
            (
                sid,
                name,
                project,
                env,
                backend,
                method,
                metric_name,
                metric_goal,
                json.dumps(config),
                sweep_file,
                seed,
                shard_index,
                shard_count,
                json.dumps(context or {}),
                json.dumps(flags or {}),
                remote_path,
                now,
                now,
            ),
        )
    return get_sweep(store, sid)


def get_sweep(store: Store, sweep_id: str) -> SweepRecord:
    """A sweep by id or unique id prefix (the latest sweep with 'latest')."""
    if sweep_id == "latest":
        # the sweep added last, by insertion order: a wall clock stepped back must not hide it;
        # a `reproduce` rerun is a one-run sweep of its own and is not what "latest" means
        rows = store.query(
            "SELECT * FROM sweeps WHERE flags_json NOT LIKE '%\"reproduces\"%' ORDER BY rowid DESC LIMIT 1"
        ) or store.query("SELECT * FROM sweeps ORDER BY rowid DESC LIMIT 1")
    else:
        rows = store.query("SELECT * FROM sweeps WHERE id = ?", (sweep_id,))
        if not rows:
            rows = store.query(
                "SELECT * FROM sweeps WHERE id LIKE ? ORDER BY created_at LIMIT 2",
                (sweep_id + "%",),
            )
            if len(rows) > 1:
                raise NotFoundError(
                    f"sweep id prefix '{sweep_id}' is ambiguous; give more characters"
                )
    if not rows:
        raise NotFoundError(f"no sweep '{sweep_id}' in {store.path} (see `sweepci sweeps`)")
    return SweepRecord.from_row(rows[0])


def set_sweep_status(store: Store, sweep_id: str, status: str, reason: str | None = None) -> None:
    with store.transaction() as conn:
        conn.execute(
            "UPDATE sweeps SET status = ?, status_reason = ?, updated_at = ? WHERE id = ?",
            (status, reason, time.time(), sweep_id),
        )


def mark_started(store: Store, run_id: str, pgid: int | None, run_dir: str) -> None:
    with store.transaction() as conn:
        conn.execute(
            "UPDATE runs SET pgid = ?, run_dir = ?, heartbeat_at = ? WHERE id = ?",
            (pgid, run_dir, time.time(), run_id),
        )


def heartbeat(store: Store, run_id: str) -> None:
    with store.transaction() as conn:
        conn.execute("UPDATE runs SET heartbeat_at = ? WHERE id = ?", (time.time(), run_id))


def finish_run(
    store: Store,
    run_id: str,
    *,
    state: str,
    exit_code: int | None,
    reason: str | None,
    stderr_tail: str | None,
    summary: dict[str, Any],
    metric_value: float | None,
    history: Sequence[dict[str, Any]] = (),
    duration: float | None = None,
    trace: tuple[str, MetricTrace] | None = None,
) -> None:
    """Record a run's end and its metrics in one transaction (all or nothing).

    `trace` is (metric name, the run's final trace): what the search reads of it
    (store/traces.py), written in the same transaction.

    With `duration` (measured on the monotonic clock) the end is start + duration, so a
    wall clock stepped back or forward during the run (NTP) gives no negative or
    inflated durations."""
    if metric_value is not None and not math.isfinite(metric_value):
        metric_value = None
    with store.transaction() as conn:
        ended_at = time.time()
        if duration is not None:
            row = conn.execute("SELECT started_at FROM runs WHERE id = ?", (run_id,)).fetchone()
            if row is not None and row["started_at"] is not None:
                ended_at = row["started_at"] + max(0.0, duration)
        conn.execute(
            "UPDATE runs SET state = ?, exit_code = ?, reason = ?, stderr_tail = ?, summary_json = ?,"
            " metric_value = ?, ended_at = ?, heartbeat_at = NULL WHERE id = ?",
            (
                state,
                exit_code,
                reason,
                stderr_tail,
                json.dumps(summary, default=_json_default),
                metric_value,
                ended_at,
                run_id,
            ),
        )
        conn.executemany(
            "INSERT OR REPLACE INTO history (run_id, step, data_json) VALUES (?,?,?)",
            [
                (run_id, int(row.get("_step", i)), json.dumps(row, default=_json_default))
                for i, row in enumerate(history)
            ],
        )
        if trace is not None:
            conn.execute(
                "INSERT OR REPLACE INTO run_traces (run_id, metric, trace_json, updated_at) "
                "VALUES (?, ?, ?, ?)",
                (run_id, trace[0], trace[1].to_json(), time.time()),
            )


def _json_default(value: Any) -> Any:
    try:
        return float(value)
    except (TypeError, ValueError):
        return str(value)


def done_states() -> tuple[str, ...]:
    return DONE_STATES


__all__ = [
    "FINISHED",
    "create_sweep",
    "finish_run",
    "get_sweep",
    "heartbeat",
    "mark_started",
    "set_sweep_status",
]
