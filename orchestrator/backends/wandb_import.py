"""A W&B sweep's runs, read through the W&B API into a store, so it gets sweepci's report.

`import_sweep` copies one sweep (its config from W&B's sweep server, every
run's config, summary, state and tags); `import_latest_sweep` finds main's
latest sweep in the prod project (the newest run tagged `branch:main` that
belongs to a sweep) and copies that, which is the baseline a W&B sweep is
compared with. Both read with the key in WANDB_API_KEY only. W&B keeps these
records for as long as the project exists, so this baseline does not expire
with a CI artifact.

W&B's answers are untrusted: values are type-checked, configs keep only the
sweep's own keys (sweepci's `ci` block and W&B's `_` keys are dropped), and
at most MAX_RUNS runs are read.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

from orchestrator.agent.collect import metric_of
from orchestrator.backends.wandb_sdk import SweepRef, sdk_environment, sdk_session
from orchestrator.ci.routing import bounded_tag
from orchestrator.store import open_store
from orchestrator.store.imported import ImportedRun, record_imported_sweep

MAX_RUNS = 10_000
#: newest runs of the prod project looked at to find main's latest sweep
RUNS_LOOKED_AT = 200
_STATES = {"finished": "finished", "failed": "failed", "crashed": "crashed", "killed": "killed"}


def _when(text: Any) -> float:
    if not isinstance(text, str) or not text:
        return 0.0
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return 0.0


def _plain(values: Any) -> dict[str, Any]:
    if not isinstance(values, dict):
        return {}
    return {str(k): v for k, v in values.items() if not str(k).startswith("_") and k != "ci"}


def read_sweep(ref: SweepRef, env: dict[str, str]) -> tuple[dict[str, Any], list[ImportedRun], str]:
    """The sweep's config (as W&B's sweep server holds it), its runs (oldest first), its URL."""
    with sdk_session(env, f"read sweep {ref.path}") as wandb:
        api = wandb.Api()
        sweep = api.sweep(ref.path)
        if sweep is None:
            from orchestrator.errors import NotFoundError

            raise NotFoundError(f"W&B has no sweep {ref.path}")
        config = sweep.config or {}
        app = wandb.util.api_to_app_url(api.settings["base_url"]).rstrip("/")
        url = "/".join([app, quote(ref.entity), quote(ref.project), "sweeps", quote(ref.sweep_id)])
        metric = (config.get("metric") or {}).get("name")
        found = []
        for i, run in enumerate(
            api.runs(f"{ref.entity}/{ref.project}", filters={"sweep": ref.sweep_id}, lazy=False)
        ):
            if i >= MAX_RUNS:
                break
            summary = _plain(dict(run.summary_metrics or {}))
            found.append(
                ImportedRun(
                    id=str(run.id),
                    state=_STATES.get(str(run.state), "running"),
                    config=_plain(dict(run.config or {})),
                    summary=summary,
                    tags=[str(t) for t in (run.tags or []) if isinstance(t, str)][:50],
                    created_at=_when(run.created_at),
                    metric_value=metric_of(summary, metric),
                )
            )
    return dict(config), found, url


def import_sweep(
    ref: SweepRef,
    store_path: str | Path,
    env: dict[str, str],
    workdir: Path,
    *,
    env_name: str | None,
    context: dict[str, Any],
) -> str:
    """Copy W&B sweep `ref` into the store at `store_path`; return its W&B URL.

    The local sweep id is the W&B sweep id."""
    config, runs, url = read_sweep(ref, sdk_environment(env, workdir))
    done = all(r.state != "running" for r in runs)
    with open_store(store_path) as store:
        record_imported_sweep(
            store, sweep_id=ref.sweep_id, project=ref.project, env=env_name, backend="wandb",
            config=config, context=context, remote_path=ref.path, runs=runs,
            status="finished" if done else "running",
        )  # fmt: skip
    return url


def latest_sweep_of_branch(
    entity: str,
    project: str,
    branch: str,
    env: dict[str, str],
    workdir: Path,
    *,
    exclude: str | None = None,
) -> tuple[SweepRef, str | None] | None:
    """The sweep of the newest run tagged `branch:<branch>` in `project`, and that run's
    commit (its `sha:` tag); None when there is none."""
    env = sdk_environment(env, workdir)
    with sdk_session(env, f"look for the latest sweep of {branch} in {entity}/{project}") as wandb:
        api = wandb.Api()
        try:
            runs = api.runs(
                f"{entity}/{project}", filters={"tags": {"$in": [bounded_tag("branch", branch)]}},
                order="-created_at", per_page=50,
            )  # fmt: skip
            for i, run in enumerate(runs):
                if i >= RUNS_LOOKED_AT:
                    break
                name = run.sweep_name
                if isinstance(name, str) and name and name != exclude:
                    tags = [t for t in (run.tags or []) if isinstance(t, str)]
                    sha = next((t[4:] for t in tags if t.startswith("sha:")), None)
                    return SweepRef(entity, project, name), sha
        except ValueError:  # the SDK's "Could not find project": nothing swept there yet
            return None
    return None
