"""A sweep's results after its agents stopped, and what GitHub Actions gets of them.

`cli/results.py` prints these; the step outputs (sweep id, best run, best
metric) and the job summary are written here, so a script calling the
workflows gets them too.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from orchestrator.store.records import RunRecord, SweepRecord

if TYPE_CHECKING:
    from orchestrator.backends.wandb import WandbSweepResults


@dataclass
class LocalSweepResults:
    """A local sweep's runs, best first, with its counts by state and its best run."""

    sweep: SweepRecord
    runs: list[RunRecord]
    counts: dict[str, int]
    best: RunRecord | None

    def to_json(self) -> dict:
        from orchestrator.report.leaderboard import sweep_result_json

        return sweep_result_json(self.sweep, self.runs, self.counts, self.best)


def local_results(sweep_id: str, store_path: str) -> LocalSweepResults:
    from orchestrator.store import open_store
    from orchestrator.store.queries import best_run, leaderboard, state_counts
    from orchestrator.store.runs import get_sweep

    with open_store(store_path, create=False) as store:
        sweep = get_sweep(store, sweep_id)
        runs = leaderboard(store, sweep)
        counts = state_counts(store, sweep.id)
        best = best_run(store, sweep)
    return LocalSweepResults(sweep, runs, counts, best)


def hyperband_note(sweep_id: str, store_path: str) -> str | None:
    """The sweep's hyperband line (see report.early.EarlyTermination.summary_line), or None."""
    from orchestrator.report.early import early_termination
    from orchestrator.store import open_store
    from orchestrator.store.runs import get_sweep

    with open_store(store_path, create=False) as store:
        early = early_termination(store, get_sweep(store, sweep_id))
    return None if early is None else early.summary_line()


def publish_local_results(results: LocalSweepResults, store_path: str) -> None:
    """In GitHub Actions: the step outputs and the job summary of a local sweep."""
    from orchestrator.github.commands import in_actions, set_outputs

    if not in_actions():
        return
    sweep, best = results.sweep, results.best
    set_outputs(
        {
            "sweep-id": sweep.id,
            "best-run": best.id if best else "",
            "best-metric": f"{best.metric_value:.6g}"
            if best and best.metric_value is not None
            else "",
            "env": sweep.env or "",
            "project": sweep.project,
        }
    )
    from orchestrator.report.summary import write_job_summary

    write_job_summary(sweep.id, store_path)


def publish_wandb_results(results: WandbSweepResults) -> None:
    """In GitHub Actions: the step outputs of a W&B sweep."""
    from orchestrator.github.commands import in_actions, set_outputs

    if in_actions():
        best = results.best
        set_outputs(
            {
                "sweep-id": results.handle.path,
                "best-run": best.id if best else "",
                "best-metric": f"{best.metric_value:.6g}" if best else "",
            }
        )
