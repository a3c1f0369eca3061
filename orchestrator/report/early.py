"""What a report shows of early termination, and of the values the search used.

Hyperband-stopped runs are the sweep's killed runs whose reason the agent
wrote (`hyperband: ... at iteration N ...`). Their length is their trace's
count of valid values (the iterations they ran); savings count each stopped
run as if it had gone on as long as the longest run, as `sweepci run` says.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from orchestrator.agent.livemetrics import CHANNEL_FILE, HOOK_FILE
from orchestrator.store.db import Store
from orchestrator.store.queries import run_history
from orchestrator.store.records import KILLED, SweepRecord
from orchestrator.store.traces import sweep_traces
from orchestrator.trials.metric_value import MetricRule, search_values

MAX_STOPPED_SHOWN = 20
MAX_CURVES = 10
MAX_CURVE_POINTS = 200
_BAND = re.compile(r"at iteration (\d+)")


@dataclass
class StoppedRun:
    id: str
    seq: int
    iteration: int | None  # the bracket it failed
    ran: int  # iterations (valid values of the metric) it logged
    reason: str


@dataclass
class EarlyTermination:
    stopped: int
    runs: list[StoppedRun]  # at most MAX_STOPPED_SHOWN, in run order
    by_iteration: dict[int, int]  # bracket -> runs stopped there
    iterations_run: int
    iterations_saved: int
    curves: dict[str, list[tuple[float, float]]] = field(default_factory=dict)
    #: whether any run's values reached the agent while it ran (the live files)
    live_seen: bool = True

    @property
    def fraction(self) -> float:
        total = self.iterations_run + self.iterations_saved
        return self.iterations_saved / total if total else 0.0

    def summary_line(self) -> str:
        """'hyperband stopped 3 run(s) early (2 at iteration 3, 1 at iteration 9), saving ...'"""
        by = ", ".join(f"{n} at iteration {b}" for b, n in sorted(self.by_iteration.items()))
        total = self.iterations_run + self.iterations_saved
        line = (
            f"hyperband stopped {self.stopped} run(s) early" + (f" ({by})" if by else "")
            + f", saving {self.iterations_saved} of {total} iterations ({self.fraction:.0%})"
        )  # fmt: skip
        if not self.live_seen:
            line += (
                "; no run's values reached the agent while it ran, so none could be judged: "
                "run the script in the environment sweepci is installed in (its wandb.log hook), "
                "or have it write $SWEEPCI_METRICS_FILE"
            )
        return line

    def to_json(self) -> dict[str, Any]:
        return {
            "stopped": self.stopped,
            "by_iteration": {str(k): v for k, v in sorted(self.by_iteration.items())},
            "iterations_run": self.iterations_run,
            "iterations_saved": self.iterations_saved,
            "fraction_saved": self.fraction,
            "runs": [r.__dict__ for r in self.runs],
        }


def early_termination(store: Store, sweep: SweepRecord) -> EarlyTermination | None:
    """The sweep's hyperband record; None for a sweep without `early_terminate`."""
    if not sweep.config.get("early_terminate") or not sweep.metric_name:
        return None
    traces = sweep_traces(store, sweep.id, sweep.metric_name)
    rows = store.query(
        "SELECT id, seq, reason FROM runs WHERE sweep_id = ? AND state = ? ORDER BY seq",
        (sweep.id, KILLED),
    )
    run_dirs = [
        r[0]
        for r in store.query(
            "SELECT run_dir FROM runs WHERE sweep_id = ? AND run_dir IS NOT NULL LIMIT 50",
            (sweep.id,),
        )
    ]
    stopped = [r for r in rows if (r["reason"] or "").startswith("hyperband")]
    lengths = {rid: rt.trace.n for rid, rt in traces.items()}
    longest = max(lengths.values(), default=0)
    runs, by_iteration = [], {}
    for r in stopped:
        found = _BAND.findall(r["reason"])
        band = int(found[-1]) if found else None
        if band is not None:
            by_iteration[band] = by_iteration.get(band, 0) + 1
        runs.append(StoppedRun(r["id"], r["seq"], band, lengths.get(r["id"], 0), r["reason"]))
    saved = sum(longest - lengths.get(r["id"], 0) for r in stopped)
    curves = {}
    for run in runs[:MAX_CURVES]:
        curve = []
        for i, row in enumerate(run_history(store, run.id)):
            value = row.get(sweep.metric_name)
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                curve.append((float(row.get("_step", i)), float(value)))
        if curve:
            curves[run.id] = curve[:MAX_CURVE_POINTS]
    return EarlyTermination(
        stopped=len(stopped),
        runs=runs[:MAX_STOPPED_SHOWN],
        by_iteration=by_iteration,
        iterations_run=sum(lengths.values()),
        iterations_saved=saved,
        curves=curves,
        live_seen=bool(stopped) or not run_dirs or any(_live_files(d) for d in run_dirs),
    )


def _live_files(run_dir: str) -> bool:
    """Whether the run's live files (the wandb hook's, the metrics channel) hold anything."""
    for name in (HOOK_FILE, CHANNEL_FILE):
        try:
            if (Path(run_dir) / name).stat().st_size > 0:
                return True
        except OSError:
            continue
    return False


def searched_values(store: Store, sweep: SweepRecord) -> dict[str, float]:
    """{run id: the value bayes modelled it by} where that differs from its summary value."""
    metric = sweep.config.get("metric") or {}
    if sweep.method != "bayes" or not sweep.metric_name:
        return {}
    rule = MetricRule(
        sweep.metric_name,
        sweep.metric_goal or "minimize",
        str(metric.get("impute", "worst")),
        str(metric.get("impute_while_running", "false")),
    )
    traces = sweep_traces(store, sweep.id, sweep.metric_name)
    summary = {
        r["id"]: r["metric_value"]
        for r in store.query("SELECT id, metric_value FROM runs WHERE sweep_id = ?", (sweep.id,))
    }
    ids = list(traces)
    values = search_values(rule, [(traces[i].state, traces[i].trace) for i in ids])
    return {
        rid: value
        for rid, value in zip(ids, values)
        if value is not None and (summary.get(rid) is None or abs(summary[rid] - value) > 1e-12)
    }
