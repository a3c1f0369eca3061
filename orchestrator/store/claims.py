"""Claiming the next configuration of a sweep: read, suggest and insert under one write lock."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Sequence
from typing import Any

from orchestrator.store.db import Store
from orchestrator.store.records import INTERRUPTED, RUNNING, RunRecord, SweepRecord, new_id
from orchestrator.store.recovery import HOST
from orchestrator.trials.metric_value import MetricRule, search_values
from orchestrator.trials.trace import MetricTrace
from orchestrator.trials.trial import Trial, config_key

Suggest = Callable[[Sequence[Trial], SweepRecord], "dict[str, Any] | None"]


class _Trials(Sequence[Trial]):
    """The sweep's runs as Trials, each parsed only when a sampler looks at it.

    Random search needs only how many there are; parsing every stored config
    at each claim would make a long sweep's claims grow slower run by run.
    """

    def __init__(self, rows: Sequence[Any], values: Sequence[float | None] | None = None):
        self._rows = rows
        self._values = values
        self._parsed: dict[int, Trial] = {}

    def __len__(self) -> int:
        return len(self._rows)

    def _trial(self, i: int) -> Trial:
        if i not in self._parsed:
            r = self._rows[i]
            if self._values is None:
                state = "pending" if r["state"] == RUNNING else r["state"]
                value = r["metric_value"]
            else:
                # a running run with a value (metric.impute_while_running) is observed
                value = self._values[i]
                state = "pending" if r["state"] == RUNNING and value is None else r["state"]
            self._parsed[i] = Trial(json.loads(r["config_json"]), value, state)
        return self._parsed[i]

    def __getitem__(self, index):  # type: ignore[override]
        if isinstance(index, slice):
            return [self._trial(i) for i in range(*index.indices(len(self)))]
        if index < 0:
            index += len(self)
        if not 0 <= index < len(self):
            raise IndexError(index)
        return self._trial(index)


def _trials(
    conn: Any, sweep_id: str, rows: Sequence[Any], rule: MetricRule | None
) -> Sequence[Trial]:
    if rule is None:
        return _Trials(rows)
    traces = {
        r["run_id"]: MetricTrace.from_json(r["trace_json"])
        for r in conn.execute(
            "SELECT t.run_id, t.trace_json FROM run_traces t JOIN runs r ON r.id = t.run_id "
            "WHERE r.sweep_id = ? AND t.metric = ?",
            (sweep_id, rule.name),
        )
    }
    runs = [
        (r["state"], traces.get(r["id"]) or MetricTrace.of([], summary=r["metric_value"]))
        for r in rows
    ]
    return _Trials(rows, search_values(rule, runs))


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
    devices: str | None = None,
    rule: MetricRule | None = None,
) -> RunRecord | None:
    """Atomically pick the next configuration and record it as running.

    The whole read-suggest-insert happens under one write lock, so parallel
    agents on one store never receive the same grid point and never skip one.
    Returns None when the sweep is done (exhausted, capped, target reached,
    stopped). `devices` records the GPU(s) the run will see. With `rule`, each
    run's value for the sampler follows W&B's (trials/metric_value.py) instead of
    being its summary value.
    """
    ctx = context or {}
    with store.transaction() as conn:
        sweep = SweepRecord.from_row(
            conn.execute("SELECT * FROM sweeps WHERE id = ?", (sweep_id,)).fetchone()
        )
        if sweep.status not in ("running", "interrupted"):
            return None
        rows = conn.execute(
            "SELECT id, seq, config_json, state, metric_value FROM runs WHERE sweep_id = ? ORDER BY seq",
            (sweep_id,),
        ).fetchall()
        active = [r for r in rows if r["state"] != INTERRUPTED]
        trials = _trials(conn, sweep_id, active, rule)
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
            devices=devices,
        )
        conn.execute(
            "INSERT INTO runs (id, sweep_id, seq, config_key, config_json, state, tags_json, agent_id, host, pid,"
            " heartbeat_at, created_at, started_at, branch, sha, env, reproduces, devices)"
            " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
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
                devices,
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
