"""One run, everything known about it: what `sweepci show RUN` prints.

`local_run_detail` reads it from the store; the wandb backend builds the same
shape from the W&B API (`backends/wandb_runs.py`), and `render_run_detail`
turns either into the lines `show` prints.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from orchestrator.store.db import Store
from orchestrator.store.records import RunRecord

#: lines of the kept stderr tail `show` prints (the whole tail is in --json)
STDERR_LINES = 20
#: reproductions listed by name; more are counted
REPRODUCTIONS_SHOWN = 10


def local_run_detail(store: Store, run: RunRecord) -> dict[str, Any]:
    """The run, its sweep's metric, commit, artifacts, reproductions and logs, as JSON."""
    from orchestrator.store.artifacts import lineage_for_run
    from orchestrator.store.queries import history_length, reproductions_of, run_columns
    from orchestrator.store.runs import get_sweep

    sweep = get_sweep(store, run.sweep_id)
    ctx = sweep.context or {}
    columns = run_columns(store, run.id)
    lineage = lineage_for_run(store, run.id)
    again = reproductions_of(store, run.id)
    run_dir = Path(run.run_dir) if run.run_dir else None
    logs = {
        name: str(run_dir / f"{name}.log")
        for name in ("stderr", "stdout")
        if run_dir is not None and (run_dir / f"{name}.log").is_file()
    }
    return {
        "kind": "run",
        "backend": "local",
        "id": run.id,
        "path": run.id,
        "url": None,
        "sweep": {
            "id": sweep.id,
            "name": sweep.name,
            "project": sweep.project,
            "env": sweep.env,
            "method": sweep.method,
            "reproduction": bool(sweep.flags.get("reproduces")),
        },
        "state": run.state,
        "reason": run.reason,
        "exit_code": run.exit_code,
        "config": run.config,
        "summary": run.summary,
        "metric": {
            "name": sweep.metric_name,
            "goal": sweep.metric_goal,
            "value": run.metric_value,
        },
        "history_length": history_length(store, run.id),
        "tags": run.tags,
        "commit": {
            "sha": run.sha,
            "branch": run.branch,
            "tag": ctx.get("tag"),
            "dirty": ctx.get("dirty"),
            "repository": ctx.get("repository"),
            "run_url": ctx.get("run_url"),
        },
        "device": _device(columns),
        "artifacts": {"used": lineage["used"], "produced": lineage["produced"]},
        "reproduces": run.reproduces,
        "reproduced_by": [
            {"id": r.id, "state": r.state, "metric_value": r.metric_value} for r in again
        ],
        "stderr_tail": run.stderr_tail,
        "logs": logs,
        "created_at": run.created_at,
        "started_at": run.started_at,
        "ended_at": run.ended_at,
        "duration": run.duration,
    }


def _device(columns: dict[str, Any]) -> dict[str, Any] | None:
    """The GPUs the run was given (`--gpus`), when this store records devices; None when it
    does not (an older store), `{"gpus": None}` for a run given none."""
    if "devices" not in columns:
        return None
    return {"gpus": columns["devices"] or None}


def _when(timestamp: float | None) -> str:
    if timestamp is None:
        return "-"
    return dt.datetime.fromtimestamp(timestamp).isoformat(timespec="seconds")


def _value(value: Any) -> str:
    from orchestrator.report.model import display

    if isinstance(value, float):
        return f"{value:.6g}"
    return display(value, limit=80)


def _pairs(data: dict[str, Any], indent: str = "  ") -> list[str]:
    if not data:
        return [f"{indent}(none)"]
    width = min(max(len(str(k)) for k in data), 32)
    return [f"{indent}{str(k):<{width}}  {_value(v)}" for k, v in sorted(data.items())]


def render_run_detail(detail: dict[str, Any]) -> list[str]:
    """The lines `show RUN` prints for a detail of either backend."""
    from orchestrator.report.model import flatten

    sweep = detail.get("sweep") or {}
    lines = [f"run        {detail['path']}" + (f" ({detail['url']})" if detail.get("url") else "")]
    where = [f"sweep {sweep['id']}" if sweep.get("id") else "no sweep"]
    if sweep.get("name"):
        where.append(repr(sweep["name"]))
    if sweep.get("project"):
        where.append(f"project {sweep['project']}")
    if sweep.get("env"):
        where.append(f"env {sweep['env']}")
    lines.append("in         " + ", ".join(where))
    state = detail["state"]
    if detail.get("reason"):
        state += f" ({detail['reason']})"
    elif detail.get("exit_code") is not None:
        state += f" (exit code {detail['exit_code']})"
    lines.append(f"state      {state}")
    metric = detail.get("metric") or {}
    if metric.get("name"):
        value = "-" if metric.get("value") is None else _value(metric["value"])
        lines.append(f"metric     {metric['name']} = {value} ({metric.get('goal') or 'minimize'})")
    else:
        lines.append("metric     - (the sweep names no metric)")
    commit = detail.get("commit") or {}
    code = f"sha {commit.get('sha') or '-'}"
    code += f", branch {commit.get('branch') or commit.get('tag') or '-'}"
    if commit.get("dirty"):
        code += " (uncommitted changes when it ran)"
    lines.append(f"code       {code}")
    if commit.get("run_url"):
        lines.append(f"ci run     {commit['run_url']}")
    lines.append("tags       " + (", ".join(detail.get("tags") or []) or "-"))
    device = detail.get("device")
    if device is not None:
        gpus = device.get("gpus")
        lines.append(
            f"device     GPU {gpus} (CUDA_VISIBLE_DEVICES)"
            if gpus
            else "device     no GPU (run without --gpus)"
        )
    history = detail.get("history_length")
    lines.append(f"history    {'-' if history is None else history} row(s)")
    lines.append(
        f"time       created {_when(detail.get('created_at'))}"
        + (f", took {detail['duration']:.1f} s" if detail.get("duration") is not None else "")
    )
    if detail.get("reproduces"):
        lines.append(f"reproduces {detail['reproduces']}")
    again = detail.get("reproduced_by") or []
    if again:
        shown = ", ".join(
            f"{r['id']} ({r['state']}"
            + ("" if r.get("metric_value") is None else f", {_value(r['metric_value'])}")
            + ")"
            for r in again[:REPRODUCTIONS_SHOWN]
        )
        more = len(again) - REPRODUCTIONS_SHOWN
        lines.append(
            f"rerun by   {shown}" + (f"; {more} more not shown (see --json)" if more > 0 else "")
        )
    lines.append("config")
    lines += _pairs(flatten(detail.get("config") or {}))
    lines.append("summary")
    lines += _pairs({k: v for k, v in (detail.get("summary") or {}).items()})
    artifacts = detail.get("artifacts")
    if artifacts is not None:
        lines.append("artifacts")
        used = ", ".join(a["label"] for a in artifacts.get("used") or []) or "-"
        made = ", ".join(
            a["label"] + (f" [{', '.join(a['aliases'])}]" if a.get("aliases") else "")
            for a in artifacts.get("produced") or []
        )
        lines.append(f"  used      {used}")
        lines.append(f"  produced  {made or '-'}")
    tail = (detail.get("stderr_tail") or "").rstrip("\n").splitlines()
    if tail:
        cut = len(tail) - STDERR_LINES
        lines.append(
            "stderr (last lines)" + (f"; {cut} earlier line(s) not shown" if cut > 0 else "")
        )
        # a bar first: a program's line can never start a line of ours (`::` workflow commands)
        lines += [f"  | {line}" for line in tail[-STDERR_LINES:]]
    logs = detail.get("logs") or {}
    for name in ("stderr", "stdout"):
        if logs.get(name):
            lines.append(f"{name + ' log':<11}{logs[name]}")
    if detail.get("note"):
        lines.append(f"note       {detail['note']}")
    from orchestrator.agent.progress import printable

    return [printable(line) for line in lines]
