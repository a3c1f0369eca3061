"""Start a workflow with `workflow_dispatch`: check inputs, dispatch, find the run.

Inputs are checked against the workflow file in the local checkout before
any request, so a typo costs no API call and no queued run. Following the run
to its end lives in `orchestrator.github.watch`.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any
from urllib.parse import quote

import yaml

from orchestrator.errors import ConfigError, Location, UsageError
from orchestrator.github.api import GitHubClient
from orchestrator.github.trusted_runs import trusted_runs

# GitHub refuses a dispatch with more inputs than this.
MAX_INPUTS = 25
INPUT_TYPES = ("string", "number", "boolean", "choice", "environment")
_TRUE = {"true", "yes", "on", "1"}
_FALSE = {"false", "no", "off", "0"}
# Allowed difference between this machine's clock and GitHub's when a 204
# dispatch forces us to recognise the new run by its creation time.
CLOCK_SKEW = timedelta(seconds=10)


@dataclass(frozen=True)
class WorkflowInput:
    """One input declared under `on.workflow_dispatch.inputs`."""

    name: str
    type: str = "string"
    required: bool = False
    default: str | None = None
    options: tuple[str, ...] = ()


@dataclass
class DispatchedRun:
    """The run a dispatch started; ids are None when GitHub did not say and none was found."""

    run_id: int | None = None
    api_url: str | None = None
    html_url: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def load_dispatch_inputs(path: Path) -> dict[str, WorkflowInput]:
    """Read the `workflow_dispatch` inputs a workflow file declares.

    ConfigError when the file is missing, is not YAML, or has no such trigger.
    """
    if not path.is_file():
        raise ConfigError(f"workflow file not found: {path}; pass --workflow or run `sweepci init`")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        raise ConfigError(f"not valid YAML: {exc}", Location(str(path), line)) from None
    # PyYAML reads the bare key `on` as the boolean True (YAML 1.1).
    triggers = data.get("on", data.get(True)) if isinstance(data, dict) else None
    if isinstance(triggers, str):
        triggers = [triggers]
    if isinstance(triggers, list):
        triggers = {name: None for name in triggers}
    if not isinstance(triggers, dict) or "workflow_dispatch" not in triggers:
        raise ConfigError(
            "the workflow has no `workflow_dispatch` trigger, so it cannot be started by hand",
            Location(str(path)),
        )
    declared = (triggers["workflow_dispatch"] or {}).get("inputs") or {}
    inputs = {}
    for name, spec in declared.items():
        spec = spec or {}
        kind = str(spec.get("type", "string"))
        if kind not in INPUT_TYPES:
            raise ConfigError(f"unknown input type {kind!r}", Location(str(path)), key=str(name))
        default = spec.get("default")
        if isinstance(default, bool):
            default = "true" if default else "false"
        inputs[str(name)] = WorkflowInput(
            name=str(name),
            type=kind,
            required=bool(spec.get("required", False)),
            default=None if default is None else str(default),
            options=tuple(str(o) for o in spec.get("options") or ()),
        )
    return inputs


def validate_inputs(
    given: dict[str, str], declared: dict[str, WorkflowInput], workflow: str
) -> dict[str, str]:
    """Check user-given inputs against the declaration; return them as GitHub wants them.

    Only the given inputs are returned: the workflow applies its own defaults,
    so the run shows exactly what the user asked for.
    """
    names = ", ".join(declared) or "none"
    result: dict[str, str] = {}
    for name, value in given.items():
        spec = declared.get(name)
        if spec is None:
            raise UsageError(f"{workflow} declares no input {name!r} (it declares: {names})")
        result[name] = _check_value(spec, str(value), workflow)
    for spec in declared.values():
        if spec.required and spec.default is None and spec.name not in result:
            raise UsageError(f"{workflow} requires the input {spec.name!r}; pass it with --input")
    if len(result) > MAX_INPUTS:
        raise UsageError(f"GitHub accepts at most {MAX_INPUTS} inputs, got {len(result)}")
    return result


def _check_value(spec: WorkflowInput, value: str, workflow: str) -> str:
    text = value.strip()
    where = f"input {spec.name!r} of {workflow}"
    if spec.type == "number":
        try:
            number = float(text)
        except ValueError:
            number = math.nan
        if not math.isfinite(number):
            raise UsageError(f"{where} must be a number, got {value!r}")
        return text
    if spec.type == "boolean":
        if text.lower() in _TRUE:
            return "true"
        if text.lower() in _FALSE:
            return "false"
        raise UsageError(f"{where} must be true or false, got {value!r}")
    if spec.type == "choice" and text not in spec.options:
        raise UsageError(f"{where} must be one of {', '.join(spec.options)}; got {value!r}")
    if spec.type == "environment" and not text:
        raise UsageError(f"{where} must name an environment")
    return value if spec.type == "string" else text


def workflow_path(owner: str, repo: str, workflow: str) -> str:
    """The API path of a workflow, addressed by its file name."""
    return f"/repos/{owner}/{repo}/actions/workflows/{quote(workflow, safe='')}"


def dispatch_workflow(
    client: GitHubClient,
    owner: str,
    repo: str,
    workflow: str,
    ref: str,
    inputs: dict[str, str],
    *,
    find_timeout: float = 60.0,
    poll_interval: float = 3.0,
    sleep: Callable[[float], None] = time.sleep,
) -> DispatchedRun:
    """Trigger the workflow and return its run.

    GitHub answers 200 with the run when asked for `return_run_details`; older
    servers (GitHub Enterprise) answer 204, and then the newest dispatch run on
    the ref created after this call is taken as ours.
    """
    started = datetime.now(timezone.utc)
    response = client.request(
        "POST",
        f"{workflow_path(owner, repo, workflow)}/dispatches",
        permission="actions: write",
        json={"ref": ref, "inputs": inputs, "return_run_details": True},
        not_found=(
            f"workflow {workflow} not found in {owner}/{repo} (404): check the name, that the "
            f"token can see the repository, and that {workflow} on {ref} has a "
            "workflow_dispatch trigger"
        ),
    )
    if response.status_code == 200 and response.content:
        body = response.json()
        if body.get("workflow_run_id"):
            return DispatchedRun(
                run_id=int(body["workflow_run_id"]),
                api_url=body.get("run_url"),
                html_url=body.get("html_url"),
            )
    return find_dispatched_run(
        client,
        owner,
        repo,
        workflow,
        ref,
        started,
        timeout=find_timeout,
        poll_interval=poll_interval,
        sleep=sleep,
    )


def find_dispatched_run(
    client: GitHubClient,
    owner: str,
    repo: str,
    workflow: str,
    ref: str,
    since: datetime,
    *,
    timeout: float,
    poll_interval: float,
    sleep: Callable[[float], None] = time.sleep,
) -> DispatchedRun:
    """Poll the workflow's dispatch runs on `ref` for the newest one created after `since`."""
    deadline = time.monotonic() + timeout
    params = {"event": "workflow_dispatch", "branch": ref, "per_page": "20"}
    while True:
        body = client.get_json(f"{workflow_path(owner, repo, workflow)}/runs", params=params)
        # only a dispatch of this repository on `ref` can be ours, whatever the list holds
        ours = trusted_runs(
            body.get("workflow_runs") or [],
            f"{owner}/{repo}",
            ref.removeprefix("refs/heads/"),
            events=("workflow_dispatch",),
            conclusion=None,
        )
        fresh = [run for run in ours if _parse_time(run.get("created_at")) >= since - CLOCK_SKEW]
        if fresh:
            run = max(fresh, key=lambda r: (_parse_time(r.get("created_at")), r["id"]))
            return DispatchedRun(int(run["id"]), run.get("url"), run.get("html_url"), run)
        if time.monotonic() + poll_interval > deadline:
            return DispatchedRun()
        # A run appears in the list a few seconds after the dispatch is accepted.
        sleep(poll_interval)


def _parse_time(text: str | None) -> datetime:
    if not text:
        return datetime.min.replace(tzinfo=timezone.utc)
    # Python 3.10's fromisoformat does not accept the trailing Z GitHub writes.
    return datetime.fromisoformat(text.replace("Z", "+00:00"))
