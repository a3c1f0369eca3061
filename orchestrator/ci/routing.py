"""Routing: which environment (dev/prod) and project a sweep goes to, and the run tags."""

from __future__ import annotations

import fnmatch
import hashlib
import os
from dataclasses import dataclass, field
from pathlib import Path

from orchestrator.ci.context import RunContextInfo
from orchestrator.config.project import ProjectConfig
from orchestrator.errors import UsageError

TAG_LIMIT = 64  # W&B refuses longer tags


@dataclass
class Route:
    env: str
    project: str
    entity: str | None
    base: str
    why: str
    routed_env: str  # what the rules chose, before any --env override
    tags: list[str] = field(default_factory=list)


def match_environment(project: ProjectConfig, ctx: RunContextInfo) -> tuple[str | None, str]:
    """First environment rule that matches the branch (or tag). Returns (env, why)."""
    if ctx.tag and not ctx.branch:
        for rule in project.environments:
            for pattern in rule.tags:
                if fnmatch.fnmatchcase(ctx.tag, pattern):
                    return (
                        rule.name,
                        f"tag '{ctx.tag}' matches '{pattern}' of environment '{rule.name}'",
                    )
        return None, f"no environment matches tag '{ctx.tag}'"
    branch = ctx.branch
    if branch is None:
        name = "detached HEAD" if ctx.detached else "no branch"
        for rule in project.environments:
            if "*" in rule.branches:
                return rule.name, f"{name}: falls to '{rule.name}' (branches: '*')"
        return None, f"{name} and no environment takes every branch"
    for rule in project.environments:
        for pattern in rule.branches:
            if fnmatch.fnmatchcase(branch, pattern):
                return (
                    rule.name,
                    f"branch '{branch}' matches '{pattern}' of environment '{rule.name}'",
                )
    return None, f"no environment matches branch '{branch}'"


def base_name(project: ProjectConfig, ctx: RunContextInfo) -> str:
    if project.base:
        return project.base
    if ctx.repository_name:
        return ctx.repository_name
    return Path.cwd().name


def route(
    project: ProjectConfig,
    ctx: RunContextInfo,
    env_override: str | None = None,
    user_tags: tuple[str, ...] = (),
) -> Route:
    """Decide environment, project name and tags for this context."""
    routed, why = match_environment(project, ctx)
    env = routed
    if env_override:
        if env_override not in project.environment_names():
            raise UsageError(
                f"--env {env_override}: no such environment (known: {', '.join(project.environment_names())})"
            )
        if env_override != routed:
            why += f"; overridden by --env {env_override}"
        env = env_override
    if env is None:
        raise UsageError(f"{why}; add a rule to 'environments' in sweepci.yaml or pass --env")
    base = base_name(project, ctx)
    r = Route(
        env=env,
        project=project.project_name(base, env),
        entity=project.entity or os.environ.get("WANDB_ENTITY") or None,
        base=base,
        why=why,
        routed_env=routed or "",
    )
    r.tags = run_tags(ctx, env, user_tags)
    return r


def tag_value(value: str) -> str:
    """A value as one W&B tag can hold it: WANDB_TAGS is comma-separated, so a comma (a git
    branch may have one) would split the tag in two; it and control characters are
    %-encoded (`%` first, so the encoding reads back unambiguously)."""
    out = []
    for ch in value:
        if ch == "%" or ch == "," or ord(ch) < 0x20 or 0x7F <= ord(ch) < 0xA0:
            out.append(f"%{ord(ch):02X}")
        else:
            out.append(ch)
    return "".join(out)


def bounded_tag(prefix: str, value: str) -> str:
    """`prefix:value` within W&B's 64 characters, one tag whatever `value` holds (see
    `tag_value`); long values keep a stable hash suffix."""
    value = tag_value(value)
    tag = f"{prefix}:{value}"
    if len(tag) <= TAG_LIMIT:
        return tag
    digest = hashlib.sha1(value.encode()).hexdigest()[:8]
    keep = TAG_LIMIT - len(prefix) - 1 - 9
    return f"{prefix}:{value[:keep]}-{digest}"


def reproduction_tag(run_id: str) -> str:
    """The tag of a run that reran run `run_id` (sweepci reproduce)."""
    return bounded_tag("reproduces", run_id)


def run_tags(ctx: RunContextInfo, env: str, user_tags: tuple[str, ...] = ()) -> list[str]:
    """branch:, sha:, env:, trigger: and the user's --tag values."""
    tags = []
    if ctx.branch:
        tags.append(bounded_tag("branch", ctx.branch))
    elif ctx.tag:
        tags.append(bounded_tag("tag", ctx.tag))
    if ctx.sha:
        tags.append(bounded_tag("sha", ctx.sha))
    tags.append(bounded_tag("env", env))
    tags.append(bounded_tag("trigger", ctx.event))
    for t in user_tags:
        if not t or len(t) > TAG_LIMIT or "," in t:
            raise UsageError(f"--tag {t!r}: a tag must be 1-{TAG_LIMIT} characters without commas")
        if t not in tags:
            tags.append(t)
    return tags
