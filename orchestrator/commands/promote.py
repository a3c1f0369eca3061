"""`sweepci promote`: the best prod run's model of a sweep gets an alias, on the sweep's own target."""

from __future__ import annotations

from orchestrator.errors import UsageError
from orchestrator.promotion.base import PromotionResult
from orchestrator.promotion.local import promote_local


def promote(
    sweep_id: str,
    *,
    alias: str = "production",
    registry: str | None = None,
    force: bool = False,
    allow_dirty: bool = False,
    project_file: str | None = None,
    store_path: str = ".sweepci/sweepci.db",
) -> PromotionResult:
    """Promote the best run's model of a local sweep, or of a W&B sweep given as ENTITY/PROJECT/ID."""
    if sweep_id.count("/") == 2:
        from orchestrator.promotion.wandb import promote_wandb

        return promote_wandb(
            sweep_id,
            alias=alias,
            registry=registry,
            force=force,
            allow_dirty=allow_dirty,
            project_file=project_file,
            store_path=store_path,
        )
    if registry:
        raise UsageError("--to links into a W&B registry; it is for W&B sweeps (ENTITY/PROJECT/ID)")
    return promote_local(
        sweep_id,
        alias=alias,
        force=force,
        allow_dirty=allow_dirty,
        project_file=project_file,
        store_path=store_path,
    )
