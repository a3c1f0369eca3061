"""`sweepci reproduce RUN`: rerun a run's commit with its exact config, and compare.

The run's commit is checked out into a temporary git worktree (the user's tree
and index are never touched), and the program is launched there by the same
agent code that launched the original: the sweep's command and macros, the
run's config, the sweep's seed, the W&B environment. The rerun is recorded in
the store as a one-run sweep whose run `reproduces` the original; its metrics
are compared with the original's within --rtol/--atol.

A W&B run (ENTITY/PROJECT/RUN) is reproduced by `reproduce_wandb.py`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from orchestrator.errors import SweepFailed, UsageError
from orchestrator.report.reproduction import (
    DEFAULT_ATOL,
    DEFAULT_RTOL,
    Reproduction,
    compare,
    metrics_to_compare,
)


@dataclass
class ReproduceRequest:
    """What `reproduce` was asked: which run, how close is close enough, and where."""

    run: str
    store_path: str = ".sweepci/sweepci.db"
    metrics: tuple[str, ...] = ()
    rtol: float = DEFAULT_RTOL
    atol: float = DEFAULT_ATOL
    dirty: bool = False
    run_timeout: float | None = None
    echo: bool = False
    quiet: bool = False
    cwd: Path = field(default_factory=Path.cwd)


def dirty_note(dirty: Any, allowed: bool, what: str) -> list[str]:
    """Refuse a run made from uncommitted changes unless --dirty; then say so in the result."""
    if not dirty:
        return []
    if not allowed:
        raise UsageError(
            f"{what} ran with uncommitted changes, so its commit alone may not be the code that ran; "
            "pass --dirty to rerun the commit anyway (the result records it)"
        )
    return [f"{what} ran with uncommitted changes: this reran its commit only (--dirty)"]


def workdir_in(tree: Path, repo: Path, cwd: Path, recorded: Any = None) -> Path:
    """Where in the checkout the program starts: where the sweep was started, relative to
    the repository root, as recorded with it; for a sweep recorded without it, the same
    place as the directory `reproduce` runs from.

    The recorded text comes from a store or a W&B run's notes: it is used only as a
    relative path inside the checkout (no `..`, not absolute)."""
    from orchestrator.ci.context import relative_workdir

    if isinstance(recorded, str) and recorded:
        relative = PurePosixPath(recorded)
        if relative.is_absolute() or ".." in relative.parts or "\\" in recorded:
            raise UsageError(
                f"the recorded working directory {recorded!r} is not a path inside the repository"
            )
        where = "the directory the sweep was started from"
    else:
        relative = PurePosixPath(relative_workdir(cwd, repo) or ".")
        where = "the directory reproduce runs from"
    workdir = tree.joinpath(*relative.parts)
    if not workdir.is_dir() or not workdir.resolve().is_relative_to(tree.resolve()):
        raise UsageError(
            f"directory {relative} ({where}) does not exist at that commit"
            + ("" if recorded else "; run reproduce from the directory sweepci run ran from")
        )
    return workdir


def rerun_context(
    workdir: Path, branch: Any, env: str | None, project: str, reproduces: str
) -> tuple[dict[str, Any], list[str]]:
    """The rerun's CI context and tags: the checkout's commit, the original's branch (the
    checkout itself is detached), trigger `reproduce`, and `reproduces:<id>`."""
    from orchestrator.ci.context import from_git
    from orchestrator.ci.routing import reproduction_tag, run_tags

    ctx = from_git(workdir)
    ctx.event = "reproduce"
    ctx.branch = branch if isinstance(branch, str) and branch else None
    ctx.note = None
    ci = ctx.to_json()
    ci.update(env=env, project=project, reproduces=reproduces)
    run_id = reproduces.rsplit("/", 1)[-1]  # of a W&B path, the id: a tag holds 64 characters
    return ci, [*run_tags(ctx, env or "dev"), reproduction_tag(run_id)]


def reproduce_local_run(req: ReproduceRequest) -> Reproduction:
    from orchestrator.ci.worktree import repository_of, require_commit, temporary_worktree
    from orchestrator.store import open_store
    from orchestrator.store.queries import find_run
    from orchestrator.store.runs import get_sweep

    with open_store(req.store_path, create=False) as store:
        original = find_run(store, req.run)
        if original is None:
            raise UsageError(
                f"no run '{req.run}' in {store.path} (see `sweepci runs`; a W&B run is ENTITY/PROJECT/ID)"
            )
        sweep = get_sweep(store, original.sweep_id)
    what = f"run {original.id}"
    if original.state == "running":
        raise UsageError(f"{what} is still running; reproduce it once it has ended")
    names = metrics_to_compare(original.summary, req.metrics, sweep.metric_name)
    notes = dirty_note((sweep.context or {}).get("dirty"), req.dirty, what)
    dirty = bool(notes)
    repo = repository_of(req.cwd)
    sha = require_commit(repo, original.sha, what)
    devices = _recorded_devices(original)
    with temporary_worktree(repo, sha) as tree:
        workdir = workdir_in(tree, repo, req.cwd, (sweep.context or {}).get("workdir"))
        again = _rerun(req, original, sweep, workdir, dirty, devices)
    if original.devices:
        notes.append(
            f"the rerun was given the original's GPU(s) {original.devices} (CUDA_VISIBLE_DEVICES)"
        )
    if original.state == "killed":
        notes.append(
            f"{what} was stopped early ({original.reason}); the rerun ran without early termination"
        )
    result = Reproduction(
        original={
            "id": original.id,
            "path": original.id,
            "sweep": sweep.id,
            "sha": sha,
            "state": original.state,
            "metric": sweep.metric_name,
        },
        again={
            "id": again.id,
            "path": again.id,
            "sweep": again.sweep_id,
            "sha": again.sha,
            "state": again.state,
            "reason": again.reason,
            "stderr_tail": again.stderr_tail,
            "dirty": dirty,
        },
        comparisons=compare(original.summary, again.summary, names, req.rtol, req.atol),
        rtol=req.rtol,
        atol=req.atol,
        notes=notes,
    )
    return result


def _recorded_devices(original: Any) -> tuple[str, ...] | None:
    """The GPUs the agent gave the original (CUDA_VISIBLE_DEVICES), checked: it is store text."""
    if not getattr(original, "devices", None):
        return None
    from orchestrator.agent.gpus import parse_device_list

    return parse_device_list(original.devices, f"the devices recorded for run {original.id}")


def _rerun(
    req: ReproduceRequest,
    original: Any,
    sweep: Any,
    workdir: Path,
    dirty: bool,
    devices: tuple[str, ...] | None,
) -> Any:
    """Launch the original's config with the agent, recorded as a one-run reproduction sweep."""
    from orchestrator.agent.loop import Agent
    from orchestrator.agent.options import AgentOptions, RunContext
    from orchestrator.agent.plan import space_of
    from orchestrator.agent.progress import Progress
    from orchestrator.config.sweep import config_from_dict
    from orchestrator.search.fixed import FixedSampler
    from orchestrator.store import open_store
    from orchestrator.store.queries import reproductions_of
    from orchestrator.store.runs import create_sweep

    config = config_from_dict(sweep.config, sweep.sweep_file or "<stored sweep>")
    ci, tags = rerun_context(workdir, original.branch, sweep.env, sweep.project, original.id)
    with open_store(req.store_path, create=False) as store:
        record = create_sweep(
            store,
            project=sweep.project,
            method=sweep.method,
            config=sweep.config,
            metric_name=sweep.metric_name,
            metric_goal=sweep.metric_goal,
            name=f"reproduce {original.id}",
            env=sweep.env,
            backend="local",
            sweep_file=sweep.sweep_file,
            seed=sweep.seed,
            context=ci,
            flags={
                "reproduces": original.id,
                "reproduces_sweep": sweep.id,
                "dirty": dirty,
                "target_total": 1,
            },
        )
        space = space_of(config)
        sampler = FixedSampler(
            space, original.config, config.metric.goal if config.metric else "minimize", sweep.seed
        )
        options = AgentOptions(
            devices=devices,
            max_total=1,  # the claim after the one run finishes the reproduction sweep
            run_timeout=req.run_timeout,
            max_failures=0,
            echo=req.echo,
            workdir=workdir,
        )
        context = RunContext(project=sweep.project, env=sweep.env, tags=tags, ci=ci)
        progress = Progress(sweep.metric_name, sweep.maximize, total=1, quiet=req.quiet)
        agent = Agent(store, record, config, sampler, space, context, options, progress)
        try:
            agent.run()
        except SweepFailed:
            pass  # the rerun failed; it is recorded, and the comparison says so
        again = [r for r in reproductions_of(store, original.id) if r.sweep_id == record.id]
    if not again:
        raise SweepFailed(f"the rerun of run {original.id} did not start (sweep {record.id})")
    return again[0]
