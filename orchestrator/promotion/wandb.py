"""`sweepci promote ENTITY/PROJECT/ID`: the same promotion rules, applied on W&B through its public API.

The best finished run comes from the sweep's runs on W&B, its model from the
run's logged artifacts; the alias is added to that artifact version
(`artifact.aliases` + `artifact.save()`), and with `--to` the version is also
linked into a registry collection (`artifact.link(path, aliases=[alias])`).
The promotion is recorded in the local store as well (who, when, commit).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from orchestrator.backends import wandb_sdk
from orchestrator.ci.prepare import Prepared, prepare
from orchestrator.promotion.base import (
    PromotionRefused,
    PromotionResult,
    actor_name,
    check_route,
    check_sweep_env,
    is_worse,
    refuse_worse,
)


def _env_of_project(prepared: Prepared, project: str) -> str | None:
    """Which environment a W&B project belongs to, by the project file's naming rule."""
    for env in prepared.project.environment_names():
        if prepared.project.project_name(prepared.route.base, env) == project:
            return env
    return None


def _metric_of(values: dict[str, Any], name: str | None) -> float | None:
    from orchestrator.agent.collect import metric_of

    return metric_of(dict(values or {}), name)


def promote_wandb(
    path: str,
    *,
    alias: str,
    registry: str | None,
    force: bool,
    allow_dirty: bool,
    project_file: str | None,
    store_path: str,
) -> PromotionResult:
    ref = wandb_sdk.parse_sweep_path(path)
    prepared = prepare(project_file, allow_dirty=allow_dirty, guard=True)
    env_name = _env_of_project(prepared, ref.project)
    check_sweep_env(ref.path, env_name)
    check_route(env_name or "", prepared)
    if ref.project != prepared.route.project:
        raise PromotionRefused(
            f"sweep {ref.path} is not in {prepared.route.project}, the project this checkout routes to"
        )
    env = wandb_sdk.sdk_environment(dict(os.environ), Path(store_path).parent / "wandb-sdk")
    with wandb_sdk.sdk_session(env, f"read sweep {ref.path}") as wandb:
        config = wandb.Api().sweep(ref.path).config or {}
    metric = config.get("metric") or {}
    name, goal = metric.get("name"), metric.get("goal", "minimize")
    runs = [r for r in wandb_sdk.list_runs(ref, env) if r["state"] == "finished"]
    best = wandb_sdk.best_run(runs, name, goal) if name else None
    if best is None:
        raise PromotionRefused(
            f"sweep {ref.path} has no finished run with a value of {name or 'its metric'}"
        )
    result = PromotionResult(
        "promoted",
        alias,
        "",
        best["id"],
        ref.path,
        name,
        _metric_of(best["summary"], name),
        actor=actor_name(prepared),
        sha=prepared.ctx.sha,
    )
    with wandb_sdk.sdk_session(env, f"promote the model of run {best['id']}") as wandb:
        api = wandb.Api()
        run = api.run(f"{ref.entity}/{ref.project}/{best['id']}")
        models = [a for a in run.logged_artifacts() if a.type == "model"]
        if not models:
            raise PromotionRefused(
                f"the best run {best['id']} of sweep {ref.path} ({name}={result.value}) logged no model artifact; "
                "log one with run.log_artifact(wandb.Artifact(NAME, type='model'))"
            )
        model = models[-1]
        collection = model.name.split(":")[0]
        result.artifact = f"{collection}:{model.version}"
        holder = _holder(wandb, api, f"{ref.entity}/{ref.project}/{collection}:{alias}")
        if holder is not None:
            result.previous = f"{collection}:{holder.version}"
            if holder.id == model.id:
                result.status = "already"
                return result
            creator = holder.logged_by()
            result.previous_value = _metric_of(creator.summary_metrics if creator else {}, name)
        if is_worse(result.value, result.previous_value, goal == "maximize"):
            if not force:
                raise refuse_worse(
                    result.artifact,
                    best["id"],
                    result.value,
                    result.previous or "",
                    result.previous_value,
                    alias,
                    name,
                    goal,
                )
            result.forced = True
        if alias not in model.aliases:
            model.aliases.append(alias)
        model.save()
        if registry:
            model.link(registry, aliases=[alias])
            result.links.append(registry)
    _record(store_path, result, prepared.notes)
    return result


def _holder(wandb: Any, api: Any, name: str) -> Any:
    """The artifact version holding `name` (ENTITY/PROJECT/COLLECTION:ALIAS), or None."""
    try:
        return api.artifact(name, type="model")
    except (wandb.errors.CommError, ValueError):
        return None


def _record(store_path: str, result: PromotionResult, notes: list[str]) -> None:
    """Keep the W&B promotion in the local store's promotions too; the note names the version on W&B."""
    from orchestrator.store import open_store
    from orchestrator.store.promotions import record_promotion

    where = f"wandb:{result.sweep.rsplit('/', 1)[0]}/{result.artifact}"
    note = ",".join([where, *result.links, *(["forced"] if result.forced else []), *notes])
    with open_store(store_path) as store:
        record_promotion(
            store,
            None,
            result.alias,
            sweep_id=result.sweep,
            run_id=result.run_id,
            forced=result.forced,
            actor=result.actor,
            sha=result.sha,
            note=note,
        )
