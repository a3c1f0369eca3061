"""Put context, routing, tags and the guard together into what a sweep needs."""

from __future__ import annotations

from dataclasses import dataclass

from orchestrator.agent.options import RunContext
from orchestrator.ci.context import RunContextInfo, from_environment
from orchestrator.ci.guard import check_prod_guard
from orchestrator.ci.routing import Route, route
from orchestrator.config.project import ProjectConfig, load_project


@dataclass
class Prepared:
    project: ProjectConfig
    ctx: RunContextInfo
    route: Route
    run_context: RunContext
    notes: list[str]


def prepare(
    project_file: str | None = None,
    env_override: str | None = None,
    tags: tuple[str, ...] = (),
    allow_dirty: bool = False,
    guard: bool = True,
) -> Prepared:
    """Load sweepci.yaml, read the context, route it, apply the prod guard."""
    project = load_project(project_file)
    ctx = from_environment()
    r = route(project, ctx, env_override, tags)
    notes = check_prod_guard(r, ctx, project, allow_dirty) if guard else []
    ci = ctx.to_json()
    ci.update(env=r.env, project=r.project)
    if notes:
        ci["flags"] = notes
    run_context = RunContext(project=r.project, entity=r.entity, env=r.env, tags=r.tags, ci=ci)
    return Prepared(project, ctx, r, run_context, notes)
