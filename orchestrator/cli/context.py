"""`sweepci context`: what sweepci sees about this checkout and where runs would go."""

from __future__ import annotations

import click

from orchestrator.cli.common import json_option, print_json


@click.command()
@click.option(
    "--env",
    "env_override",
    default=None,
    help="Check this environment instead of the routed one (guard included).",
)
@click.option("--tag", "tags", multiple=True, help="Extra tag, as `run --tag` would add.")
@click.option(
    "--project-file",
    type=click.Path(dir_okay=False),
    default=None,
    help="Project file (default ./sweepci.yaml).",
)
@click.option("--allow-dirty", is_flag=True, help="As for `run`: accept a dirty tree for prod.")
@click.option(
    "--github-output",
    is_flag=True,
    help="Also write env, project, branch, sha as GitHub step outputs.",
)
@json_option
def context(env_override, tags, project_file, allow_dirty, github_output, as_json) -> int:
    """Print branch, commit, event, environment, project, tags, run URL and why
    that environment was chosen; say whether the prod guard would allow a sweep.
    """
    from orchestrator.ci.prepare import prepare
    from orchestrator.errors import GuardError

    prepared = prepare(project_file, env_override, tags, allow_dirty, guard=False)
    ctx, route = prepared.ctx, prepared.route
    guard_ok, guard_reason = True, "allowed"
    try:
        from orchestrator.ci.guard import check_prod_guard

        check_prod_guard(route, ctx, prepared.project, allow_dirty)
    except GuardError as exc:
        guard_ok, guard_reason = False, exc.message
    data = {
        "source": ctx.source,
        "event": ctx.event,
        "branch": ctx.branch,
        "tag": ctx.tag,
        "sha": ctx.sha,
        "repository": ctx.repository,
        "is_fork": ctx.is_fork,
        "dirty": ctx.dirty,
        "detached": ctx.detached,
        "env": route.env,
        "project": route.project,
        "entity": route.entity,
        "why": route.why,
        "tags": route.tags,
        "run_url": ctx.run_url,
        "commit_url": ctx.commit_url(),
        "actor": ctx.actor,
        "note": ctx.note,
        "guard": {"allowed": guard_ok, "reason": guard_reason},
        "project_file": prepared.project.path,
    }
    if github_output:
        from orchestrator.github.commands import set_outputs

        set_outputs(
            {
                "env": route.env,
                "project": route.project,
                "branch": ctx.branch or "",
                "sha": ctx.sha or "",
                "guard": "allowed" if guard_ok else "refused",
            }
        )
    if as_json:
        print_json(data)
        return 0
    rows = [
        ("source", ctx.source),
        ("event", ctx.event),
        ("branch", ctx.branch or (f"(tag {ctx.tag})" if ctx.tag else "-")),
        ("sha", ctx.sha or "-"),
        ("repository", ctx.repository or "-"),
        ("dirty", "-" if ctx.dirty is None else ("yes" if ctx.dirty else "no")),
        ("environment", route.env),
        ("project", route.project),
        ("why", route.why),
        ("tags", ", ".join(route.tags)),
        ("run url", ctx.run_url or "-"),
        ("prod guard", guard_reason if route.env == "prod" else "n/a (not prod)"),
    ]
    if ctx.is_fork:
        rows.append(("fork", "yes"))
    if ctx.note:
        rows.append(("note", ctx.note))
    from orchestrator.agent.progress import printable

    width = max(len(k) for k, _ in rows)
    for k, v in rows:
        click.echo(f"{k.ljust(width)}  {printable(str(v))}")  # a tag or branch never starts a line
    return 0
