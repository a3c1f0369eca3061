"""`sweepci baseline fetch`: bring the previous prod store of main in from GitHub Actions."""

from __future__ import annotations

from pathlib import Path

import click

from orchestrator.cli.common import api_url_option, json_option, print_json


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def baseline() -> None:
    """Baselines to compare a sweep with (`sweepci report --baseline DIR`)."""


@baseline.command(context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "-o",
    "--output",
    type=click.Path(file_okay=False, path_type=Path),
    default=".sweepci/baseline",
    show_default=True,
    help="Directory to unpack the artifact into; replaced by the next fetch.",
)
@click.option(
    "--repo",
    metavar="OWNER/NAME",
    help="GitHub repository. Default: $GITHUB_REPOSITORY, else `repository` in sweepci.yaml, "
    "else the `origin` remote.",
)
@click.option(
    "--workflow",
    metavar="FILE",
    help="Workflow file name. Default: `workflow` in sweepci.yaml, else sweep.yml.",
)
@click.option(
    "--branch",
    default=None,
    help="Branch whose runs hold the baseline. Default: the repository's default branch.",
)
@click.option(
    "--artifact",
    default="sweepci-report",
    show_default=True,
    help="Name of the artifact that holds the store.",
)
@click.option(
    "--exclude-run",
    metavar="RUN_ID",
    envvar="GITHUB_RUN_ID",
    help="Never take this run (default: $GITHUB_RUN_ID, the run doing the fetch).",
)
@api_url_option
@json_option
def fetch(
    output: Path,
    repo: str | None,
    workflow: str | None,
    branch: str | None,
    artifact: str,
    exclude_run: str | None,
    api_url: str | None,
    as_json: bool,
) -> int:
    """Download the store of the latest successful sweep workflow run on BRANCH.

    Only a run of this repository started by a push, a dispatch or a schedule
    counts: runs of pull requests (a fork's own `main` included) and of other
    repositories are passed over, whatever the runs list says. Takes the
    ARTIFACT of that run (older runs when its artifact expired),
    checks every path in the zip (an absolute path or `..` refuses it all) and
    unpacks it into OUTPUT; then `sweepci report --baseline OUTPUT` compares
    with it, and `sweepci merge OUTPUT -o STORE` carries its production model.

    A baseline is optional, so finding nothing (no successful run yet, an
    expired artifact) prints why and exits 0, and so does a GitHub that
    cannot be reached at all (a warning; `::warning::` in GitHub Actions).
    A missing token exits 2; a refused token, a missing permission
    (`actions: read`) or an unsafe archive exits 3. In GitHub Actions the
    step outputs `store` (the store file, empty when none) and `run-id` are
    set. The token comes from GITHUB_TOKEN or GH_TOKEN.

    Example: sweepci baseline fetch -o .sweepci/baseline
    """
    import os

    from orchestrator.ci import repo as git
    from orchestrator.cli.dispatch import _project_defaults
    from orchestrator.errors import ConfigError
    from orchestrator.github.api import (
        DEFAULT_API_URL,
        GitHubClient,
        GitHubUnreachable,
        token_from_env,
    )
    from orchestrator.github.baseline_fetch import fetch_baseline
    from orchestrator.github.commands import command, in_actions, set_outputs

    try:
        root = git.repo_root()
    except ConfigError:
        root = Path.cwd()
    project_workflow, project_repo = _project_defaults(root)
    slug = repo or os.environ.get("GITHUB_REPOSITORY") or project_repo
    owner, name = git.parse_repo_slug(slug) if slug else git.origin_repo(root)
    workflow = workflow or project_workflow
    # few retries: the report must not wait long for an optional comparison
    client = GitHubClient(token_from_env(), api_url or DEFAULT_API_URL, max_retries=2)
    try:
        result = fetch_baseline(
            client, owner, name, workflow=workflow, branch=branch, artifact=artifact,
            dest=output, exclude_run_id=exclude_run,
        )  # fmt: skip
    except GitHubUnreachable as err:
        message = f"no baseline: {err.one_line()}"
        if in_actions():
            command("warning", message, err=True, title="No baseline")
        else:
            click.echo(f"sweepci: warning: {message}", err=True)
        set_outputs({"store": "", "run-id": ""})
        if as_json:
            print_json({"found": False, "message": message, "repository": f"{owner}/{name}"})
        return 0
    set_outputs({"store": result.store or "", "run-id": str(result.run_id or "")})
    if as_json:
        print_json(result.to_json())
    else:
        click.echo(result.message)
    if result.expired and not result.found:
        # the record has outlived nothing: say so where people look, not only in the log
        if in_actions():
            command("warning", result.message, err=True, title="Baseline expired")
        else:
            click.echo(f"sweepci: warning: {result.message}", err=True)
    return 0
