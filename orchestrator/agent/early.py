"""Early termination on the local backend: W&B's hyperband over every run of the sweep.

Each agent judges its own running run; the other runs, running ones
included, are read from the store's traces (written live by their agents),
so parallel agents judge against each other as W&B's engine judges all the
runs of a sweep together.
"""

from __future__ import annotations

import time

from orchestrator.agent.loop import EarlyStop
from orchestrator.config.sweep import SweepConfig
from orchestrator.search.hyperband import (
    Hyperband,
    judge,
    trace_thresholds,
)
from orchestrator.store.db import Store
from orchestrator.store.records import RunRecord, SweepRecord
from orchestrator.store.traces import sweep_traces
from orchestrator.trials.trace import MetricTrace

REFRESH_S = 0.5  # how often the other runs' traces are re-read from the store


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
        self._judged: tuple[str, int, int] | None = None
        self._version = 0

    def __call__(self, run: RunRecord, trace: MetricTrace) -> str | None:
        now = time.monotonic()
        if now - self._read_at >= REFRESH_S:
            fresh = {
                rid: rt.trace
                for rid, rt in sweep_traces(self.store, self.sweep.id, self.metric).items()
            }
            self._read_at = now
            if fresh != self._others:
                self._others, self._version = fresh, self._version + 1
        key = (run.id, trace.n, self._version)
        if key == self._judged or not trace.n:
            return None  # nothing changed since the last verdict
        self._judged = key
        traces = dict(self._others)
        traces[run.id] = trace
        limits = trace_thresholds(self.hyperband, traces, self.maximize)
        stop = judge(self.hyperband, run.id, trace, limits, self.maximize, self.metric)
        return stop.reason if stop else None


def hyperband_stopper(store: Store, sweep: SweepRecord, config: SweepConfig) -> HyperbandStopper:
    """The early-termination rule of a sweep with `early_terminate: {type: hyperband}`."""
    return HyperbandStopper(store, sweep, config)
