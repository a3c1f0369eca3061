"""`sweepci reproduce ENTITY/PROJECT/RUN`: rerun a W&B sweep run from its commit.

The original's config, summary, sweep and commit come from the W&B API. The
rerun is a one-point W&B sweep whose parameters are pinned to the run's values
(the sweep's own program, command and metric), run by W&B's own agent in a
temporary worktree of the commit, in the original's entity and project, and
tagged `reproduces:<id>`.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from orchestrator.commands.reproduce import (
    ReproduceRequest,
    dirty_note,
    rerun_context,
    workdir_in,
)
from orchestrator.errors import SweepFailed, UsageError
from orchestrator.report.reproduction import Reproduction, compare, metrics_to_compare

#: sweep keys that choose or stop runs: a rerun is exactly one given point
_SEARCH_KEYS = ("method", "parameters", "early_terminate", "run_cap", "name", "description")


def pinned_sweep(sweep_config: dict[str, Any], run_config: dict[str, Any], run_path: str) -> dict:
    """The original's sweep with every parameter pinned to the run's value: one grid point."""
    parameters = sweep_config.get("parameters")
    if not isinstance(parameters, dict) or not parameters:
        raise UsageError(f"run {run_path} is not a run of a W&B sweep with parameters")
    missing = [name for name in parameters if name not in run_config]
    if missing:
        raise UsageError(f"run {run_path} has no value for the sweep parameter {missing[0]!r}")
    body = {k: v for k, v in sweep_config.items() if k not in _SEARCH_KEYS}
    body.pop("project", None)
    body.pop("entity", None)
    body.update(
        method="grid",
        name=f"reproduce {run_path}"[:128],
        description=f"sweepci reproduce: a rerun of {run_path} at its commit",
        parameters={name: {"value": run_config[name]} for name in parameters},
    )
    return body


def reproduce_wandb_run(req: ReproduceRequest) -> Reproduction:
    from orchestrator.agent.notes import ci_of_run
    from orchestrator.backends.wandb_runs import fetch_run, recorded_sha
    from orchestrator.ci.worktree import repository_of, require_commit, temporary_worktree

    run = fetch_run(req.run)
    path = f"{run['entity']}/{run['project']}/{run['id']}"
    what = f"run {path}"
    if run["state"] == "running":
        raise UsageError(f"{what} is still running; reproduce it once it has ended")
    sweep_config = run["sweep_config"]
    body = pinned_sweep(sweep_config, run["config"], path)
    metric = sweep_config.get("metric") if isinstance(sweep_config.get("metric"), dict) else {}
    names = metrics_to_compare(run["summary"], req.metrics, metric.get("name"))
    ci = ci_of_run(run["config"], run.get("notes"))
    notes = dirty_note(ci.get("dirty"), req.dirty, what)
    dirty = bool(notes)
    repo = repository_of(req.cwd)
    sha = require_commit(repo, recorded_sha(run), what)
    with temporary_worktree(repo, sha) as tree:
        workdir = workdir_in(tree, repo, req.cwd, ci.get("workdir"))
        again, sweep_path = _rerun_on_wandb(req, run, path, body, ci, workdir, dirty)
    if run["state"] == "killed":
        notes.append(f"{what} was stopped early; the rerun ran without early termination")
    return Reproduction(
        original={
            "id": run["id"],
            "path": path,
            "sweep": run["sweep_id"],
            "sha": sha,
            "state": run["state"],
            "metric": metric.get("name"),
        },
        again={
            "id": again["id"],
            "path": f"{run['entity']}/{run['project']}/{again['id']}",
            "sweep": sweep_path,
            "sha": sha,
            "state": again["state"],
            "reason": None if again["state"] == "finished" else "see the run's logs on W&B",
            "stderr_tail": None,
            "tags": again.get("tags", []),
            "url": again.get("url"),
            "dirty": dirty,
        },
        comparisons=compare(run["summary"], again["summary"], names, req.rtol, req.atol),
        rtol=req.rtol,
        atol=req.atol,
        notes=notes,
    )


def _rerun_on_wandb(
    req: ReproduceRequest,
    run: dict[str, Any],
    path: str,
    body: dict[str, Any],
    ci: dict[str, Any],
    workdir: Path,
    dirty: bool,
) -> tuple[dict[str, Any], str]:
    """Create the one-point sweep in the original's project and run W&B's agent for it."""
    from orchestrator.backends import wandb_sdk
    from orchestrator.backends.wandb_runs import keyed_environment

    env = keyed_environment()
    sdk_dir = Path(req.store_path).parent / "wandb-sdk"  # where the wandb backend keeps them
    env_name = ci.get("env") if isinstance(ci.get("env"), str) else "dev"
    context, tags = rerun_context(workdir, ci.get("branch"), env_name, run["project"], path)
    context["dirty_original"] = dirty
    sdk_env = wandb_sdk.sdk_environment(env, sdk_dir)
    ref = wandb_sdk.create_sweep(body, run["project"], run["entity"], sdk_env)
    wandb_sdk.run_agent(
        ref,
        1,
        env,
        tags,
        context,
        sdk_dir,
        cwd=workdir,
        poll_interval=float(os.environ.get("SWEEPCI_WANDB_POLL", "1.0")),
        timeout=req.run_timeout,
    )
    runs = wandb_sdk.list_runs(ref, sdk_env)
    if not runs:
        raise SweepFailed(f"the W&B agent started no run for the rerun sweep {ref.path}")
    return runs[0], ref.path
