"""Sweeps run by another engine (the W&B sweep server), recorded in a store for reporting.

A W&B sweep's runs live on W&B; to give it the same Markdown, HTML and JSON
report as a local sweep, the report job copies them into a store file (which
then also travels in the `sweepci-report` artifact). Importing the same sweep
again replaces its runs, so the store always holds W&B's latest view.
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass, field
from typing import Any

from orchestrator.store.db import Store
from orchestrator.store.runs import create_sweep, get_sweep


@dataclass
class ImportedRun:
    """One run as another engine reports it; `metric_value` None when it has none."""

    id: str
    state: str
    config: dict[str, Any]
    summary: dict[str, Any]
    tags: list[str] = field(default_factory=list)
    created_at: float = 0.0
    ended_at: float | None = None
    metric_value: float | None = None
    exit_code: int | None = None


def _finite(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value) if math.isfinite(value) else None


def _tag(tags: list[str], prefix: str) -> str | None:
    return next((t[len(prefix) :] for t in tags if t.startswith(prefix)), None)


def record_imported_sweep(
    store: Store,
    *,
    sweep_id: str,
    project: str,
    env: str | None,
    backend: str,
    config: dict[str, Any],
    context: dict[str, Any],
    remote_path: str,
    runs: list[ImportedRun],
    status: str = "finished",
) -> None:
    """Create the sweep (once) and replace its runs with `runs`, oldest first."""
    metric = config.get("metric") if isinstance(config.get("metric"), dict) else {}
    with store.transaction() as conn:
        exists = conn.execute("SELECT 1 FROM sweeps WHERE id = ?", (sweep_id,)).fetchone()
    if not exists:
        create_sweep(
            store, project=project, method=str(config.get("method") or "unknown"), config=config,
            metric_name=metric.get("name"), metric_goal=metric.get("goal", "minimize")
            if metric.get("name") else None, name=config.get("name") or sweep_id, env=env,
            backend=backend, context=context, sweep_id=sweep_id, remote_path=remote_path,
        )  # fmt: skip
    get_sweep(store, sweep_id)  # raises when the id names something else
    rows = []
    for seq, run in enumerate(sorted(runs, key=lambda r: (r.created_at, r.id))):
        config_json = json.dumps(run.config, sort_keys=True, default=str)
        key = hashlib.sha256(config_json.encode()).hexdigest()[:16]
        rows.append((
            run.id, sweep_id, seq, key, config_json, run.state, run.exit_code,
            json.dumps(run.tags), run.created_at, run.created_at, run.ended_at,
            _finite(run.metric_value), json.dumps(run.summary, default=str),
            _tag(run.tags, "branch:"), _tag(run.tags, "sha:"), _tag(run.tags, "env:") or env,
        ))  # fmt: skip
    with store.transaction() as conn:
        old = [r[0] for r in conn.execute("SELECT id FROM runs WHERE sweep_id = ?", (sweep_id,))]
        conn.executemany("DELETE FROM history WHERE run_id = ?", [(i,) for i in old])
        conn.execute("DELETE FROM runs WHERE sweep_id = ?", (sweep_id,))
        conn.executemany(
            "INSERT INTO runs (id, sweep_id, seq, config_key, config_json, state, exit_code,"
            " tags_json, created_at, started_at, ended_at, metric_value, summary_json, branch,"
            " sha, env) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
            rows,
        )
        conn.execute(
            "UPDATE sweeps SET status = ?, context_json = ?, updated_at = ? WHERE id = ?",
            (status, json.dumps(context), max([r.created_at for r in runs] or [0.0]), sweep_id),
        )
