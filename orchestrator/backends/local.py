"""The local backend: sweepci's own engine and the SQLite store; no account, no network."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

from orchestrator.agent.loop import Agent
from orchestrator.agent.options import AgentOptions, AgentResult, RunContext
from orchestrator.agent.plan import sampler_of, space_of
from orchestrator.agent.progress import Progress
from orchestrator.backends.base import Backend, RunView, SweepHandle
from orchestrator.config.sweep import SweepConfig, config_from_dict
from orchestrator.errors import Interrupted, SweepFailed, UsageError
from orchestrator.store import open_store
from orchestrator.store import runs as store_runs
from orchestrator.store.queries import leaderboard


class LocalBackend(Backend):
    name = "local"

    def __init__(self, store_path: str | Path):
        self.store_path = Path(store_path)

    def create(
        self,
        config: SweepConfig,
        context: RunContext,
        *,
        seed: int = 0,
        shard: tuple[int, int] = (0, 1),
        sweep_file: str | None = None,
        flags: dict[str, Any] | None = None,
        sweep_id: str | None = None,
    ) -> SweepHandle:
        if sweep_id is not None:
            _check_sweep_id(sweep_id)
        with open_store(self.store_path) as store:
            sweep = store_runs.create_sweep(
                store,
                project=context.project,
                method=config.method,
                config=config.raw,
                metric_name=config.metric.name if config.metric else None,
                metric_goal=config.metric.goal if config.metric else None,
                name=config.name,
                env=context.env,
                sweep_file=sweep_file,
                seed=seed,
                shard_index=shard[0],
                shard_count=shard[1],
                context=context.ci,
                flags=flags,
                sweep_id=sweep_id,
            )
        return SweepHandle(
            "local", sweep.id, sweep.project, context.entity, extra={"store": str(self.store_path)}
        )

    def run_agent(
        self,
        handle: SweepHandle,
        context: RunContext,
        options: AgentOptions,
        quiet: bool = False,
        prefix: str = "",
    ) -> AgentResult:
        with open_store(self.store_path) as store:
            sweep = store_runs.get_sweep(store, handle.id)
            if sweep.flags.get("reproduces"):  # its one run is launched by sweepci reproduce
                raise UsageError(f"sweep {sweep.id} is a reproduction and takes no agent")
            config = config_from_dict(sweep.config, sweep.sweep_file or "<stored sweep>")
            sampler = sampler_of(
                config, sweep.seed + (sweep.shard_index if config.method == "bayes" else 0)
            )
            total = options.max_total or options.count
            progress = Progress(
                sweep.metric_name, sweep.maximize, total=total, quiet=quiet, prefix=prefix
            )
            early = None
            if config.early_terminate is not None and config.metric is not None:
                from orchestrator.agent.early import hyperband_stopper

                early = hyperband_stopper(store, sweep, config)
            agent = Agent(
                store, sweep, config, sampler, space_of(config), context, options, progress, early
            )
            return agent.run()

    def list_runs(self, handle: SweepHandle) -> list[RunView]:
        with open_store(self.store_path, create=False) as store:
            sweep = store_runs.get_sweep(store, handle.id)
            # the config each run's wandb.config held, as W&B lists it: the sweep's values only
            return [
                RunView(
                    r.id,
                    r.state,
                    dict(r.config),
                    r.summary,
                    r.tags,
                    r.metric_value,
                    dict(sweep.context or {}),
                )
                for r in leaderboard(store, sweep)
            ]


def _check_sweep_id(sweep_id: str) -> None:
    import re

    from orchestrator.errors import UsageError

    if not re.fullmatch(r"[a-z0-9][a-z0-9_-]{0,63}", sweep_id):
        raise UsageError(f"--sweep-id {sweep_id!r}: use 1-64 lowercase letters, digits, - or _")


def split_count(total: int | None, n: int) -> list[int] | None:
    """`total` runs as n near-equal shares (22, 4 -> 6, 6, 5, 5); None without a total."""
    if total is None:
        return None
    return [total // n + (1 if i < total % n else 0) for i in range(n)]


def run_parallel_agents(
    store_path: Path,
    sweep_id: str,
    options: AgentOptions,
    *,
    n: int | None = None,
    debug: bool = False,
    slots: list[tuple[str, ...]] | None = None,
    counts: list[int] | None = None,
) -> int:
    """Start agent processes on one sweep and wait for them. Returns the worst exit code.

    Each is a `sweepci agent` process: claims in the store are atomic, so the
    agents share the work without coordination beyond SQLite's write lock. With
    `slots` there is one agent per GPU slot, started with CUDA_VISIBLE_DEVICES set to
    it (a W&B sweep path works too: W&B's agent and its runs inherit it). `counts`
    gives each agent its own --count instead of the shared --max-total.
    """
    base = [sys.executable, "-m", "orchestrator"] + (["--debug"] if debug else [])
    n = len(slots) if slots else (n or 1)
    procs = []
    for i in range(n):
        argv = base + ["agent", sweep_id, "--store", str(store_path)]
        env = dict(os.environ)
        label = f"agent {i + 1}"
        if slots:
            devices = ",".join(slots[i])
            argv += ["--devices", devices]
            env["CUDA_VISIBLE_DEVICES"] = devices
            label += f", GPU {devices}"
        argv += ["--prefix", f"[{label}] "]
        if counts is not None:
            if counts[i] < 1:
                continue  # more GPUs than runs
            argv += ["--count", str(counts[i])]
        elif options.max_total is not None:
            argv += ["--max-total", str(options.max_total)]
        elif options.count is not None:
            argv += ["--count", str(options.count)]
        if options.run_timeout is not None:
            argv += ["--run-timeout", str(options.run_timeout)]
        if options.time_budget is not None:
            argv += ["--time-budget", str(options.time_budget)]
        argv += ["--max-failures", str(options.max_failures)]
        if options.echo:
            argv.append("--verbose")
        procs.append(subprocess.Popen(argv, cwd=options.workdir, env=env))

    def forward(signum: int, _frame: Any) -> None:
        for p in procs:
            if p.poll() is None:
                p.send_signal(signum)

    previous = signal.signal(signal.SIGTERM, forward)
    interrupted = False
    try:
        codes = []
        for p in procs:
            while True:
                try:
                    codes.append(p.wait())
                    break
                except KeyboardInterrupt:
                    interrupted = True  # the children got SIGINT from the terminal too
    finally:
        signal.signal(signal.SIGTERM, previous)
    if interrupted or any(c == Interrupted.exit_code for c in codes):
        raise Interrupted(
            f"agents stopped; the sweep is resumable: sweepci run --resume {sweep_id}"
        )
    if any(c == SweepFailed.exit_code for c in codes):
        return SweepFailed.exit_code
    return max(codes) if codes else 0
