"""A sweep whose runs finished but never logged its metric has no result: say so, exit 1.

The usual cause is a name that differs from what the script logs (`valf1` for
`val/f1`), and CI must not go green on a sweep that measured nothing. The
message names the metric, the keys the runs did log, and the likeliest one.
"""

from __future__ import annotations

from orchestrator.config.problems import did_you_mean
from orchestrator.errors import SweepFailed
from orchestrator.store.records import RunRecord, SweepRecord

MAX_KEYS_SHOWN = 12


def logged_keys(runs: list[RunRecord]) -> list[str]:
    """The numeric summary keys the finished runs logged, in first-seen order."""
    keys: list[str] = []
    for run in runs:
        if run.state != "finished":
            continue
        for key, value in (run.summary or {}).items():
            number = isinstance(value, (int, float)) and not isinstance(value, bool)
            if number and not key.startswith("_") and key not in keys:
                keys.append(key)
    return keys


def missing_metric(sweep: SweepRecord, runs: list[RunRecord]) -> SweepFailed | None:
    """The error for a sweep whose finished runs all lack its metric; None when any has it."""
    name = sweep.metric_name
    finished = [r for r in runs if r.state == "finished"]
    if not name or not finished or any(r.metric_value is not None for r in finished):
        return None
    keys = logged_keys(finished)
    if keys:
        shown = ", ".join(keys[:MAX_KEYS_SHOWN]) + (" ..." if len(keys) > MAX_KEYS_SHOWN else "")
        logged = f"they logged: {shown}{did_you_mean(name, keys)}"
    else:
        logged = "they logged no numeric value at all (wandb.log / run.summary)"
    return SweepFailed(
        f"none of the {len(finished)} finished run(s) logged the sweep's metric {name!r}; {logged}"
    )
