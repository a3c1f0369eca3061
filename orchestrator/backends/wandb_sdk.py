"""sweepci's thin layer over the ``wandb`` SDK: environment, key check, sweeps, runs.

The SDK is imported inside each function, so ``sweepci --help`` and the local
backend never pay for it. The API key is only ever read from ``WANDB_API_KEY``:
``wandb login`` is never called, nothing writes it to disk, and every message
that leaves this module is scrubbed of it. The agent process is
``wandb_agent_process.py``.
"""

from __future__ import annotations

import contextlib
import io
import os
import subprocess
import sys
import threading
import urllib.parse
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

from orchestrator.agent.collect import metric_of
from orchestrator.errors import BackendError, MissingDependencyError, UsageError

KEY_VARIABLE = "WANDB_API_KEY"

# Defaults that make a dead or failing W&B surface in seconds, not minutes
# (FACTS.md: a 500 on UpsertSweep takes ~95 s with the SDK's defaults, ~11 s
# with these; a dead server ~100 s in wandb.init). The caller's own values win,
# e.g. a workflow that prefers patient runs over fast failures. A retry max of
# 0 means the SDK's default, not "no retries". The runs an agent starts inherit
# these too: an init that fails twice in a row fails the run, not the sweep.
BOUNDED_RETRIES = {
    "WANDB_HTTP_TIMEOUT": "10",
    "WANDB__GRAPHQL_RETRY_MAX": "2",
    "WANDB__GRAPHQL_RETRY_WAIT_MAX_SECONDS": "1",
    "WANDB_INIT_TIMEOUT": "60",
}

# Left over from an enclosing W&B agent, these would make the SDK think it is
# already inside a sweep run.
_INHERITED_RUN_VARIABLES = ("WANDB_RUN_ID", "WANDB_SWEEP_ID", "WANDB_SWEEP_PARAM_PATH")

# The SDK keeps its settings in a process-wide singleton read from os.environ,
# so calls that swap the environment must not overlap.
_SESSION_LOCK = threading.Lock()

#: how long wandb.teardown() may wait for its service process (wandb-core) to exit.
#: sweepci's sessions make API calls only: the service holds nothing of theirs to upload.
TEARDOWN_WAIT_S = 15.0


@dataclass(frozen=True)
class SweepRef:
    """Where a W&B sweep lives."""

    entity: str
    project: str
    sweep_id: str
    url: str | None = None

    @property
    def path(self) -> str:
        """``ENTITY/PROJECT/SWEEP_ID``, as ``wandb agent`` and ``wandb.Api().sweep`` take it."""
        return f"{self.entity}/{self.project}/{self.sweep_id}"


def parse_sweep_path(text: str) -> SweepRef:
    """Read ``ENTITY/PROJECT/SWEEP_ID`` (the form ``wandb sweep`` prints)."""
    parts = text.strip().strip("/").split("/")
    if len(parts) != 3 or not all(parts):
        raise UsageError(f"expected a sweep as ENTITY/PROJECT/SWEEP_ID, got {text!r}")
    return SweepRef(*parts)


def import_wandb() -> ModuleType:
    """The ``wandb`` module, or a one-line error saying how to install it."""
    try:
        import wandb
    except ImportError as exc:
        raise MissingDependencyError(
            "the wandb backend needs the W&B SDK: pip install 'sweepci[wandb]'"
        ) from exc
    return wandb


def sdk_environment(base_env: dict[str, str], workdir: Path) -> dict[str, str]:
    """An environment for SDK calls and agent processes that keeps W&B files in ``workdir``.

    The key stays an environment variable: no netrc, no settings file. The
    SDK's own files (run logs, sweep parameter files, cache, settings) go under
    ``workdir`` so a CI job leaves nothing behind in ``$HOME``.
    """
    from orchestrator.backends.wandb_key import with_key

    # the key `wandb login` saved counts like WANDB_API_KEY; it stays in memory
    env = {k: v for k, v in with_key(base_env).items() if k not in _INHERITED_RUN_VARIABLES}
    for name, default in BOUNDED_RETRIES.items():
        env.setdefault(name, default)
    workdir = Path(workdir).resolve()
    dirs = {"WANDB_DIR": workdir, "WANDB_CONFIG_DIR": workdir / "config"}
    dirs["WANDB_CACHE_DIR"] = workdir / "cache"
    for name, path in dirs.items():
        path.mkdir(parents=True, exist_ok=True)
        env[name] = str(path)
    # The agent writes sweep parameter files into $WANDB_DIR/wandb/.
    (workdir / "wandb").mkdir(exist_ok=True)
    env["WANDB_SILENT"] = "true"
    return env


def scrub(text: str, env: dict[str, str], one_line: bool = True) -> str:
    """``text`` with the API key replaced (and folded onto one line)."""
    key = env.get(KEY_VARIABLE)
    if key:
        text = text.replace(key, "***")
    return " ".join(text.split()) if one_line else text


def _service_process(wandb: ModuleType) -> subprocess.Popen | None:
    """The wandb-core process the SDK started in this process, if any.

    Read from the SDK's internals, each step looked up defensively: another
    SDK version without them just leaves the teardown unbounded, as before.
    """
    setup = getattr(getattr(wandb, "sdk", None), "wandb_setup", None)
    connection = getattr(getattr(setup, "_singleton", None), "_connection", None)
    process = getattr(getattr(connection, "_proc", None), "_process", None)
    return process if isinstance(process, subprocess.Popen) else None


def teardown(wandb: ModuleType, wait: float | None = None) -> None:
    """``wandb.teardown()``, bounded: a service process still running after ``wait`` s is killed.

    The SDK waits for its wandb-core process to exit with no limit, and with
    W&B unreachable that process sometimes never does: `sweepci create` against
    a port that refused connections sat there for over 180 s, once in CI and
    once in a few dozen repeats of that test. The kill is of our own child, on
    our own clock. SWEEPCI_WANDB_TEARDOWN_WAIT (seconds) sets ``wait``.
    """
    if wait is None:
        try:
            wait = float(os.environ.get("SWEEPCI_WANDB_TEARDOWN_WAIT", TEARDOWN_WAIT_S))
        except ValueError:
            wait = TEARDOWN_WAIT_S
    service = _service_process(wandb)
    failed: list[BaseException] = []

    def run() -> None:
        try:
            wandb.teardown()
        except BaseException as exc:  # raised here, in the caller, as before
            failed.append(exc)

    worker = threading.Thread(target=run, name="sweepci-wandb-teardown", daemon=True)
    worker.start()
    worker.join(wait)
    if worker.is_alive() and service is not None:
        with contextlib.suppress(OSError):
            service.kill()
        print(
            f"sweepci: warning: W&B's service process (wandb-core) had not exited {wait:g} s"
            " after the SDK's teardown; stopped it",
            file=sys.stderr,
            flush=True,
        )
        worker.join(wait)
        # the SDK answers a service that exited non-zero with sys.exit(its code): expected here
        failed[:] = [e for e in failed if not isinstance(e, SystemExit)]
    if failed:
        raise failed[0]


@contextlib.contextmanager
def sdk_session(env: dict[str, str], action: str) -> Iterator[ModuleType]:
    """Run SDK calls with ``env`` as the process environment; errors become ``BackendError``.

    The SDK reads its settings from ``os.environ`` into a singleton, so the
    environment is swapped in and the singleton torn down on both sides. Its
    prints (``wandb.sweep`` prints the id and URL) are swallowed: sweepci prints
    its own, and stdout may be a JSON document. Not re-entrant.
    """
    wandb = import_wandb()
    if not env.get(KEY_VARIABLE):
        raise BackendError(f"{KEY_VARIABLE} is not set; the wandb backend needs a W&B API key")
    with _SESSION_LOCK:
        saved = dict(os.environ)
        os.environ.clear()
        os.environ.update(env)
        # wandb.Api reads WANDB_HTTP_TIMEOUT once, when first imported; re-read it
        # so each call waits as long as its own environment says.
        saved_timeout = wandb.Api._HTTP_TIMEOUT
        try:
            wandb.Api._HTTP_TIMEOUT = wandb.env.get_http_timeout(saved_timeout)
            teardown(wandb)
            # The SDK's own deprecations and prints are not the user's business.
            with contextlib.redirect_stdout(io.StringIO()), warnings.catch_warnings():
                warnings.simplefilter("ignore", DeprecationWarning)
                yield wandb
        except wandb.errors.AuthenticationError as exc:
            # the SDK says "failed to verify credentials" for DNS failures and 5xx too
            from orchestrator.backends.wandb_key import failure_line

            reason = scrub(str(exc), env) or type(exc).__name__
            raise BackendError(failure_line(reason, action, env.get("WANDB_BASE_URL"))) from None
        except (wandb.errors.Error, OSError, ValueError, KeyError, TypeError) as exc:
            # A failed GraphQL call surfaces as CommError or as a plain error from
            # the response parsing; both mean "W&B did not do it".
            reason = scrub(str(exc), env) or type(exc).__name__
            from orchestrator.backends.wandb_key import failure_kind, failure_line

            if "in time" in reason or "deadline exceeded" in reason:
                # W&B was reached but did not answer: slow, not unreachable
                reason += (
                    f" (no answer within WANDB_HTTP_TIMEOUT={env.get('WANDB_HTTP_TIMEOUT')} s)"
                )
            elif failure_kind(reason) != "key":
                raise BackendError(
                    failure_line(reason, action, env.get("WANDB_BASE_URL"))
                ) from None
            raise BackendError(f"W&B could not {action}: {reason}") from None
        finally:
            teardown(wandb)
            wandb.Api._HTTP_TIMEOUT = saved_timeout
            os.environ.clear()
            os.environ.update(saved)


def check_key(env: dict[str, str]) -> str:
    """Check that ``WANDB_API_KEY`` is set and accepted; return the viewer's entity."""
    with sdk_session(env, "check the API key") as wandb:
        viewer = wandb.Api().viewer
        entity = getattr(viewer, "entity", None)
    if not entity:
        raise BackendError(f"W&B rejected the API key in {KEY_VARIABLE} (no user for it)")
    return str(entity)


def create_sweep(
    config: dict[str, Any], project: str, entity: str | None, env: dict[str, str]
) -> SweepRef:
    """Create a sweep on the W&B sweep server with ``wandb.sweep``."""
    with sdk_session(env, f"create a sweep in project {project!r}") as wandb:
        sweep_id = wandb.sweep(dict(config), project=project, entity=entity)
        api = wandb.Api()
        # wandb.sweep learns the entity from the server when none was given.
        entity = entity or os.environ.get("WANDB_ENTITY") or api.default_entity
        app_url = os.environ.get("WANDB_APP_URL") or wandb.util.api_to_app_url(
            api.settings["base_url"]
        )
    if not sweep_id or not entity:
        raise BackendError(f"W&B did not return a sweep id for project {project!r}")
    quoted = "/".join(urllib.parse.quote(p) for p in (entity, project))
    return SweepRef(entity, project, sweep_id, f"{app_url}/{quoted}/sweeps/{sweep_id}")


def list_runs(sweep: SweepRef, env: dict[str, str]) -> list[dict[str, Any]]:
    """The sweep's runs with their config, summary metrics and tags, oldest first."""
    with sdk_session(env, f"list the runs of sweep {sweep.path}") as wandb:
        runs = wandb.Api().runs(
            f"{sweep.entity}/{sweep.project}", filters={"sweep": sweep.sweep_id}, lazy=False
        )
        return [
            {
                "id": run.id,
                "name": run.name,
                "state": run.state,
                "config": {k: v for k, v in dict(run.config).items() if not k.startswith("_")},
                "summary": {
                    k: v for k, v in dict(run.summary_metrics).items() if not k.startswith("_")
                },
                "tags": list(run.tags or []),
                "notes": run.notes if isinstance(run.notes, str) else None,
                "created_at": run.created_at,
                "url": run.url,
            }
            for run in runs
        ]


def sweep_metric(sweep: SweepRef, env: dict[str, str]) -> tuple[str | None, str | None]:
    """The sweep's `metric` (name, goal) from its config on the W&B server."""
    with sdk_session(env, f"read sweep {sweep.path}") as wandb:
        config = wandb.Api().sweep(sweep.path).config or {}
    metric = config.get("metric") or {}
    return metric.get("name"), metric.get("goal", "minimize")


def best_run(runs: list[dict[str, Any]], metric_name: str, goal: str) -> dict[str, Any] | None:
    """The run with the best finite numeric ``summary[metric_name]``; ``None`` when no run has one."""
    if goal not in ("minimize", "maximize"):
        raise UsageError(f"metric goal must be minimize or maximize, got {goal!r}")
    scored = [
        (v, r) for r in runs if (v := metric_of(r.get("summary", {}), metric_name)) is not None
    ]
    if not scored:
        return None
    pick = max if goal == "maximize" else min
    return pick(scored, key=lambda pair: pair[0])[1]


def run_agent(
    sweep: SweepRef,
    count: int,
    env: dict[str, str],
    tags: list[str],
    ci_config: dict[str, Any],
    workdir: Path,
    *,
    cwd: Path | None = None,
    poll_interval: float = 1.0,
    timeout: float | None = None,
) -> int:
    """Run W&B's agent for ``sweep`` until ``count`` runs finished or the sweep is done.

    The agent is a separate process (``wandb_agent_process``) running the SDK's
    ``wandb agent`` code, because the agent mutates ``os.environ`` and the SDK
    singleton for every run, and a process can be bounded by ``timeout`` and
    stopped with its runs. Every run gets ``tags`` (``WANDB_TAGS``) and
    ``ci_config`` in its notes (``WANDB_NOTES``); its config holds the sweep's
    parameters only, as under ``wandb agent``. The agent's output goes to stderr
    and ``workdir/agent.log``, keeping stdout for sweepci. Returns the agent's
    exit code (0: it stopped normally; failed runs show in ``list_runs``).
    """
    import_wandb()  # fail before starting a process when the SDK is missing
    if count < 1:
        raise UsageError(f"an agent needs a run count of at least 1, got {count}")
    if bad := [t for t in tags if "," in t]:
        raise UsageError(f"W&B tags are passed comma-separated and cannot hold a comma: {bad[0]!r}")
    if not env.get(KEY_VARIABLE):
        raise BackendError(f"{KEY_VARIABLE} is not set; the wandb backend needs a W&B API key")
    from orchestrator.backends import wandb_agent_process

    workdir = Path(workdir).resolve()
    child_env = sdk_environment(env, workdir)
    child_env.pop("WANDB_TAGS", None)
    if tags:  # an empty WANDB_TAGS makes wandb.init fail (FACTS.md)
        child_env["WANDB_TAGS"] = ",".join(tags)
    # The agent starts runs as `/usr/bin/env python <program>`: let `python` be
    # the interpreter that has wandb (and sweepci) installed.
    path = [str(Path(sys.executable).parent), *env.get("PATH", "").split(os.pathsep)]
    child_env["PATH"] = os.pathsep.join(p for p in path if p)  # "" would mean the cwd
    from orchestrator.agent.notes import run_notes

    child_env["WANDB_NOTES"] = run_notes(ci_config)
    args = [sweep.path, "--count", str(count), "--poll-interval", str(poll_interval)]
    try:
        code, reason = wandb_agent_process.start_and_wait(
            args,
            child_env,
            cwd,
            workdir / "agent.log",
            timeout,
            lambda text: scrub(text, env, one_line=False),
        )
    except subprocess.TimeoutExpired:
        raise BackendError(
            f"the W&B agent for sweep {sweep.path} did not finish within {timeout:g} s"
        ) from None
    if code == wandb_agent_process.EXIT_BACKEND:
        reason = scrub(reason or "see the agent log above", env)
        raise BackendError(f"the W&B agent for sweep {sweep.path} failed: {reason}")
    return code
