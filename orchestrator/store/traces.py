"""Each run's metric trace (trials/trace.py) in the store: written live, read by every agent.

A running run's trace is rewritten as its values arrive, so an agent judging
its own run at a hyperband bracket sees the other agents' running runs as
they stand, as W&B's engine sees all the runs of a sweep.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from orchestrator.store.db import Store
from orchestrator.store.records import INTERRUPTED
from orchestrator.trials.trace import MetricTrace


@dataclass(frozen=True)
class RunTrace:
    """A run's state and its trace, as the sweep's search reads them."""

    run_id: str
    seq: int
    state: str
    trace: MetricTrace


def save_trace(store: Store, run_id: str, metric: str, trace: MetricTrace) -> None:
    """Record (replace) the run's trace."""
    with store.transaction() as conn:
        conn.execute(
            "INSERT OR REPLACE INTO run_traces (run_id, metric, trace_json, updated_at) "
            "VALUES (?, ?, ?, ?)",
            (run_id, metric, trace.to_json(), time.time()),
        )


def sweep_traces(store: Store, sweep_id: str, metric: str) -> dict[str, RunTrace]:
    """{run id: RunTrace} for every run of the sweep that was not interrupted (to be redone).

    A run without a trace row (it logged nothing yet, or the store predates
    traces) has no history; its stored metric value is its summary.
    """
    rows = store.query(
        "SELECT r.id, r.seq, r.state, r.metric_value, t.trace_json FROM runs r "
        "LEFT JOIN run_traces t ON t.run_id = r.id AND t.metric = ? "
        "WHERE r.sweep_id = ? AND r.state != ? ORDER BY r.seq",
        (metric, sweep_id, INTERRUPTED),
    )
    out = {}
    for r in rows:
        if r["trace_json"] is not None:
            trace = MetricTrace.from_json(r["trace_json"])
        else:
            trace = MetricTrace.of([], summary=r["metric_value"])
        out[r["id"]] = RunTrace(r["id"], r["seq"], r["state"], trace)
    return out


def changed_traces(
    store: Store, sweep_id: str, metric: str, since: float
) -> dict[str, tuple[str, MetricTrace]]:
    """{run id: (state, trace)} of the sweep's traces written at or after `since` (wall
    clock), and of every running run: what a reader holding older traces must re-read."""
    rows = store.query(
        "SELECT r.id, r.state, t.trace_json FROM run_traces t JOIN runs r ON r.id = t.run_id "
        "WHERE r.sweep_id = ? AND t.metric = ? AND (t.updated_at >= ? OR r.state = 'running')",
        (sweep_id, metric, since),
    )
    return {r["id"]: (r["state"], MetricTrace.from_json(r["trace_json"])) for r in rows}
