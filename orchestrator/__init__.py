"""sweepci: run W&B-style hyperparameter sweeps from CI, with W&B or fully offline."""

from __future__ import annotations

__version__ = "0.1.0"

__all__ = ["__version__", "report_metric"]


def report_metric(
    metrics: dict[str, float] | int | None = None, step: int | None = None, **named: float
) -> None:
    """Send metrics to the sweepci agent while a run is going.

    ``report_metric({"val/loss": 0.3}, step=4)`` or ``report_metric(step=4, f1=0.9)``
    (an int as the first argument is the step, as before). A no-op outside a
    sweepci run. Python scripts need nothing but ``wandb.log``: sweepci's
    start-up hook passes its values on live; this helper is for scripts that
    log without wandb. Imports nothing heavy.
    """
    from orchestrator.agent.live import report_metric as _report

    if isinstance(metrics, int) and not isinstance(metrics, bool) and step is None:
        metrics, step = None, metrics
    _report(step=step, **{**(metrics or {}), **named})
