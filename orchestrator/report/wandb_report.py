"""Reports for W&B sweeps: the sweep and main's latest prod sweep read from W&B into stores.

`sweepci report ENTITY/PROJECT/ID` calls `prepare_wandb_report`, which copies
the sweep's runs into the report's store (so Markdown, HTML and JSON come from
the same renderers as a local sweep's) and main's latest sweep in the prod
project into a baseline store under `baseline_dir`. The prod project is the one
this checkout's sweepci.yaml routes `main` to. Finding no baseline is normal
(nothing swept on main yet) and leaves `baseline_dir` empty.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from orchestrator.errors import UsageError
from orchestrator.report.baseline import BASELINE_BRANCH, BASELINE_ENV

BASELINE_FILE = "wandb-prod.db"


@dataclass
class WandbReportInputs:
    sweep_id: str  # the local id (the W&B sweep id) in the store
    sweep_url: str
    baseline: Path | None  # a store holding main's latest prod sweep, or None
    note: str


def prepare_wandb_report(
    path: str, store_path: str | Path, baseline_dir: Path, project_file: str | None = None
) -> WandbReportInputs:
    """Import W&B sweep `path` (ENTITY/PROJECT/ID) and its baseline; see the module doc."""
    from orchestrator.backends.wandb_import import import_sweep, latest_sweep_of_branch
    from orchestrator.backends.wandb_sdk import KEY_VARIABLE, parse_sweep_path
    from orchestrator.ci.context import RunContextInfo, from_environment
    from orchestrator.ci.routing import route
    from orchestrator.config.project import load_project

    ref = parse_sweep_path(path)
    env = dict(os.environ)
    if not env.get(KEY_VARIABLE):
        raise UsageError(f"{KEY_VARIABLE} is not set; a report of a W&B sweep reads it from W&B")
    project = load_project(project_file)
    ctx = from_environment()
    here = route(project, ctx)
    main = RunContextInfo(source="none", event="push", branch=BASELINE_BRANCH,
                          repository=ctx.repository)  # fmt: skip
    prod_project = route(project, main).project
    if baseline_dir.exists():
        shutil.rmtree(baseline_dir)  # a stale baseline must not outlive a search that finds none
    with tempfile.TemporaryDirectory(prefix="sweepci-wandb-") as work:
        url = import_sweep(ref, store_path, env, Path(work), env_name=here.env,
                           context=ctx.to_json())  # fmt: skip
        found = latest_sweep_of_branch(
            ref.entity, prod_project, BASELINE_BRANCH, env, Path(work), exclude=ref.sweep_id
        )
        if found is None:
            note = f"no sweep of {BASELINE_BRANCH} in the W&B project {ref.entity}/{prod_project}"
            return WandbReportInputs(ref.sweep_id, url, None, note)
        base_ref, sha = found
        baseline_dir.mkdir(parents=True, exist_ok=True)
        target = baseline_dir / BASELINE_FILE
        context = {"source": "wandb", "branch": BASELINE_BRANCH, "sha": sha}
        import_sweep(base_ref, target, env, Path(work), env_name=BASELINE_ENV, context=context)
    return WandbReportInputs(ref.sweep_id, url, target, f"baseline: W&B sweep {base_ref.path}")
