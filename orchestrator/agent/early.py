"""Early termination on the local backend: W&B's hyperband over every run of the sweep.

Each agent judges its own running run; the other runs, running ones
included, are read from the store's traces (written live by their agents),
so parallel agents judge against each other as W&B's engine judges all the
runs of a sweep together.
"""

from __future__ import annotations

import time

from orchestrator.agent.options import EarlyStop
from orchestrator.config.sweep import SweepConfig
from orchestrator.search.hyperband import (
    Hyperband,
    judge,
    trace_thresholds,
)
from orchestrator.store.db import Store
from orchestrator.store.records import INTERRUPTED, RunRecord, SweepRecord
from orchestrator.store.traces import changed_traces
from orchestrator.trials.trace import MetricTrace

REFRESH_S = 0.5  # how often the other runs' traces are re-read from the store
CLOCK_SLACK_S = 5.0  # traces stamped this much before the last read are read again


class HyperbandStopper(EarlyStop):
    """The agent's callback: a reason to stop its running run now, or None."""

    def __init__(self, store: Store, sweep: SweepRecord, config: SweepConfig):
        assert config.early_terminate is not None and config.metric is not None
        self.store, self.sweep = store, sweep
        self.hyperband = Hyperband.from_settings(config.early_terminate.model_dump())
        self.metric, self.maximize = config.metric.name, config.metric.goal == "maximize"
        self.bands = self.hyperband.band_set
        self._others: dict[str, MetricTrace] = {}
        self._read_at = -1e9
        self._since = 0.0  # wall-clock time of the last read
        self._judged: tuple[str, int, int] | None = None
        self._version = 0

    def __call__(self, run: RunRecord, trace: MetricTrace) -> str | None:
        now = time.monotonic()
        if now - self._read_at >= REFRESH_S:
            self._refresh()
            self._read_at = now
        key = (run.id, trace.n, self._version)
        if key == self._judged or not trace.n:
            return None  # nothing changed since the last verdict
        self._judged = key
        traces = dict(self._others)
        traces[run.id] = trace
        limits = trace_thresholds(self.hyperband, traces, self.maximize)
        stop = judge(self.hyperband, run.id, trace, limits, self.maximize, self.metric)
        return stop.reason if stop else None

    def _refresh(self) -> None:
        """Re-read the traces written since the last read (and the running runs'): ended
        runs' traces no longer change, so a long sweep is not re-read in full each time."""
        wall = time.time()
        changed = changed_traces(
            self.store, self.sweep.id, self.metric, self._since - CLOCK_SLACK_S
        )
        self._since = wall
        updated = False
        for rid, (state, trace) in changed.items():
            if state == INTERRUPTED:
                updated = self._others.pop(rid, None) is not None or updated
            elif self._others.get(rid) != trace:
                self._others[rid] = trace
                updated = True
        if updated:
            self._version += 1


def hyperband_stopper(store: Store, sweep: SweepRecord, config: SweepConfig) -> HyperbandStopper:
    """The early-termination rule of a sweep with `early_terminate: {type: hyperband}`."""
    return HyperbandStopper(store, sweep, config)
