"""`sweepci chatops`: act on a `/sweep` pull-request comment (an `issue_comment` event)."""

from __future__ import annotations

import os
from pathlib import Path

import click

from orchestrator.cli.common import api_url_option, json_option, print_json, repo_option

PERMISSIONS = "`actions: write` (to dispatch) and `pull-requests: write` (to reply)"


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--event",
    "event_path",
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    envvar="GITHUB_EVENT_PATH",
    required=True,
    help="The issue_comment event payload (default: $GITHUB_EVENT_PATH).",
)
@click.option(
    "--workflow",
    metavar="FILE",
    help="Sweep workflow to dispatch. Default: `workflow` in sweepci.yaml, else sweep.yml.",
)
@repo_option
@api_url_option
@json_option
def chatops(
    event_path: Path, workflow: str | None, repo: str | None, api_url: str | None, as_json: bool
) -> int:
    """Start a sweep of a pull request's branch from a `/sweep NAME=VALUE ...` comment.

    Only OWNER, MEMBER and COLLABORATOR commenters are obeyed (others are ignored).
    Arguments must be inputs the sweep workflow declares, with valid values; the
    sweep workflow is dispatched on the pull request's head branch (never a
    fork's, never one that routes to prod), the command gets a reaction and a
    reply links the run or says why nothing ran. The pull request's code is never
    checked out here. The token comes from GITHUB_TOKEN or GH_TOKEN.

    Example comment: /sweep count=10 dataset=iris
    """
    from orchestrator.ci import repo as git
    from orchestrator.ci.context import RunContextInfo, read_event_payload
    from orchestrator.ci.routing import route
    from orchestrator.cli.dispatch import _project_defaults
    from orchestrator.config.project import load_project
    from orchestrator.github.api import DEFAULT_API_URL, GitHubClient, token_from_env
    from orchestrator.github.chatops import ChatOpsRepository, handle_comment
    from orchestrator.github.commands import append_summary
    from orchestrator.github.dispatch import load_dispatch_inputs

    payload = read_event_payload({"GITHUB_EVENT_PATH": str(event_path)})
    root = Path.cwd()
    project_workflow, project_repo = _project_defaults(root)
    workflow = workflow or project_workflow
    slug = repo or os.environ.get("GITHUB_REPOSITORY") or project_repo
    owner, name = git.parse_repo_slug(slug) if slug else git.origin_repo(root)
    project = load_project(None)

    def route_branch(branch: str) -> tuple[str, str]:
        ctx = RunContextInfo(source="github-actions", event="workflow_dispatch", branch=branch,
                             repository=f"{owner}/{name}")  # fmt: skip
        found = route(project, ctx)
        return found.env, found.project

    where = ChatOpsRepository(
        owner, name, workflow, load_dispatch_inputs(root / ".github" / "workflows" / workflow),
        route_branch,
    )  # fmt: skip
    client = GitHubClient(token_from_env(needs=PERMISSIONS), api_url or DEFAULT_API_URL)
    outcome = handle_comment(payload, client, where)
    append_summary(f"### /sweep\n\n{outcome.status}: {outcome.message}\n")
    if as_json:
        print_json(outcome.to_json())
    else:
        click.echo(f"{outcome.status}: {outcome.message}")
    return 0
