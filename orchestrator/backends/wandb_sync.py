"""`sweepci sync`: upload a local sweep's offline runs to W&B with the SDK's own ``wandb sync``.

Each run of a local sweep left a W&B offline run (``run-<id>.wandb``) under
``<store dir>/runs/<sweep>/<run>/files/wandb/offline-run-*``. ``wandb sync``
replays it to W&B: tags, config (with ``ci``), run group ``sweep-<id>``,
history and summary arrive as if the run had been online.

One thing cannot go as it is: the run names its local sweep, and W&B refuses a
run of a sweep it does not know ("sweep ... not found", 404; wandb/wandb#8115).
So ``wandb sync`` reads a copy of the run whose run record names no sweep; the
group ``sweep-<id>`` still says where it came from. The store's own files are
never touched.

Idempotent: every uploaded run is recorded in the store (``synced_runs``), and
a second sync uploads nothing. ``wandb sync`` exits 0 even when an upload
failed, so a run counts as uploaded only when the SDK left its ``.synced``
marker and printed no error for it; the others are retried next time.
"""

from __future__ import annotations

import os
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from orchestrator.agent import wandb_files
from orchestrator.backends import wandb_sdk
from orchestrator.backends.wandb_sync_upload import Progress, upload_runs
from orchestrator.errors import UsageError
from orchestrator.store import open_store
from orchestrator.store.db import Store
from orchestrator.store.records import DONE_STATES, RunRecord, SweepRecord
from orchestrator.store.runs import get_sweep

KEY = wandb_sdk.KEY_VARIABLE
DEFAULT_TIMEOUT = 600.0
DEFAULT_PARALLEL = 4


@dataclass
class RunSync:
    """One run's part in a sync: what happened to it and where it went."""

    id: str
    state: str
    status: str  # synced | already_synced | would_sync | skipped | failed
    remote_path: str | None = None
    reason: str | None = None


@dataclass
class SyncReport:
    sweep_id: str
    project: str
    entity: str | None
    dry_run: bool
    runs: list[RunSync] = field(default_factory=list)

    def count(self, status: str) -> int:
        return sum(r.status == status for r in self.runs)

    @property
    def failed(self) -> list[RunSync]:
        return [r for r in self.runs if r.status == "failed"]

    def to_json(self) -> dict[str, Any]:
        statuses = ("synced", "already_synced", "would_sync", "skipped", "failed")
        return {
            "sweep": self.sweep_id,
            "target": f"{self.entity}/{self.project}" if self.entity else self.project,
            "dry_run": self.dry_run,
            "counts": {s: self.count(s) for s in statuses},
            "runs": [asdict(r) for r in self.runs],
        }


def sync_sweep(
    sweep_id: str,
    store_path: str | Path,
    *,
    project: str | None = None,
    entity: str | None = None,
    dry_run: bool = False,
    parallel: int = DEFAULT_PARALLEL,
    timeout: float = DEFAULT_TIMEOUT,
    progress: Progress = lambda _line: None,
) -> SyncReport:
    """Upload the ended runs of local sweep ``sweep_id`` that are not uploaded yet.

    The project defaults to the one the sweep was routed to; the entity to
    sweepci.yaml's, then ``WANDB_ENTITY``, then the key's default entity. A
    sweep of prod, or a target that is the prod project, passes the prod guard
    first. Returns a report; runs that failed are in ``report.failed``.
    """
    with open_store(store_path, create=False) as store:
        sweep = get_sweep(store, sweep_id)
        if sweep.backend != "local":
            raise UsageError(
                f"sweep {sweep.id} ran on the {sweep.backend} backend; only local sweeps are synced"
            )
        runs = _sweep_runs(store, sweep.id)
        done = _synced(store, sweep.id)
        store_root = store.root
    target_project = project or sweep.project
    target_entity = entity or _configured_entity()
    _guard_prod(sweep, target_project, explicit_project=project is not None)

    report = SyncReport(sweep.id, target_project, target_entity, dry_run)
    pending: dict[str, Path] = {}
    for run in runs:
        if run.id in done:
            report.runs.append(RunSync(run.id, run.state, "already_synced", done[run.id]))
        elif run.state not in DONE_STATES:
            report.runs.append(
                RunSync(run.id, run.state, "skipped", reason=f"run is {run.state}, not ended")
            )
        elif (file := _offline_file(store_root, sweep.id, run)) is None:
            reason = "no offline W&B run (the program never called wandb.init)"
            report.runs.append(RunSync(run.id, run.state, "skipped", reason=reason))
        else:
            pending[run.id] = file
            report.runs.append(RunSync(run.id, run.state, "would_sync"))
    if pending and not dry_run and not _has_key():
        raise UsageError(f"{KEY} is not set; syncing to W&B needs a W&B API key in the environment")
    where = f"{target_entity}/{target_project}" if target_entity else f"project {target_project}"
    progress(
        f"sweep {sweep.id}: {len(pending)} run(s) to upload to W&B {where}, "
        f"{report.count('already_synced')} already uploaded, {report.count('skipped')} skipped"
    )
    for item in report.runs:
        if item.status == "skipped":
            progress(f"run {item.id} skipped: {item.reason}")
    if dry_run or not pending:
        return report

    workdir = Path(store_path).resolve().parent / "wandb-sdk"
    env = wandb_sdk.sdk_environment(dict(os.environ), workdir)
    # Checked first so a bad key is one clear error, not one per run; it also
    # names the entity the runs go to when none was configured.
    key_entity = wandb_sdk.check_key(env)
    report.entity = target_entity = target_entity or key_entity
    outcome = upload_runs(
        pending, target_project, target_entity, env, workdir, parallel, timeout, progress
    )
    by_id = {r.id: r for r in report.runs}
    with open_store(store_path, create=False) as store:
        for run_id, reason in outcome.items():
            item = by_id[run_id]
            if reason is None:
                item.status = "synced"
                item.remote_path = f"{target_entity}/{target_project}/{run_id}"
                _record_synced(store, run_id, item.remote_path)
            else:
                item.status, item.reason = "failed", reason
    return report


def _sweep_runs(store: Store, sweep_id: str) -> list[RunRecord]:
    return [
        RunRecord.from_row(r)
        for r in store.query("SELECT * FROM runs WHERE sweep_id = ? ORDER BY seq", (sweep_id,))
    ]


def _synced(store: Store, sweep_id: str) -> dict[str, str]:
    rows = store.query(
        "SELECT s.run_id, s.remote_path FROM synced_runs s JOIN runs r ON r.id = s.run_id WHERE r.sweep_id = ?",
        (sweep_id,),
    )
    return {r["run_id"]: r["remote_path"] for r in rows}


def _record_synced(store: Store, run_id: str, remote_path: str) -> None:
    with store.transaction() as conn:
        conn.execute(
            "INSERT OR REPLACE INTO synced_runs (run_id, remote_path, synced_at) VALUES (?, ?, ?)",
            (run_id, remote_path, time.time()),
        )


def _configured_entity() -> str | None:
    from orchestrator.config.project import load_project

    return load_project().entity or os.environ.get("WANDB_ENTITY") or None


def _guard_prod(sweep: SweepRecord, target_project: str, explicit_project: bool) -> None:
    """The guard of `sweepci run --env prod`, for a prod sweep or a prod target project.

    Runs in prod must trace back to a commit of a prod branch; uploading them
    later is writing to prod, so it asks the same of the checkout it runs in.
    """
    from orchestrator.ci.guard import PROD
    from orchestrator.ci.prepare import prepare

    to_prod = sweep.env == PROD
    if not to_prod and explicit_project:
        here = prepare(guard=False)
        if PROD in here.project.environment_names():
            to_prod = target_project == here.project.project_name(here.route.base, PROD)
    if to_prod:
        prepare(env_override=PROD, guard=True)


def _offline_file(store_root: Path, sweep_id: str, run: RunRecord) -> Path | None:
    """The run's offline ``run-<id>.wandb`` (the store may have moved since the run)."""
    for run_dir in (
        store_root / "runs" / sweep_id / run.id,
        Path(run.run_dir) if run.run_dir else None,
    ):
        if run_dir is None:
            continue
        path = wandb_files.find_run_file(run_dir / "files", run.id)
        if path is not None and path.parent.name.startswith("offline-run-"):
            return path
    return None


def _has_key() -> bool:
    from orchestrator.backends.wandb_key import find_key

    return find_key()[0] is not None
