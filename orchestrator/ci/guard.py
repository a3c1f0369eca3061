"""The prod guard: prod gets only what belongs there, refused before any run starts."""

from __future__ import annotations

from orchestrator.ci.context import RunContextInfo
from orchestrator.ci.routing import Route
from orchestrator.config.project import ProjectConfig
from orchestrator.errors import GuardError

PROD = "prod"


def check_prod_guard(
    route: Route, ctx: RunContextInfo, project: ProjectConfig, allow_dirty: bool = False
) -> list[str]:
    """Raise GuardError when writing to prod is not allowed. Returns notes to record
    (e.g. that --allow-dirty was used)."""
    if route.env != PROD:
        return []
    notes: list[str] = []
    if ctx.is_pull_request:
        raise GuardError(
            f"refusing to write to prod ({route.project}) from a {ctx.event} event: pull requests run in dev; "
            "merge to a prod branch to sweep prod"
        )
    if ctx.is_fork or (
        project.repository
        and ctx.repository
        and ctx.source == "github-actions"
        and ctx.repository != project.repository
    ):
        raise GuardError(
            f"refusing to write to prod ({route.project}) from a fork ({ctx.repository}); only "
            f"{project.repository or 'the configured repository'} may sweep prod"
        )
    if route.routed_env != PROD:
        where = (
            f"branch '{ctx.branch}'"
            if ctx.branch
            else ("tag " + repr(ctx.tag) if ctx.tag else "this checkout")
        )
        raise GuardError(
            f"refusing to write to prod ({route.project}): {where} is routed to '{route.routed_env or 'nothing'}'; "
            "run from a branch routed to prod in sweepci.yaml (environments.prod.branches)"
        )
    if ctx.sha is None:
        raise GuardError(
            f"refusing to write to prod ({route.project}): no commit to trace the runs to"
        )
    if ctx.dirty and ctx.source == "github-actions":
        # --allow-dirty is for a laptop: in CI a changed tree means code the sha lacks
        raise GuardError(
            f"refusing to write to prod ({route.project}): the checkout differs from commit "
            f"{(ctx.sha or '?')[:12]}{_named_paths()} (a step changed or added files that git "
            "does not ignore), "
            "so runs would not trace back to it; commit them, add them to .gitignore, or "
            "write them outside the workspace"
        )
    if ctx.dirty:
        if not allow_dirty:
            raise GuardError(
                f"refusing to write to prod ({route.project}): the working tree has uncommitted changes "
                f"or untracked files{_named_paths()}, so runs would not trace back to a commit; "
                "commit them, or pass --allow-dirty (recorded on the sweep)"
            )
        notes.append("allow_dirty")
    return notes


#: dirty paths a refusal names
SHOWN_PATHS = 3


def _named_paths() -> str:
    """` (a.py, data/, notes.txt and 4 more)`: what makes the tree dirty, for the refusal."""
    import os
    from pathlib import Path

    from orchestrator.ci.context import dirty_paths

    paths = dirty_paths(Path(os.environ.get("GITHUB_WORKSPACE") or Path.cwd()))
    if not paths:
        return ""
    shown = ", ".join(paths[:SHOWN_PATHS])
    more = f" and {len(paths) - SHOWN_PATHS} more" if len(paths) > SHOWN_PATHS else ""
    return f" ({shown}{more})"
