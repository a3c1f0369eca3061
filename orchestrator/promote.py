"""`sweepci promote`: give the best prod run's model an alias (production), with the rules that guard it.

A promotion is refused (exit 2, one line) when the sweep is not a prod sweep,
when this checkout may not write to prod (the prod guard: routed branch,
clean tree, no pull request or fork), when the best run logged no model, or
when the model is worse on the sweep metric than the one holding the alias
now (`--force` overrides; recorded). Promoting the holder again is a no-op.
Local sweeps are promoted in the store; W&B sweeps (ENTITY/PROJECT/ID) on W&B
(`promote_wandb.py`), and recorded in the store too.
"""

from __future__ import annotations

import getpass
import os
from dataclasses import asdict, dataclass, field
from typing import Any

from orchestrator.ci.prepare import Prepared, prepare
from orchestrator.errors import GuardError, UsageError

PROD = "prod"
#: in every worse-candidate refusal; the workflow's promote job reads it as "kept the holder", not a failure
WORSE_PHRASE = "is worse than the current"


class PromotionRefused(GuardError):
    """A promotion the rules do not allow."""


@dataclass
class PromotionResult:
    status: str  # "promoted" or "already"
    alias: str
    artifact: str  # NAME:vN
    run_id: str
    sweep: str
    metric: str | None
    value: float | None
    previous: str | None = None  # the version that held the alias before
    previous_value: float | None = None
    forced: bool = False
    actor: str | None = None
    sha: str | None = None
    links: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    def lines(self) -> list[str]:
        """What the command prints."""
        if self.status == "already":
            return [f"{self.artifact} is already {self.alias} (run {self.run_id}); nothing to do"]
        how = " (forced)" if self.forced else ""
        out = [
            f"promoted {self.artifact} to {self.alias}{how}: run {self.run_id} of sweep {self.sweep}, "
            f"by {self.actor or '?'} at commit {(self.sha or '?')[:12]}"
        ]
        if self.metric:
            before = f"{self.previous} {_fmt(self.previous_value)}" if self.previous else "none"
            out.append(
                f"  {self.metric}: {self.artifact} {_fmt(self.value)}  previous {self.alias}: {before}"
            )
        out += [f"  linked to {link}" for link in self.links]
        return out


def _fmt(value: float | None) -> str:
    return "-" if value is None else f"{value:.6g}"


def actor_name(prepared: Prepared) -> str | None:
    """Who promotes: GITHUB_ACTOR in Actions, else git's user.name, else the login name."""
    if os.environ.get("GITHUB_ACTOR"):
        return os.environ["GITHUB_ACTOR"]
    if prepared.ctx.actor:
        return prepared.ctx.actor
    try:
        import git

        name = (
            git.Repo(search_parent_directories=True).config_reader().get_value("user", "name", "")
        )
        if name:
            return str(name)
    except Exception:  # noqa: BLE001 - no repository or no git user: fall back to the login
        pass
    return os.environ.get("USER") or getpass.getuser()


def check_sweep_env(sweep_label: str, sweep_env: str | None) -> None:
    """Refuse unless the sweep is a prod sweep."""
    if sweep_env != PROD:
        raise PromotionRefused(
            f"sweep {sweep_label} is a {sweep_env or 'no-environment'} sweep; only prod sweeps are promoted"
        )


def check_route(sweep_env: str, prepared: Prepared) -> None:
    """Refuse unless this checkout (which passed the prod guard) routes to the sweep's environment."""
    if prepared.route.env != sweep_env:
        raise PromotionRefused(
            f"this checkout routes to {prepared.route.env} ({prepared.route.why}), not to {sweep_env}; "
            "promote from a branch routed to prod"
        )


def is_worse(candidate: float | None, holder: float | None, maximize: bool) -> bool:
    if candidate is None or holder is None:
        return False  # nothing to compare with: not worse
    return candidate < holder if maximize else candidate > holder


def refuse_worse(
    label: str,
    run_id: str,
    value: float | None,
    holder: str,
    holder_value: float | None,
    alias: str,
    metric: str,
    goal: str | None,
) -> PromotionRefused:
    return PromotionRefused(
        f"{label} (run {run_id}) {WORSE_PHRASE} {alias} {holder} on {metric} ({goal}): "
        f"{_fmt(value)} vs {_fmt(holder_value)}; pass --force to promote it anyway (recorded)"
    )


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
        from orchestrator.promote_wandb import promote_wandb

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
        models = store_artifacts.produced_by(store, best.id, type="model")
        if not models:
            raise PromotionRefused(
                f"the best run {best.id} of sweep {sweep.id} ({sweep.metric_name}={_fmt(best.metric_value)}) logged no "
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
