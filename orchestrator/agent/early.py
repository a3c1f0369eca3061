"""Early termination on the local backend: W&B's hyperband over the sweep's metric histories."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

from orchestrator.config.sweep import SweepConfig
from orchestrator.search.hyperband import Hyperband, Savings, compute_saved, hyperband_stops
from orchestrator.store.db import Store
from orchestrator.store.records import KILLED, RunRecord, SweepRecord

REFRESH_S = 2.0  # how often the other runs' histories are re-read from the store


def metric_histories(
    store: Store, sweep_id: str, metric: str
) -> tuple[dict[str, list[float]], set[str]]:
    """{run id: metric values in step order} for the sweep's ended runs, and the ids stopped early."""
    rows = store.query(
        "SELECT h.run_id, h.data_json FROM history h JOIN runs r ON r.id = h.run_id "
        "WHERE r.sweep_id = ? AND r.state != 'running' ORDER BY h.run_id, h.step",
        (sweep_id,),
    )
    histories: dict[str, list[float]] = {}
    for row in rows:
        value = json.loads(row["data_json"]).get(metric)
        if value is not None:
            histories.setdefault(row["run_id"], []).append(value)
    stopped = {
        r["id"]
        for r in store.query(
            "SELECT id, reason FROM runs WHERE sweep_id = ? AND state = ?", (sweep_id, KILLED)
        )
        if (r["reason"] or "").startswith("hyperband")
    }
    return histories, stopped


def hyperband_stopper(
    store: Store, sweep: SweepRecord, config: SweepConfig
) -> Callable[[RunRecord, list[dict[str, Any]]], str | None]:
    """A callback for the agent: given a running run and its live rows, a reason to stop it, or None."""
    assert config.early_terminate is not None and config.metric is not None
    hb = Hyperband.from_settings(config.early_terminate.model_dump())
    metric, goal = config.metric.name, config.metric.goal
    cache: dict[str, Any] = {"at": 0.0, "histories": {}}

    def decide(run: RunRecord, rows: list[dict[str, Any]]) -> str | None:
        now = time.monotonic()
        if now - cache["at"] > REFRESH_S:
            cache["histories"], _ = metric_histories(store, sweep.id, metric)
            cache["at"] = now
        mine = [row[metric] for row in rows if metric in row]
        if not mine:
            return None
        histories = dict(cache["histories"])
        histories[run.id] = mine
        stops = hyperband_stops(hb, histories, running=[run.id], goal=goal, metric=metric)
        return stops[0].reason if stops else None

    return decide


def savings(store: Store, sweep: SweepRecord) -> Savings | None:
    """Iterations hyperband saved in this sweep (None without a metric)."""
    if not sweep.metric_name:
        return None
    histories, stopped = metric_histories(store, sweep.id, sweep.metric_name)
    return compute_saved(histories, stopped)
