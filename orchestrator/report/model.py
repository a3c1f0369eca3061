"""Gather what a report shows from the store into one plain model.

Every renderer (Markdown, HTML, JSON) reads the same `ReportModel`, so the
three formats cannot disagree. The model holds only what is shown: the top
runs, a few failures, and, for charts only, one light row per run.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from orchestrator.report.baseline import BaselineComparison, compare
from orchestrator.report.early import EarlyTermination, early_termination, searched_values
from orchestrator.report.leaderboard import metric_columns
from orchestrator.store.db import Store
from orchestrator.store.queries import best_run, leaderboard, run_history, state_counts
from orchestrator.store.records import CRASHED, FAILED, RunRecord, SweepRecord
from orchestrator.store.run_files import stderr_log
from orchestrator.store.runs import get_sweep

#: the states a report always lists, even at zero, in this order
COUNTED_STATES = ("finished", "failed", "killed", "crashed", "interrupted")
MAX_PARAM_COLUMNS = 12
MAX_FAILURES = 5
HISTORY_RUNS = 5
MAX_CONFIG_POINTS = 2000
TOP_CONFIG_POINTS = 50
# commit and run links are shown only when they have exactly this shape, so a
# context value cannot smuggle another URL or scheme into a report
_SAFE_URL = re.compile(
    r"^https://[A-Za-z0-9.-]+(:\d{1,5})?/[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+/"
    r"(commit/[0-9a-f]{7,40}|actions/runs/\d+(/attempts/\d+)?)$"
)


@dataclass
class RunPoint:
    """One run as the charts need it: order, state, metric value, flat config (None: not loaded)."""

    seq: int
    state: str
    value: float | None
    config: dict[str, Any] | None


@dataclass
class Lineage:
    """Where the best run's model came from, and which model holds `production` now."""

    commit: str | None
    datasets: list[str]  # "wine-data:v0" labels of the artifacts the run used
    models: list[str]  # labels of the model artifacts it produced
    production: str | None = None  # label of the current holder of NAME:production
    production_run: str | None = None
    production_value: Any = None
    production_by: str | None = None

    def to_json(self) -> dict[str, Any]:
        return dict(self.__dict__)


def lineage_of(store: Store, run: RunRecord, metric: str | None) -> Lineage | None:
    """The best run's lineage from the artifact area; None when it logged no artifacts."""
    from orchestrator.store.artifacts import current_alias_holder, lineage_for_run

    info = lineage_for_run(store, run.id)
    if not info["used"] and not info["produced"]:
        return None
    models = [a for a in info["produced"] if a["type"] == "model"]
    lineage = Lineage(
        commit=info["commit"],
        datasets=[a["label"] for a in info["used"]],
        models=[a["label"] for a in models],
    )
    if models:
        holder = current_alias_holder(store, models[0]["name"], "production")
        if holder is not None:
            lineage.production = holder["artifact"]["label"]
            holder_run = holder.get("run") or {}
            lineage.production_run = holder_run.get("id")
            lineage.production_value = (
                (holder_run.get("summary") or {}).get(metric) if metric else None
            )
            lineage.production_by = (holder.get("promotion") or {}).get("actor")
    return lineage


@dataclass
class ReportModel:
    sweep: SweepRecord
    counts: dict[str, int]
    total: int
    metrics: list[str]
    params: list[str]
    best: RunRecord | None
    top: list[RunRecord]
    failures: list[RunRecord]
    baseline: BaselineComparison
    commit_url: str | None
    run_url: str | None
    points: list[RunPoint] = field(default_factory=list)
    histories: dict[str, list[tuple[float, float]]] = field(default_factory=dict)
    lineage: Lineage | None = None
    #: (seq, metric value) of every run with a value, in run order (the Mermaid chart)
    values: list[tuple[int, float]] = field(default_factory=list)
    #: run id -> the failed run's full stderr log, relative to the store's directory
    #: (the store keeps only its tail)
    logs: dict[str, str] = field(default_factory=dict)
    #: hyperband's stops and savings (None without early_terminate)
    early: EarlyTermination | None = None
    #: {run id: the value bayes modelled it by} where it differs from the summary value
    searched: dict[str, float] = field(default_factory=dict)

    @property
    def branch(self) -> str | None:
        return self.sweep.context.get("branch") or self.sweep.context.get("tag")

    @property
    def sha(self) -> str | None:
        return self.sweep.context.get("sha")

    @property
    def short_sha(self) -> str | None:
        return self.sha[:7] if self.sha else None

    def run_json(self, run: RunRecord) -> dict[str, Any]:
        """A run for --format json: what the tables show, with full (unshortened) values."""
        return {
            "id": run.id, "seq": run.seq, "state": run.state, "metric_value": run.metric_value,
            "metrics": {m: self.metric_of(run, m) for m in self.metrics},
            "config": run.config, "duration": run.duration, "reason": run.reason,
            "exit_code": run.exit_code, "search_value": self.searched.get(run.id, run.metric_value),
        }  # fmt: skip

    def to_json(self) -> dict[str, Any]:
        """The machine-readable summary (`sweepci report --format json`)."""
        s = self.sweep
        return {
            "sweep": {
                "id": s.id, "name": s.name, "project": s.project, "env": s.env, "method": s.method,
                "metric": {"name": s.metric_name, "goal": s.metric_goal}, "status": s.status,
                "branch": self.branch, "sha": self.sha, "commit_url": self.commit_url,
                "run_url": self.run_url, "created_at": s.created_at,
            },
            "counts": self.counts,
            "total": self.total,
            "best": self.run_json(self.best) if self.best else None,
            "top": [self.run_json(r) for r in self.top],
            "baseline": self.baseline.to_json(),
            "lineage": self.lineage.to_json() if self.lineage else None,
            "early_termination": self.early.to_json() if self.early else None,
        }  # fmt: skip

    def metric_of(self, run: RunRecord, name: str) -> Any:
        """A run's value of a metric column (the sweep metric comes from the stored value)."""
        if name == self.sweep.metric_name:
            return run.metric_value
        return run.summary.get(name)


def display(value: Any, limit: int = 40) -> str:
    """A value as plain text for a table cell, at most `limit` characters (escape it after)."""
    if value is None:
        return "-"
    if isinstance(value, bool):
        text = "true" if value else "false"
    elif isinstance(value, float):
        text = f"{value:.4g}"
    elif isinstance(value, (int, str)):
        text = str(value)
    else:
        text = json.dumps(value, sort_keys=True, default=str)
    return text if len(text) <= limit else text[: max(limit - 1, 1)] + "\u2026"


def flatten(config: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """Nested parameters as dotted keys, the way W&B names them in its panels."""
    out: dict[str, Any] = {}
    for key, value in config.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict) and value:
            out.update(flatten(value, name + "."))
        else:
            out[name] = value
    return out


def safe_url(url: str | None) -> str | None:
    return url if url and _SAFE_URL.match(url) else None


def _links(context: dict[str, Any]) -> tuple[str | None, str | None]:
    repo, sha = context.get("repository"), context.get("sha")
    server = (context.get("server_url") or "https://github.com").rstrip("/")
    commit = f"{server}/{repo}/commit/{sha}" if repo and "/" in str(repo) and sha else None
    return safe_url(commit), safe_url(context.get("run_url"))


def _table_params(top: list[RunRecord], sweep_config: dict[str, Any] | None = None) -> list[str]:
    """Every parameter the sweep searches (even when the shown runs share its value), then
    any other that varies among the shown runs (all of them for a single run)."""
    from orchestrator.report.scales import swept_parameters

    configs = [flatten(r.config) for r in top]
    keys = sorted({k for c in configs for k in c})
    swept = [k for k in swept_parameters(sweep_config or {}) if k in keys]
    if len(configs) > 1:
        keys = [
            k
            for k in keys
            if len({json.dumps(c.get(k), sort_keys=True, default=str) for c in configs}) > 1
        ]
    kept = (sorted(swept) + [k for k in keys if k not in swept])[:MAX_PARAM_COLUMNS]
    return sorted(kept)


def sample_indices(n: int, limit: int) -> list[int]:
    """Evenly spread indices into a sequence of `n`, at most `limit` (+1: the last is kept)."""
    if n <= limit:
        return list(range(n))
    step = n / limit
    return sorted({int(i * step) for i in range(limit)} | {n - 1})


def _points(store: Store, sweep: SweepRecord) -> list[RunPoint]:
    # every run's value is cheap and the best-so-far line needs them all; configs can
    # be large, so only a sample (for importance) and the top runs (for parallel
    # coordinates) are parsed: a 10k-run sweep reads at most ~2050 configs
    rows = store.query(
        "SELECT seq, state, metric_value FROM runs WHERE sweep_id = ? ORDER BY seq", (sweep.id,)
    )
    points = [RunPoint(r[0], r[1], r[2], None) for r in rows]
    rated = [p for p in points if p.value is not None]
    wanted = {rated[i].seq for i in sample_indices(len(rated), MAX_CONFIG_POINTS)}
    ranked = sorted(rated, key=lambda p: p.value, reverse=sweep.metric_goal != "minimize")  # type: ignore[arg-type, return-value]
    wanted.update(p.seq for p in ranked[:TOP_CONFIG_POINTS])
    by_seq = {p.seq: p for p in points}
    for seq, config_json in store.query(
        "SELECT seq, config_json FROM runs WHERE sweep_id = ? AND seq IN (SELECT value FROM json_each(?))",
        (sweep.id, json.dumps(sorted(wanted))),
    ):
        by_seq[seq].config = flatten(json.loads(config_json))
    return points


def _history(store: Store, run: RunRecord, metric: str) -> list[tuple[float, float]]:
    out = []
    for i, row in enumerate(run_history(store, run.id)):
        value = row.get(metric)
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            out.append((float(row.get("_step", i)), float(value)))
    return out


def build_report(
    store: Store,
    sweep_id: str = "latest",
    *,
    top: int = 10,
    baseline: str | Path | None = None,
    charts: bool = False,
) -> ReportModel:
    """Read one sweep into a ReportModel; `charts` also loads per-run points and histories."""
    sweep = get_sweep(store, sweep_id)
    raw_counts = state_counts(store, sweep.id)
    counts = {s: raw_counts.get(s, 0) for s in COUNTED_STATES}
    counts.update({s: n for s, n in raw_counts.items() if s not in counts})
    shown = leaderboard(store, sweep, limit=top)
    best = best_run(store, sweep)
    failures = [
        RunRecord.from_row(r)
        for r in store.query(
            "SELECT * FROM runs WHERE sweep_id = ? AND state IN (?, ?) ORDER BY seq DESC LIMIT ?",
            (sweep.id, FAILED, CRASHED, MAX_FAILURES),
        )
    ]
    commit_url, run_url = _links(sweep.context)
    model = ReportModel(
        sweep=sweep,
        counts=counts,
        total=sum(raw_counts.values()),
        metrics=metric_columns(sweep.metric_name, shown),
        params=_table_params(shown, sweep.config),
        best=best,
        top=shown,
        failures=failures,
        baseline=compare(sweep, best.metric_value if best else None, baseline),
        commit_url=commit_url,
        run_url=run_url,
        logs={r.id: stderr_log(Path("."), sweep.id, r.id).as_posix() for r in failures},
    )
    if best is not None:
        model.lineage = lineage_of(store, best, sweep.metric_name)
    model.early = early_termination(store, sweep)
    model.searched = searched_values(store, sweep)
    model.values = [
        (int(seq), float(value))
        for seq, value in store.query(
            "SELECT seq, metric_value FROM runs WHERE sweep_id = ? AND metric_value IS NOT NULL "
            "ORDER BY seq",
            (sweep.id,),
        )
    ]
    if charts:
        model.points = _points(store, sweep)
        metric = sweep.metric_name or (model.metrics[0] if model.metrics else None)
        if metric:
            finished = [r for r in shown if r.state == "finished"][:HISTORY_RUNS]
            histories = {r.id: _history(store, r, metric) for r in finished}
            model.histories = {k: v for k, v in histories.items() if v}
    return model
