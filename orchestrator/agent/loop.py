"""The agent loop: claim -> launch -> collect -> report, until the sweep or the budget ends."""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

from orchestrator.agent.capture import capture_after_run
from orchestrator.agent.collect import collect_metrics, final_trace, metric_of
from orchestrator.agent.command import (
    build_argv,
    child_environment,
    redact,
    secret_values,
    write_param_file,
)
from orchestrator.agent.device_lock import hold_devices
from orchestrator.agent.gpus import slot_text
from orchestrator.agent.livemetrics import HOOK_FILE, LiveMetrics
from orchestrator.agent.notes import run_notes
from orchestrator.agent.options import AgentOptions, AgentResult, EarlyStop, RunContext
from orchestrator.agent.process import run_process
from orchestrator.agent.progress import Progress
from orchestrator.config.sweep import SweepConfig
from orchestrator.errors import Interrupted, SweepFailed
from orchestrator.search.base import Sampler, Trial
from orchestrator.search.space import Space
from orchestrator.store import claims, recovery, run_files
from orchestrator.store import runs as store_runs
from orchestrator.store.db import Store
from orchestrator.store.records import (
    CRASHED,
    FAILED,
    FINISHED,
    INTERRUPTED,
    KILLED,
    RunRecord,
    SweepRecord,
    new_id,
)
from orchestrator.store.traces import save_trace
from orchestrator.trials.metric_value import MetricRule

HEARTBEAT_EVERY_S = 5.0
#: how often a running run's trace is written for the other agents to judge theirs against
TRACE_EVERY_S = 0.2


class StopFlag:
    """Set by SIGINT/SIGTERM; the running child is stopped and recorded, then the agent exits."""

    def __init__(self) -> None:
        self.event = threading.Event()
        self.signum: int | None = None

    def install(self) -> Callable[[], None]:
        if threading.current_thread() is not threading.main_thread():
            return lambda: None
        previous = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}

        def handler(signum: int, _frame: Any) -> None:
            self.signum = signum
            self.event.set()

        for s in previous:
            signal.signal(s, handler)

        def restore() -> None:
            for s, h in previous.items():
                signal.signal(s, h)

        return restore


def shard_suggest(sampler: Sampler) -> Callable[[Sequence[Trial], SweepRecord], dict | None]:
    """The suggestion rule for a sweep, honouring deterministic shards (matrix jobs)."""

    def suggest(trials: Sequence[Trial], sweep: SweepRecord) -> dict | None:
        k, n = sweep.shard_index, sweep.shard_count
        if n <= 1:
            return sampler.suggest(trials)
        if sweep.method == "grid":
            from orchestrator.search.grid import GridSampler
            from orchestrator.trials.trial import config_key

            assert isinstance(sampler, GridSampler)
            taken = {config_key(t.config) for t in trials}
            for i, point in enumerate(sampler.points()):
                if i % n == k and config_key(point) not in taken:
                    return point
            return None
        if sweep.method == "random":
            return sampler.suggest(trials, index=k + n * len(trials))
        return sampler.suggest(trials)

    return suggest


class Agent:
    """Runs configurations of one local sweep until told to stop."""

    def __init__(
        self,
        store: Store,
        sweep: SweepRecord,
        config: SweepConfig,
        sampler: Sampler,
        space: Space,
        context: RunContext,
        options: AgentOptions,
        progress: Progress,
        early_stop: EarlyStop | None = None,
    ):
        self.store = store
        self.sweep = sweep
        self.config = config
        self.sampler = sampler
        self.space = space
        self.context = context
        self.options = options
        self.progress = progress
        self.early_stop = early_stop
        self.agent_id = new_id()
        self.stop = StopFlag()
        self._secrets = secret_values()

    def run(self) -> AgentResult:
        result = AgentResult()
        restore = self.stop.install()
        started_at = time.monotonic()
        consecutive_failures = 0
        suggest = shard_suggest(self.sampler)
        try:
            recovery.recover_stale_runs(self.store, self.sweep.id)
            while not self.stop.event.is_set():
                if self.options.count is not None and result.started >= self.options.count:
                    result.stop_reason = f"--count {self.options.count} reached"
                    break
                if (
                    self.options.time_budget is not None
                    and time.monotonic() - started_at >= self.options.time_budget
                ):
                    result.stop_reason = f"time budget of {self.options.time_budget:g} s spent"
                    break
                with self._devices_held(started_at) as held:
                    if not held:
                        result.stop_reason = "stopped while waiting for a GPU"
                        break
                    run = claims.claim_next_run(
                        self.store,
                        self.sweep.id,
                        self.agent_id,
                        suggest,
                        max_total=self.options.max_total,
                        run_cap=self.config.run_cap,
                        context={
                            "branch": self.context.ci.get("branch"),
                            "sha": self.context.ci.get("sha"),
                        },
                        tags=self.context.tags,
                        target_reached=self.sampler.reached_target,
                        devices=slot_text(self.options.devices) if self.options.devices else None,
                        rule=self._value_rule(),
                    )
                    if run is None:
                        result.stop_reason = (
                            store_runs.get_sweep(self.store, self.sweep.id).status_reason
                            or "no more runs"
                        )
                        break
                    result.started += 1
                    state = self._run_one(run, started_at)
                if state == FINISHED:
                    result.finished += 1
                    consecutive_failures = 0
                elif state in (FAILED, CRASHED):
                    result.failed += 1
                    consecutive_failures += 1
                    result.last_failure = _reload(self.store, run.id)
                elif state == KILLED:
                    result.killed += 1
                if state == INTERRUPTED:
                    result.interrupted = True
                    break
                if consecutive_failures >= self.options.max_failures > 0:
                    result.stop_reason = f"{consecutive_failures} runs failed in a row"
                    raise SweepFailed(_failure_message(self.config, result, consecutive_failures))
        finally:
            restore()
        if result.interrupted or self.stop.event.is_set():
            result.interrupted = True
            raise Interrupted(
                f"stopped by {_signal_name(self.stop.signum)}; the sweep is resumable: "
                f"sweepci run --resume {self.sweep.id}"
            )
        if result.started and result.failed == result.started:
            raise SweepFailed(_failure_message(self.config, result, result.failed))
        return result

    def _value_rule(self) -> MetricRule | None:
        """Bayes models each run by W&B's value (trials/metric_value.py), not its summary."""
        metric = self.config.metric
        if metric is None or self.config.method != "bayes":
            return None
        return MetricRule(metric.name, metric.goal, metric.impute, metric.impute_while_running)

    def _devices_held(self, started_at: float):
        """This agent's GPU slot, held for one run (no lock without --gpus)."""
        if not self.options.devices:
            return contextlib.nullcontext(True)
        budget = self.options.time_budget

        def should_stop() -> bool:
            spent = budget is not None and time.monotonic() - started_at >= budget
            return self.stop.event.is_set() or spent

        return hold_devices(
            self.options.devices,
            should_stop,
            lambda d: self.progress.message(f"waiting for GPU {d} (another sweepci run holds it)"),
        )

    # -- one run -------------------------------------------------------------
    def _run_one(self, run: RunRecord, sweep_started: float) -> str:
        run_dir = run_files.run_dir(self.store.root, self.sweep.id, run.id)
        wandb_dir = run_dir / "files"
        (wandb_dir / "wandb").mkdir(parents=True, exist_ok=True)
        params = self.space.nest(run.config)
        param_path = run_dir / "params.yaml"
        # only the sweep's parameters, as `wandb agent` writes it: the CI context goes to notes
        write_param_file(param_path, params)
        args_json_file = run_dir / "args.json"
        argv_env = child_environment(
            os.environ,
            sweep_id=self.sweep.id,
            run_id=run.id,
            project=self.context.project,
            entity=self.context.entity,
            tags=self.context.tags,
            group=f"sweep-{self.sweep.id}",
            param_path=param_path,
            wandb_dir=wandb_dir,
            metrics_file=run_dir / "metrics.jsonl",
            wandb_log_file=run_dir / HOOK_FILE,
            notes=run_notes(self.context.ci),
        )
        if self.options.devices:
            argv_env["CUDA_VISIBLE_DEVICES"] = slot_text(self.options.devices)
        argv = build_argv(
            self.config.command, self.config.program, params, args_json_file, argv_env
        )
        if any(part == str(args_json_file) for part in argv):
            import json

            args_json_file.write_text(json.dumps(params))
        self.progress.run_started(run)
        metric = self.config.metric.name if self.config.metric else None
        bands = self.early_stop.bands if self.early_stop is not None else frozenset()
        live = LiveMetrics(run_dir, metric, bands)
        last_beat = [time.monotonic()]
        saved = [0, 0.0]  # trace length and time of the last trace written

        # other agents read a running run's trace to judge theirs (hyperband) or to model
        # it (bayes with impute_while_running); otherwise only its final trace is kept
        shared = metric is not None and (
            self.early_stop is not None
            or (
                self.config.metric is not None
                and self.config.metric.impute_while_running != "false"
            )
        )

        def share_trace(now: float, force: bool = False) -> None:
            trace = live.trace()
            if shared and trace.n != saved[0] and (force or now - saved[1] >= TRACE_EVERY_S):
                save_trace(self.store, run.id, metric, trace)
                saved[0], saved[1] = trace.n, now

        def poll() -> tuple[str, str] | None:
            if self.stop.event.is_set():
                return ("interrupted", f"agent stopped by {_signal_name(self.stop.signum)}")
            now = time.monotonic()
            if now - last_beat[0] >= HEARTBEAT_EVERY_S:
                last_beat[0] = now
                store_runs.heartbeat(self.store, run.id)
            if (
                self.options.time_budget is not None
                and now - sweep_started > self.options.time_budget
            ):
                return (
                    "killed",
                    f"time budget of {self.options.time_budget:g} s spent (--time-budget)",
                )
            live.update()
            share_trace(now)
            if self.early_stop is not None:
                reason = self.early_stop(run, live.trace())
                if reason:
                    share_trace(now, force=True)
                    return ("killed", reason)
            return None

        outcome = run_process(
            argv,
            cwd=self.options.workdir,
            env=argv_env,
            stdout_path=run_dir / "stdout.log",
            stderr_path=run_dir / "stderr.log",
            timeout=self.options.run_timeout,
            on_started=lambda pgid: store_runs.mark_started(self.store, run.id, pgid, str(run_dir)),
            poll=poll,
            echo=self.options.echo,
        )
        live.finish()
        for line in live.warnings(run.id):
            _warn(line)
        summary, history = collect_metrics(wandb_dir, run.id, live)
        capture_after_run(self.store, wandb_dir, run)  # never raises: a failure is one warning line
        value = metric_of(summary, metric)
        trace = (metric, final_trace(metric, summary, history, live, bands)) if metric else None
        if outcome.stop_kind == "interrupted":
            state, reason = INTERRUPTED, outcome.stop_reason
        elif outcome.stop_kind == "killed":
            state, reason = KILLED, outcome.stop_reason
        elif outcome.returncode == 0:
            state, reason = FINISHED, None
        elif outcome.returncode is not None and outcome.returncode < 0:
            state, reason = (
                CRASHED,
                f"killed by signal {-outcome.returncode} ({_signal_name(-outcome.returncode)})",
            )
        else:
            state, reason = FAILED, f"exit code {outcome.returncode}"
        tail = redact(outcome.stderr_tail, self._secrets) if state != FINISHED else None
        store_runs.finish_run(
            self.store,
            run.id,
            state=state,
            exit_code=outcome.returncode,
            reason=reason,
            stderr_tail=tail,
            summary=summary,
            metric_value=value if state in (FINISHED, KILLED) else None,
            history=history,
            duration=outcome.duration,
            trace=trace,
        )
        self.progress.run_finished(
            _reload(self.store, run.id), outcome.duration, run_dir / "stderr.log"
        )
        return state


def _reload(store: Store, run_id: str) -> RunRecord:
    from orchestrator.store.queries import get_run

    run = get_run(store, run_id)
    assert run is not None
    return run


def _warn(text: str) -> None:
    print(f"sweepci: warning: {text}", file=sys.stderr, flush=True)


def _signal_name(signum: int | None) -> str:
    if signum is None:
        return "a signal"
    try:
        return signal.Signals(signum).name
    except ValueError:
        return f"signal {signum}"


def _failure_message(config: SweepConfig, result: AgentResult, n: int) -> str:
    last = result.last_failure
    command = " ".join(config.command)
    where = f"program {config.program}" if config.program else f"command {command}"
    text = f"{n} run(s) failed; {where}"
    if last is not None:
        text += f"; last run {last.id}: {last.reason}"
        tail = (last.stderr_tail or "").strip().splitlines()[-3:]
        if tail:
            text += "; stderr ends: " + " | ".join(line.strip() for line in tail)
    return text
