"""The wandb backend: the W&B sweep server is the engine; agents are W&B's own agent code."""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from orchestrator.agent.collect import metric_of
from orchestrator.agent.notes import ci_of_run, parameters_of_run
from orchestrator.agent.options import AgentOptions, AgentResult, RunContext
from orchestrator.backends import wandb_sdk
from orchestrator.backends.base import Backend, RunView, SweepHandle
from orchestrator.config.sweep import SweepConfig
from orchestrator.errors import UsageError

KEY = wandb_sdk.KEY_VARIABLE
DEFAULT_COUNT = 20


def _run_view(run: dict[str, Any], metric: str | None) -> RunView:
    value = metric_of(run.get("summary", {}), metric)
    state = {
        "finished": "finished",
        "failed": "failed",
        "crashed": "crashed",
        "killed": "killed",
    }.get(run.get("state"), run.get("state") or "unknown")
    config, notes = run.get("config", {}), run.get("notes")
    return RunView(
        run["id"],
        state,
        parameters_of_run(config, notes),
        run.get("summary", {}),
        run.get("tags", []),
        value,
        ci_of_run(config, notes),
    )


class WandbBackend(Backend):
    """Create sweeps on W&B and run W&B's agent; SDK files live under `work_root/wandb`."""

    name = "wandb"

    def __init__(self, work_root: Path):
        self.workdir = Path(work_root) / "wandb-sdk"

    def _env(self) -> dict[str, str]:
        from orchestrator.backends.wandb_key import with_key

        env = with_key(os.environ)  # WANDB_API_KEY, or the key `wandb login` saved
        if not env.get(KEY):
            raise UsageError(
                f"{KEY} is not set and `wandb login` saved no key; the wandb backend needs a "
                "W&B API key (or use --backend local)"
            )
        # no ::add-mask:: of the key: the runner masks repository secrets itself, and a
        # masking command is one more place (captured stderr, a log file) holding it in clear
        return env

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
        if shard[1] > 1:
            raise UsageError(
                "--shard is for the local backend; with wandb, every matrix job joins one sweep (sweepci agent)"
            )
        if sweep_id is not None:
            raise UsageError("--sweep-id is for the local backend; W&B assigns sweep ids")
        env = wandb_sdk.sdk_environment(self._env(), self.workdir)
        body = config.to_wandb_dict()
        # the routed project and entity win over the file's: dev and prod must never mix
        body.pop("project", None)
        body.pop("entity", None)
        ref = wandb_sdk.create_sweep(body, context.project, context.entity, env)
        return SweepHandle(
            "wandb",
            ref.sweep_id,
            ref.project,
            ref.entity,
            ref.url,
            extra={
                "metric": config.metric.name if config.metric else None,
                "goal": config.metric.goal if config.metric else None,
            },
        )

    def run_agent(
        self, handle: SweepHandle, context: RunContext, options: AgentOptions, quiet: bool = False
    ) -> AgentResult:
        env = self._env()
        count = options.max_total or options.count or DEFAULT_COUNT
        ref = wandb_sdk.SweepRef(handle.entity or "", handle.project, handle.id, handle.url)
        if not quiet:
            print(
                f"sweepci: W&B agent for {ref.path} ({count} run(s) at most)",
                file=sys.stderr,
                flush=True,
            )
        sdk_env = wandb_sdk.sdk_environment(env, self.workdir)
        # runs already in the sweep (earlier agents, other matrix jobs) are not this agent's
        before = {r["id"] for r in wandb_sdk.list_runs(ref, sdk_env)}
        wandb_sdk.run_agent(
            ref,
            count,
            env,
            context.tags,
            context.ci,
            self.workdir,
            cwd=options.workdir,
            poll_interval=float(os.environ.get("SWEEPCI_WANDB_POLL", "1.0")),
            timeout=options.time_budget,
        )
        runs = [
            _run_view(r, handle.extra.get("metric"))
            for r in wandb_sdk.list_runs(ref, sdk_env)
            if r["id"] not in before
        ]
        result = AgentResult(started=len(runs))
        result.finished = sum(r.state == "finished" for r in runs)
        result.failed = sum(r.state in ("failed", "crashed") for r in runs)
        result.killed = sum(r.state == "killed" for r in runs)
        return result

    def list_runs(self, handle: SweepHandle) -> list[RunView]:
        env = wandb_sdk.sdk_environment(self._env(), self.workdir)
        ref = wandb_sdk.SweepRef(handle.entity or "", handle.project, handle.id, handle.url)
        return [_run_view(r, handle.extra.get("metric")) for r in wandb_sdk.list_runs(ref, env)]


def join_wandb_sweep(path: str, options: AgentOptions, quiet: bool) -> int:
    """`sweepci agent ENTITY/PROJECT/ID`: one more agent of a W&B sweep (a matrix job)."""
    from orchestrator.ci.prepare import prepare

    ref = wandb_sdk.parse_sweep_path(path)
    prepared = prepare(guard=True)
    if ref.project != prepared.route.project:
        raise UsageError(
            f"sweep {path} is in project {ref.project}, but this checkout routes to {prepared.route.project} "
            f"({prepared.route.why}); dev and prod must not mix"
        )
    backend = WandbBackend(Path(os.environ.get("SWEEPCI_STORE", ".sweepci/sweepci.db")).parent)
    handle = SweepHandle("wandb", ref.sweep_id, ref.project, ref.entity)
    context = prepared.run_context
    if not options.devices:
        result = backend.run_agent(handle, context, options, quiet)
        return 0 if result.finished or not result.started else 1
    from orchestrator.agent.device_lock import hold_devices

    # W&B's agent starts the runs, one at a time, with this process's CUDA_VISIBLE_DEVICES;
    # the slot is held for the agent's whole life and each run is tagged with it
    os.environ["CUDA_VISIBLE_DEVICES"] = ",".join(options.devices)
    context.tags = [*context.tags, ("gpu:" + "+".join(options.devices))[:64]]
    with hold_devices(options.devices, lambda: False) as _held:
        result = backend.run_agent(handle, context, options, quiet)
    return 0 if result.finished or not result.started else 1


@dataclass
class WandbSweepResults:
    """The runs of a W&B sweep, best first when the metric is known."""

    handle: SweepHandle
    metric: str | None
    runs: list[RunView]
    best: RunView | None

    def to_json(self) -> dict[str, Any]:
        return {
            "sweep": {"path": self.handle.path, "url": self.handle.url, "metric": self.metric},
            "runs": [r.__dict__ for r in self.runs],
            "best": self.best.__dict__ if self.best else None,
        }


def wandb_results(handle: SweepHandle) -> WandbSweepResults:
    """The runs of a W&B sweep from W&B, sorted by its metric (read from W&B when not known)."""
    backend = WandbBackend(Path(".sweepci"))
    if not handle.extra.get("metric"):
        # a sweep named on the command line: its metric comes from its config on W&B
        ref = wandb_sdk.SweepRef(handle.entity or "", handle.project, handle.id, handle.url)
        name, goal = wandb_sdk.sweep_metric(
            ref, wandb_sdk.sdk_environment(backend._env(), backend.workdir)
        )
        handle.extra.update(metric=name, goal=goal)
    runs = backend.list_runs(handle)
    metric, goal = handle.extra.get("metric"), handle.extra.get("goal")
    if metric:
        scored = sorted(
            (r for r in runs if r.metric_value is not None),
            key=lambda r: r.metric_value,
            reverse=goal == "maximize",
        )
        runs = scored + [r for r in runs if r.metric_value is None]
    best = next((r for r in runs if r.state == "finished" and r.metric_value is not None), None)
    return WandbSweepResults(handle, metric, runs, best)
