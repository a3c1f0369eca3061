"""Seed the W&B stand-in with finished sweeps, as if agents had run them earlier.

`add_sweep` creates a sweep in a project (as `wandb.sweep` would) and
`add_run` adds one finished run to it with its config, summary and tags, so a
report test can read a W&B prod project that already holds main's sweeps.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

import yaml

from tests.servers.wandb_api import WandbStandIn
from tests.servers.wandb_graphql import _new_run, upsert_sweep


def add_sweep(server: WandbStandIn, entity: str, project: str, config: dict[str, Any]) -> str:
    """A sweep of `project` with `config` (a W&B sweep config); returns its id."""
    answer = upsert_sweep(
        server,
        {"config": yaml.safe_dump(config), "entityName": entity, "projectName": project},
        "",
    )
    with server.lock:
        server.state.sweeps[answer["upsertSweep"]["sweep"]["name"]]["state"] = "FINISHED"
    return answer["upsertSweep"]["sweep"]["name"]


def add_run(
    server: WandbStandIn,
    sweep_id: str,
    *,
    config: dict[str, Any],
    summary: dict[str, Any],
    tags: list[str],
    age_hours: float = 1.0,
    state: str = "finished",
) -> str:
    """A run of `sweep_id` that ended `age_hours` ago; returns its id."""
    run_id = server.next_id("run")
    created = datetime.now(timezone.utc) - timedelta(hours=age_hours)
    with server.lock:
        sweep = server.state.sweeps[sweep_id]
        run = _new_run(sweep["entity"], sweep["project"], run_id)
        run.update(
            sweep=sweep_id, config=dict(config), summary=dict(summary), tags=list(tags),
            state=state, exitcode=0 if state == "finished" else 1,
            created_at=created.strftime("%Y-%m-%dT%H:%M:%S"),
        )  # fmt: skip
        server.state.runs[run_id] = run
    return run_id
