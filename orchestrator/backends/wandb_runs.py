"""One W&B run read through the W&B API: what it is, its detail, its config and commit.

`show ENTITY/PROJECT/ID` and `reproduce ENTITY/PROJECT/ID` start here. Everything
W&B returns is untrusted: the commit is checked as a full hex sha before it is
used, strings are bounded, and only plain JSON values are kept.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from orchestrator.agent.collect import metric_of
from orchestrator.agent.notes import ci_of_run, parameters_of_run
from orchestrator.backends import wandb_sdk
from orchestrator.errors import NotFoundError

#: W&B answers "Could not find run/sweep <...>" for an id it does not hold
_NOT_FOUND = "could not find"


def keyed_environment() -> dict[str, str]:
    """The process environment, which must hold WANDB_API_KEY (a one-line error if not)."""
    from orchestrator.backends.wandb_key import with_key
    from orchestrator.errors import UsageError

    env = with_key(os.environ)  # WANDB_API_KEY, or the key `wandb login` saved
    if not env.get(wandb_sdk.KEY_VARIABLE):
        raise UsageError(
            f"{wandb_sdk.KEY_VARIABLE} is not set and `wandb login` saved no key; reading a W&B "
            "run or sweep needs a W&B API key"
        )
    return env


def _env() -> dict[str, str]:
    workdir = Path(os.environ.get("SWEEPCI_STORE", ".sweepci/sweepci.db")).parent / "wandb-sdk"
    return wandb_sdk.sdk_environment(keyed_environment(), workdir)


def _missing(exc: Exception) -> bool:
    return _NOT_FOUND in str(exc).lower()


def kind_of(path: str) -> str:
    """'sweep' or 'run' for ENTITY/PROJECT/ID; NotFoundError when W&B holds neither."""
    ref = wandb_sdk.parse_sweep_path(path)
    env = _env()
    with wandb_sdk.sdk_session(env, f"look up {ref.path}") as wandb:
        api = wandb.Api()
        for kind in ("sweep", "run"):
            try:
                getattr(api, kind)(ref.path)
            except wandb.errors.CommError as exc:
                if _missing(exc):
                    continue
                raise
            return kind
    raise NotFoundError(f"W&B holds no sweep or run {ref.path} (check the entity, project and id)")


def _plain(value: Any) -> Any:
    """A JSON value (W&B's config and summary objects hold wrappers)."""
    try:
        return json.loads(json.dumps(value, default=str))
    except (TypeError, ValueError):
        return str(value)


def fetch_run(path: str) -> dict[str, Any]:
    """The run's id, state, config (values only), notes (the CI context), summary, tags, commit,
    history length, sweep (id, metric, config) and artifacts, from the W&B API."""
    ref = wandb_sdk.parse_sweep_path(path)
    env = _env()
    with wandb_sdk.sdk_session(env, f"read run {ref.path}") as wandb:
        api = wandb.Api()
        try:
            run = api.run(ref.path)
        except wandb.errors.CommError as exc:
            if _missing(exc):
                raise NotFoundError(f"W&B holds no run {ref.path}") from None
            raise
        sweep = run.sweep
        sweep_config = _plain(dict(sweep.config or {})) if sweep is not None else {}
        used, produced = _artifacts(run, wandb)
        again = _reproductions(api, ref, run.id)
        data = {
            "id": run.id,
            "entity": ref.entity,
            "project": ref.project,
            "state": run.state,
            "config": _plain({k: v for k, v in dict(run.config).items() if not k.startswith("_")}),
            "summary": _plain(
                {k: v for k, v in dict(run.summary_metrics).items() if not k.startswith("_")}
            ),
            "tags": [str(t) for t in (run.tags or [])],
            "notes": run.notes if isinstance(run.notes, str) else None,
            "commit": run.commit,
            "history_length": max(int(run.lastHistoryStep) + 1, 0),
            "url": run.url,
            "created_at": run.created_at,
            "sweep_id": sweep.id if sweep is not None else None,
            "sweep_config": sweep_config if isinstance(sweep_config, dict) else {},
            "used": used,
            "produced": produced,
            "reproduced_by": again,
        }
    return data


#: runs tagged as reproductions of one run that `show` lists at most
MAX_REPRODUCTIONS = 50


def _reproductions(api: Any, ref: wandb_sdk.SweepRef, run_id: str) -> list[dict[str, Any]]:
    """Runs of the project tagged `reproduces:<this run>` (sweepci reproduce), newest last."""
    from orchestrator.ci.routing import reproduction_tag

    tag = reproduction_tag(run_id)
    found = []
    for other in api.runs(
        f"{ref.entity}/{ref.project}", filters={"tags": {"$in": [tag]}}, per_page=MAX_REPRODUCTIONS
    ):
        if tag in (other.tags or []) and other.id != run_id:
            summary = _plain(dict(other.summary_metrics))
            found.append({"id": other.id, "state": other.state, "summary": summary})
        if len(found) >= MAX_REPRODUCTIONS:
            break
    return found


def _artifacts(run: Any, wandb: Any) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Labels of the versions the run used and logged (empty when W&B cannot list them)."""

    def labels(items: Any) -> list[dict[str, Any]]:
        return [
            {
                "label": f"{a.name}" if ":" in a.name else f"{a.name}:{a.version}",
                "type": a.type,
                "aliases": [str(x) for x in (a.aliases or []) if x != a.version],
            }
            for a in items
        ]

    try:
        used = labels(run.used_artifacts())
    except (wandb.errors.Error, KeyError, TypeError, ValueError):
        used = []
    try:
        produced = labels(run.logged_artifacts())
    except (wandb.errors.Error, KeyError, TypeError, ValueError):
        produced = []
    return used, produced


def recorded_sha(run: dict[str, Any]) -> str | None:
    """The commit a W&B run says it came from: its `sha:` tag, else config `ci.sha`, else
    the commit the SDK recorded. Returned as given; the caller validates it."""
    for tag in run.get("tags") or []:
        if tag.startswith("sha:"):
            return tag[4:]
    ci = ci_of_run(run.get("config") or {}, run.get("notes"))
    if ci.get("sha"):
        return str(ci["sha"])
    return run.get("commit") or None


def run_detail(path: str) -> dict[str, Any]:
    """`show ENTITY/PROJECT/RUN`: the same shape as the local backend's detail."""
    run = fetch_run(path)
    metric = run["sweep_config"].get("metric") or {}
    name = metric.get("name") if isinstance(metric, dict) else None
    ci = ci_of_run(run["config"], run.get("notes"))
    reproduces = next(
        (t.split(":", 1)[1] for t in run["tags"] if t.startswith("reproduces:")), None
    )
    again = [
        {"id": r["id"], "state": r["state"], "metric_value": metric_of(r["summary"], name)}
        for r in run["reproduced_by"]
    ]
    return {
        "kind": "run",
        "backend": "wandb",
        "id": run["id"],
        "path": f"{run['entity']}/{run['project']}/{run['id']}",
        "url": run["url"],
        "sweep": {
            "id": run["sweep_id"],
            "name": None,
            "project": run["project"],
            "env": ci.get("env"),
        },
        "state": run["state"],
        "reason": None,
        "exit_code": None,
        "config": parameters_of_run(run["config"], run.get("notes")),
        "summary": run["summary"],
        "metric": {
            "name": name,
            "goal": metric.get("goal", "minimize") if isinstance(metric, dict) else None,
            "value": metric_of(run["summary"], name),
        },
        "history_length": run["history_length"],
        "tags": run["tags"],
        "commit": {
            "sha": recorded_sha(run),
            "branch": ci.get("branch"),
            "tag": ci.get("tag"),
            "dirty": ci.get("dirty"),
            "repository": ci.get("repository"),
            "run_url": ci.get("run_url"),
        },
        "device": None,
        "artifacts": {"used": run["used"], "produced": run["produced"]},
        "reproduces": reproduces,
        "reproduced_by": again,
        "stderr_tail": None,
        "logs": {},
        "created_at": None,
        "started_at": None,
        "ended_at": None,
        "duration": None,
        "note": "W&B keeps the run's console output in its Logs tab (output.log), not in the API",
    }
