"""sweepci: run W&B-style hyperparameter sweeps from CI, with W&B or fully offline."""

from __future__ import annotations

__version__ = "0.1.0"

__all__ = ["__version__", "report_metric"]


def report_metric(step: int | None = None, **metrics: float) -> None:
    """Send metrics to the sweepci agent while a run is going.

    A no-op outside a sweepci run. Training scripts normally need nothing but
    ``wandb.log``; this helper exists for live progress and early termination
    when the offline W&B files are not yet flushed. Imports nothing heavy.
    """
    from orchestrator.agent.live import report_metric as _report

    _report(step=step, **metrics)
