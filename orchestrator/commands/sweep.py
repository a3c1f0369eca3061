"""What `run`, `create`, `resume` and `agent` do, as functions (the CLI parses and prints)."""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from orchestrator.agent.options import AgentOptions, AgentResult, RunContext
from orchestrator.agent.plan import load_sweep_with_warnings
from orchestrator.backends.base import Backend, SweepHandle, choose_backend
from orchestrator.ci.prepare import Prepared, prepare
from orchestrator.config.sweep import SweepConfig
from orchestrator.errors import SweepFailed, UsageError

DEFAULT_COUNT = 20


def parse_shard(text: str | None) -> tuple[int, int]:
    """'2/4' (1-based) -> (1, 4)."""
    if not text:
        return (0, 1)
    try:
        k, n = (int(x) for x in text.split("/"))
    except ValueError:
        raise UsageError(f"--shard expects K/N such as 1/4, not {text!r}") from None
    if not 1 <= k <= n:
        raise UsageError(f"--shard {text}: K must be between 1 and N")
    return (k - 1, n)


def get_backend(name: str, store_path: str | Path) -> Backend:
    if name == "wandb":
        from orchestrator.backends.wandb import WandbBackend

        return WandbBackend(work_root=Path(store_path).parent)
    from orchestrator.backends.local import LocalBackend

    return LocalBackend(store_path)


def _say(text: str) -> None:
    print(f"sweepci: {text}", file=sys.stderr, flush=True)


@dataclass
class SweepRequest:
    """What `run` and `create` were asked for: the sweep file and where its sweep goes."""

    file: str
    overrides: list[str] = field(default_factory=list)
    add: bool = False
    seed: int = 0
    store_path: str = ".sweepci/sweepci.db"
    backend: str | None = None
    env_override: str | None = None
    tags: tuple[str, ...] = ()
    project_file: str | None = None
    allow_dirty: bool = False
    shard: str | None = None
    sweep_id: str | None = None


def create_sweep_from_file(
    req: SweepRequest,
    announce: Callable[[str], None] = _say,
    flags: dict[str, Any] | None = None,
) -> tuple[SweepHandle, Prepared, SweepConfig]:
    """Validate, route, guard, then create the sweep. Nothing is written before all checks pass."""
    config = load_sweep_with_warnings(
        req.file, req.overrides, req.add, lambda w: _say(f"warning: {w}")
    )
    shard_kn = parse_shard(req.shard)
    if shard_kn[1] > 1 and config.method == "bayes":
        announce(
            "note: bayes shards search independently (seed + shard); use the wandb backend for one shared search"
        )
    prepared = prepare(req.project_file, req.env_override, req.tags, req.allow_dirty)
    chosen, why = choose_backend(req.backend or prepared.project.backend)
    announce(f"backend {chosen} ({why}); {prepared.route.why} -> project {prepared.route.project}")
    if prepared.ctx.note:
        announce(f"note: {prepared.ctx.note}")
    sweep_flags = dict(flags or {})
    if prepared.notes:
        sweep_flags["guard"] = prepared.notes
    handle = get_backend(chosen, req.store_path).create(
        config,
        prepared.run_context,
        seed=req.seed,
        shard=shard_kn,
        sweep_file=req.file,
        flags=sweep_flags,
        sweep_id=req.sweep_id,
    )
    _github_mask_and_outputs(
        {"sweep-id": handle.path, "env": prepared.route.env, "project": prepared.route.project}
    )
    return handle, prepared, config


@dataclass
class SweepOutcome:
    """How the agents of a sweep ended; `finish()` once the results have been shown."""

    handle: SweepHandle
    code: int = 0
    failure: SweepFailed | None = None
    store_path: str | None = None
    #: said last, after the results (a grid stopped early: how to run the rest)
    note: str | None = None

    def finish(self) -> int:
        """Raise the failure the agents met (or a metric no run logged), else return the exit code."""
        if self.failure is not None:
            raise self.failure
        if self.store_path and self.handle.backend == "local":
            _check_metric_logged(self.handle, self.store_path)
        if self.code == SweepFailed.exit_code:
            raise SweepFailed(
                f"the agents of sweep {self.handle.id} failed; see their messages above"
            )
        if self.note:
            _say(self.note)
        return self.code


def run_sweep(
    req: SweepRequest,
    *,
    count: int | None,
    parallel: int,
    options: AgentOptions,
    quiet: bool,
    debug: bool,
    slots: list[tuple[str, ...]] | None = None,
) -> SweepOutcome:
    """Create a sweep and run agents until done (one per GPU slot with `slots`)."""
    grid = grid_points(req)
    # like `wandb agent`, a grid without a count runs every point; random and bayes stop at 20
    target = count or grid or DEFAULT_COUNT
    handle, prepared, _config = create_sweep_from_file(req, flags={"target_total": target})
    _say(f"sweep {handle.path} created")
    options.count = None
    options.max_total = target
    outcome = _drive(
        handle, prepared.run_context, options, parallel, req.store_path, quiet, debug, slots
    )
    if grid and target < grid:
        left = grid - target
        again = (
            f"sweepci run --resume {handle.id} --count {left}"
            if handle.backend == "local"
            else f"sweepci agent {handle.path} --count {left}"
        )
        outcome.note = f"{left} of {grid} grid points are left (--count {target} stopped it); run them: {again}"
    return outcome


def grid_points(req: SweepRequest) -> int | None:
    """How many runs a grid sweep has (run_cap applied); None for random and bayes."""
    from orchestrator.agent.plan import space_of
    from orchestrator.config.sweep import load_sweep
    from orchestrator.search.grid import GridSampler

    config, _warnings = load_sweep(req.file, req.overrides, req.add)  # warned when it is created
    if config.method != "grid":
        return None
    total = GridSampler(space_of(config)).total()
    return min(total, config.run_cap) if config.run_cap else total


def resume_sweep(
    sweep_id: str,
    *,
    store_path: str,
    count: int | None,
    parallel: int,
    options: AgentOptions,
    quiet: bool,
    debug: bool,
    slots: list[tuple[str, ...]] | None = None,
) -> SweepOutcome:
    """Go on with a stopped local sweep until its target (or --count more runs)."""
    from orchestrator.store import claims, open_store, recovery
    from orchestrator.store import runs as store_runs

    with open_store(store_path, create=False) as store:
        sweep = store_runs.get_sweep(store, sweep_id)
        refuse_reproduction_sweep(sweep)
        recovery.recover_stale_runs(store, sweep.id)
        done = claims.active_run_count(store, sweep.id)
        if sweep.status == "finished" and not count:
            _say(
                f"sweep {sweep.id} already finished ({sweep.status_reason}); add --count N for N more runs"
            )
        elif sweep.status != "running":
            store_runs.set_sweep_status(store, sweep.id, "running")
    target = done + count if count else int(sweep.flags.get("target_total", DEFAULT_COUNT))
    _say(f"resuming sweep {sweep.id}: {done} run(s) so far, going on to {target}")
    context = RunContext(
        project=sweep.project,
        env=sweep.env,
        tags=_stored_tags(sweep.context, sweep.env),
        ci=sweep.context,
        entity=None,
    )
    handle = SweepHandle("local", sweep.id, sweep.project)
    options.count = None
    options.max_total = target
    return _drive(handle, context, options, parallel, store_path, quiet, debug, slots)


def refuse_reproduction_sweep(sweep: Any) -> None:
    """A reproduction (sweepci reproduce) is one run of a given config at a given commit:
    its sweep takes no further runs from an agent, which would search and use this checkout."""
    if sweep.flags.get("reproduces"):
        raise UsageError(
            f"sweep {sweep.id} is the rerun of run {sweep.flags['reproduces']} (sweepci reproduce) "
            f"and takes no more runs; run sweepci reproduce {sweep.flags['reproduces']} again"
        )


def _stored_tags(ci: dict, env: str | None) -> list[str]:
    from orchestrator.ci.context import RunContextInfo
    from orchestrator.ci.routing import run_tags

    fields = {k: ci.get(k) for k in RunContextInfo.__dataclass_fields__ if k in ci}
    fields.setdefault("source", "none")
    fields.setdefault("event", "local")
    return run_tags(RunContextInfo(**fields), env or "dev")


def join_sweep(
    sweep_id: str,
    *,
    store_path: str,
    quiet: bool,
    prefix: str,
    options: AgentOptions,
    slots: list[tuple[str, ...]] | None = None,
) -> int:
    """`sweepci agent`: join a local sweep (id) or a W&B sweep (entity/project/id); with
    `slots`, one agent process per GPU slot, sharing `options.count` runs among them."""
    if slots:
        from orchestrator.backends.local import run_parallel_agents, split_count

        counts = split_count(options.count, len(slots))
        return run_parallel_agents(Path(store_path), sweep_id, options, slots=slots, counts=counts)
    if sweep_id.count("/") == 2:
        from orchestrator.backends.wandb import join_wandb_sweep

        return join_wandb_sweep(sweep_id, options, quiet)
    from orchestrator.backends.local import LocalBackend
    from orchestrator.store import open_store
    from orchestrator.store import runs as store_runs

    with open_store(store_path, create=False) as store:
        sweep = store_runs.get_sweep(store, sweep_id)
        refuse_reproduction_sweep(sweep)
    context = RunContext(
        project=sweep.project,
        env=sweep.env,
        tags=_stored_tags(sweep.context, sweep.env),
        ci=sweep.context,
    )
    result = LocalBackend(store_path).run_agent(
        SweepHandle("local", sweep.id, sweep.project), context, options, quiet, prefix
    )
    return 0 if result.started == 0 or result.finished or result.killed else 1


def _drive(
    handle: SweepHandle,
    context: RunContext,
    options: AgentOptions,
    parallel: int,
    store_path: str,
    quiet: bool,
    debug: bool,
    slots: list[tuple[str, ...]] | None = None,
) -> SweepOutcome:
    code = 0
    failure: SweepFailed | None = None
    if slots:
        from orchestrator.backends.local import run_parallel_agents, split_count

        # a W&B agent knows only its own count: the sweep's target is split among them
        counts = None if handle.backend == "local" else split_count(options.max_total, len(slots))
        code = run_parallel_agents(
            Path(store_path), handle.path, options, debug=debug, slots=slots, counts=counts
        )
    elif handle.backend == "local" and parallel > 1:
        from orchestrator.backends.local import run_parallel_agents

        code = run_parallel_agents(Path(store_path), handle.id, options, n=parallel, debug=debug)
    else:
        backend = get_backend(handle.backend, store_path)
        try:
            result: AgentResult = backend.run_agent(handle, context, options, quiet)
            if result.stop_reason:
                _say(f"agent stopped: {result.stop_reason}")
        except SweepFailed as exc:
            failure = exc
    return SweepOutcome(handle, code, failure, store_path)


def _check_metric_logged(handle: SweepHandle, store_path: str) -> None:
    """Exit 1 when runs finished but none logged the sweep's metric (a sweep with no result)."""
    from orchestrator.report.metric_check import missing_metric
    from orchestrator.store import open_store
    from orchestrator.store.queries import best_run, leaderboard
    from orchestrator.store.runs import get_sweep

    with open_store(store_path, create=False) as store:
        sweep = get_sweep(store, handle.id)
        if best_run(store, sweep) is not None:
            return
        error = missing_metric(sweep, leaderboard(store, sweep, limit=1000, finished_only=True))
    if error is not None:
        raise error


def _github_mask_and_outputs(outputs: dict[str, str]) -> None:
    from orchestrator.github.commands import in_actions, set_outputs

    # no ::add-mask:: of WANDB_API_KEY / GITHUB_TOKEN: the runner masks secrets already, and
    # echoing one puts it in every captured stdout (`sweepci run --json > result.json`)
    if in_actions():
        set_outputs(outputs)
    sys.stdout.flush()
