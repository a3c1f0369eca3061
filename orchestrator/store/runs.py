"""Writing sweeps and runs: creation, atomic claims, heartbeats, results, recovery."""

from __future__ import annotations

import json
import math
import os
import signal
import socket
import time
from collections.abc import Callable, Sequence
from typing import Any

from orchestrator.errors import NotFoundError, UsageError
from orchestrator.search.base import Trial
from orchestrator.search.space import config_key
from orchestrator.store.db import Store
from orchestrator.store.records import (
    DONE_STATES,
    FINISHED,
    INTERRUPTED,
    RUNNING,
    RunRecord,
    SweepRecord,
    new_id,
)

#: a run whose agent on another host has not sent a heartbeat for this long is presumed dead
STALE_AFTER_S = 120.0
HOST = socket.gethostname()

Suggest = Callable[[Sequence[Trial], SweepRecord], "dict[str, Any] | None"]


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
        # the sweep added last, by insertion order: a wall clock stepped back must not hide it
        rows = store.query("SELECT * FROM sweeps ORDER BY rowid DESC LIMIT 1")
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


class _Trials(Sequence[Trial]):
    """The sweep's runs as Trials, each parsed only when a sampler looks at it.

    Random search needs only how many there are; parsing every stored config
    at each claim would make a long sweep's claims grow slower run by run.
    """

    def __init__(self, rows: Sequence[Any]):
        self._rows = rows
        self._parsed: dict[int, Trial] = {}

    def __len__(self) -> int:
        return len(self._rows)

    def _trial(self, i: int) -> Trial:
        if i not in self._parsed:
            r = self._rows[i]
            state = "pending" if r["state"] == RUNNING else r["state"]
            self._parsed[i] = Trial(json.loads(r["config_json"]), r["metric_value"], state)
        return self._parsed[i]

    def __getitem__(self, index):  # type: ignore[override]
        if isinstance(index, slice):
            return [self._trial(i) for i in range(*index.indices(len(self)))]
        if index < 0:
            index += len(self)
        if not 0 <= index < len(self):
            raise IndexError(index)
        return self._trial(index)


def _trials(rows: Sequence[Any]) -> Sequence[Trial]:
    return _Trials(rows)


def active_run_count(store: Store, sweep_id: str) -> int:
    row = store.query(
        "SELECT COUNT(*) FROM runs WHERE sweep_id = ? AND state != ?", (sweep_id, INTERRUPTED)
    )
    return int(row[0][0])


def claim_next_run(
    store: Store,
    sweep_id: str,
    agent_id: str,
    suggest: Suggest,
    *,
    max_total: int | None = None,
    run_cap: int | None = None,
    context: dict | None = None,
    tags: Sequence[str] = (),
    target_reached: Callable[[Sequence[Trial]], bool] | None = None,
) -> RunRecord | None:
    """Atomically pick the next configuration and record it as running.

    The whole read-suggest-insert happens under one write lock, so parallel
    agents on one store never receive the same grid point and never skip one.
    Returns None when the sweep is done (exhausted, capped, target reached,
    stopped).
    """
    ctx = context or {}
    with store.transaction() as conn:
        sweep = SweepRecord.from_row(
            conn.execute("SELECT * FROM sweeps WHERE id = ?", (sweep_id,)).fetchone()
        )
        if sweep.status not in ("running", "interrupted"):
            return None
        rows = conn.execute(
            "SELECT seq, config_json, state, metric_value FROM runs WHERE sweep_id = ? ORDER BY seq",
            (sweep_id,),
        ).fetchall()
        active = [r for r in rows if r["state"] != INTERRUPTED]
        trials = _trials(active)
        if run_cap is not None and len(active) >= run_cap:
            _finish_sweep(conn, sweep_id, f"run_cap {run_cap} reached")
            return None
        if max_total is not None and len(active) >= max_total:
            if not any(r["state"] == RUNNING for r in active):
                _finish_sweep(conn, sweep_id, f"{max_total} runs done")
            return None
        if target_reached is not None and target_reached(trials):
            _finish_sweep(conn, sweep_id, "metric target reached")
            return None
        config = suggest(trials, sweep)
        if config is None:
            if not any(r["state"] == RUNNING for r in active):
                _finish_sweep(conn, sweep_id, "search space exhausted")
            return None
        now = time.time()
        run = RunRecord(
            id=new_id(),
            sweep_id=sweep_id,
            seq=(rows[-1]["seq"] + 1) if rows else 0,
            config=config,
            state=RUNNING,
            tags=list(tags),
            agent_id=agent_id,
            created_at=now,
            started_at=now,
            branch=ctx.get("branch"),
            sha=ctx.get("sha"),
            env=sweep.env,
            config_key=config_key(config),
            # a reproduction sweep (sweepci reproduce) links its run to the one it reruns
            reproduces=_text_or_none(sweep.flags.get("reproduces")),
        )
        conn.execute(
            "INSERT INTO runs (id, sweep_id, seq, config_key, config_json, state, tags_json, agent_id, host, pid,"
            " heartbeat_at, created_at, started_at, branch, sha, env, reproduces)"
            " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
            (
                run.id,
                sweep_id,
                run.seq,
                run.config_key,
                json.dumps(config),
                RUNNING,
                json.dumps(run.tags),
                agent_id,
                HOST,
                os.getpid(),
                now,
                now,
                now,
                run.branch,
                run.sha,
                run.env,
                run.reproduces,
            ),
        )
        conn.execute(
            "UPDATE sweeps SET status = 'running', updated_at = ? WHERE id = ?", (now, sweep_id)
        )
    return run


def _text_or_none(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _finish_sweep(conn: Any, sweep_id: str, reason: str) -> None:
    conn.execute(
        "UPDATE sweeps SET status = 'finished', status_reason = ?, updated_at = ? WHERE id = ?",
        (reason, time.time(), sweep_id),
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
) -> None:
    """Record a run's end and its metrics in one transaction (all or nothing).

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


def _json_default(value: Any) -> Any:
    try:
        return float(value)
    except (TypeError, ValueError):
        return str(value)


def _alive(pid: int | None) -> bool:
    if not pid:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return not _zombie(pid)


def _zombie(pid: int) -> bool:
    """A dead process not yet reaped (its parent was killed and PID 1 of a container may
    never reap it): signal 0 still reaches it, but its agent is gone."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as fh:
            return fh.read().rsplit(b")", 1)[1].split()[0] == b"Z"
    except (OSError, IndexError):
        return False


def recover_stale_runs(store: Store, sweep_id: str | None = None) -> list[str]:
    """Mark runs whose agent died as interrupted (to be redone) and stop their orphans.

    Same host: the agent pid is gone. Other host: no heartbeat for STALE_AFTER_S.
    """
    now = time.time()
    recovered: list[str] = []
    with store.transaction() as conn:
        sql = "SELECT id, host, pid, pgid, heartbeat_at FROM runs WHERE state = ?"
        params: tuple = (RUNNING,)
        if sweep_id:
            sql += " AND sweep_id = ?"
            params += (sweep_id,)
        for r in conn.execute(sql, params).fetchall():
            if r["host"] == HOST:
                dead = not _alive(r["pid"]) or r["pid"] == os.getpid()
            else:
                dead = r["heartbeat_at"] is None or now - r["heartbeat_at"] > STALE_AFTER_S
            if not dead:
                continue
            if r["host"] == HOST and r["pgid"]:
                try:
                    os.killpg(r["pgid"], signal.SIGKILL)
                except (ProcessLookupError, PermissionError):
                    pass
            conn.execute(
                "UPDATE runs SET state = ?, reason = ?, ended_at = ? WHERE id = ?",
                (
                    INTERRUPTED,
                    "agent stopped before the run ended; it will be redone on resume",
                    now,
                    r["id"],
                ),
            )
            recovered.append(r["id"])
    return recovered


def done_states() -> tuple[str, ...]:
    return DONE_STATES


__all__ = [
    "FINISHED",
    "claim_next_run",
    "create_sweep",
    "finish_run",
    "get_sweep",
    "heartbeat",
    "mark_started",
    "recover_stale_runs",
    "set_sweep_status",
]
