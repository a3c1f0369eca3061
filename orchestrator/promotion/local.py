"""Promotion of a local sweep's best model: the alias is recorded in the store."""

from __future__ import annotations

from orchestrator.ci.prepare import prepare
from orchestrator.promotion.base import (
    PROD,
    PromotionRefused,
    PromotionResult,
    actor_name,
    check_route,
    check_sweep_env,
    format_metric,
    is_worse,
    refuse_worse,
)


def promote_local(
    sweep_id: str,
    *,
    alias: str,
    force: bool,
    allow_dirty: bool,
    project_file: str | None,
    store_path: str,
) -> PromotionResult:
    from orchestrator.agent.collect import metric_of
    from orchestrator.store import artifacts as store_artifacts
    from orchestrator.store import open_store
    from orchestrator.store.promotions import record_promotion
    from orchestrator.store.queries import best_run
    from orchestrator.store.runs import get_sweep

    with open_store(store_path, create=False) as store:
        sweep = get_sweep(store, sweep_id)
        check_sweep_env(sweep.id, sweep.env)
        prepared = prepare(project_file, allow_dirty=allow_dirty, guard=True)
        check_route(PROD, prepared)
        best = best_run(store, sweep)
        if best is None:
            raise PromotionRefused(
                f"sweep {sweep.id} has no finished run with a value of {sweep.metric_name or 'its metric'}"
            )
        if best.env != PROD:
            # a run of another environment in a prod sweep (a store merged before merge
            # refused such mixes): its code never passed the prod guard
            raise PromotionRefused(
                f"the best run {best.id} of sweep {sweep.id} is a {best.env or 'no-environment'} run; "
                "only runs of the prod environment are promoted"
            )
        models = store_artifacts.produced_by(store, best.id, type="model")
        if not models:
            raise PromotionRefused(
                f"the best run {best.id} of sweep {sweep.id} ({sweep.metric_name}={format_metric(best.metric_value)}) logged no "
                "model artifact; log one with run.log_artifact(wandb.Artifact(NAME, type='model'))"
            )
        model = max(models, key=lambda a: a.id)  # the model it logged last
        result = PromotionResult(
            "promoted",
            alias,
            model.label,
            best.id,
            sweep.id,
            sweep.metric_name,
            best.metric_value,
            actor=actor_name(prepared),
            sha=prepared.ctx.sha,
        )
        holder = store_artifacts.current_alias_holder(store, model.name, alias)
        if holder is not None:
            held = holder["artifact"]
            result.previous = held["label"]
            if held["id"] == model.id:
                result.status = "already"
                return result
            run = holder["run"] or {}
            result.previous_value = metric_of(
                run.get("summary") or held["metadata"].get("metrics") or {}, sweep.metric_name
            )
        if is_worse(result.value, result.previous_value, sweep.maximize):
            if not force:
                raise refuse_worse(
                    model.label,
                    best.id,
                    result.value,
                    result.previous or "",
                    result.previous_value,
                    alias,
                    sweep.metric_name or "",
                    sweep.metric_goal,
                )
            result.forced = True
        notes = [n for n in ("forced" if result.forced else "", *prepared.notes) if n]
        record_promotion(
            store,
            model,
            alias,
            sweep_id=sweep.id,
            run_id=best.id,
            forced=result.forced,
            actor=result.actor,
            sha=result.sha,
            note=",".join(notes) or None,
        )
    return result
