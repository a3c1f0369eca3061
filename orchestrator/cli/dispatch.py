"""`sweepci dispatch`: start the sweep workflow on GitHub and, with --watch, follow it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from orchestrator.cli.common import Seconds, api_url_option
from orchestrator.errors import BackendError, UsageError

# Named options that stand for workflow inputs: option name -> input name.
NAMED_INPUTS = {
    "count": "count",
    "dataset": "dataset",
    "sweep_file": "sweep_file",
    "agents": "agents",
    "backend": "backend",
}
DEFAULT_WORKFLOW = "sweep.yml"
# How long to look for the run when GitHub does not return it with the dispatch.
FIND_RUN_TIMEOUT = 60.0


def _project_defaults(root: Path) -> tuple[str, str | None]:
    """(workflow, repository) from sweepci.yaml at the repository root, if it has them."""
    from orchestrator.config.project import PROJECT_FILE, load_project

    path = root / PROJECT_FILE
    if not path.is_file():
        return DEFAULT_WORKFLOW, None
    project = load_project(path)
    return project.workflow or DEFAULT_WORKFLOW, project.repository


def _collect_inputs(named: dict[str, str | None], pairs: tuple[str, ...]) -> dict[str, str]:
    given: dict[str, str] = {}
    for option, value in named.items():
        if value is not None:
            given[NAMED_INPUTS[option]] = value
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise UsageError(f"--input must look like KEY=VALUE, got {pair!r}")
        key = key.strip()
        if key in given:
            raise UsageError(f"input {key!r} is given twice")
        given[key] = value
    return given


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--ref",
    metavar="BRANCH",
    help="Branch or tag to run the workflow on. Default: the current branch.",
)
@click.option("--count", metavar="N", help="Runs to try (workflow input `count`).")
@click.option(
    "--dataset",
    metavar="NAME",
    help="Dataset to sweep on, e.g. wine or iris (workflow input `dataset`).",
)
@click.option(
    "--sweep-file",
    metavar="PATH",
    help="Sweep file, relative to the repository (workflow input `sweep_file`).",
)
@click.option("--agents", metavar="N", help="Parallel agent jobs (workflow input `agents`).")
@click.option(
    "--backend",
    metavar="auto|local|wandb",
    help="Where runs are recorded (workflow input `backend`).",
)
@click.option(
    "--input",
    "pairs",
    multiple=True,
    metavar="KEY=VALUE",
    help="Any other workflow input; repeat for several.",
)
@click.option(
    "--workflow",
    metavar="FILE",
    help="Workflow file name under .github/workflows. Default: `workflow` in sweepci.yaml, else sweep.yml.",
)
@click.option(
    "--repo",
    metavar="OWNER/NAME",
    help="GitHub repository. Default: `repository` in sweepci.yaml, else read from the `origin` remote.",
)
@api_url_option
@click.option(
    "--watch", is_flag=True, help="Follow the run until it ends; exit 0 on success, 1 otherwise."
)
@click.option(
    "--json",
    "as_json",
    is_flag=True,
    help="Print one JSON object (run id, URLs, conclusion) instead of prose; progress goes to stderr.",
)
@click.option(
    "--poll-interval",
    type=Seconds(min=0.01),
    default=10.0,
    show_default=True,
    metavar="SECONDS",
    help="Seconds between polls while watching.",
)
@click.option(
    "--timeout",
    type=Seconds(min=0),
    default=None,
    metavar="SECONDS",
    help="Stop watching after this many seconds (exit 3; the run goes on). Default: no limit.",
)
def dispatch(
    ref: str | None,
    count: str | None,
    dataset: str | None,
    sweep_file: str | None,
    agents: str | None,
    backend: str | None,
    pairs: tuple[str, ...],
    workflow: str | None,
    repo: str | None,
    api_url: str | None,
    watch: bool,
    as_json: bool,
    poll_interval: float,
    timeout: float | None,
) -> int:
    """Start the sweep workflow (workflow_dispatch) and optionally follow it.

    Inputs are checked against the workflow file in this checkout before
    anything is sent. The token comes from GITHUB_TOKEN or GH_TOKEN and needs
    `actions: write` to dispatch and `actions: read` to watch.

    Example: sweepci dispatch --count 5 --dataset iris --watch
    """
    from orchestrator.ci import repo as git
    from orchestrator.github.api import DEFAULT_API_URL, GitHubClient, token_from_env
    from orchestrator.github.dispatch import (
        dispatch_workflow,
        load_dispatch_inputs,
        validate_inputs,
    )

    named = {
        "count": count,
        "dataset": dataset,
        "sweep_file": sweep_file,
        "agents": agents,
        "backend": backend,
    }
    given = _collect_inputs(named, pairs)
    root = git.repo_root()
    project_workflow, project_repo = _project_defaults(root)
    workflow = workflow or project_workflow
    declared = load_dispatch_inputs(root / ".github" / "workflows" / workflow)
    inputs = validate_inputs(given, declared, workflow)
    repo = repo or project_repo
    owner, name = git.parse_repo_slug(repo) if repo else git.origin_repo(root)
    ref = ref or git.current_branch(root)

    client = GitHubClient(token_from_env(), api_url or DEFAULT_API_URL)
    run = dispatch_workflow(
        client, owner, name, workflow, ref, inputs,
        find_timeout=FIND_RUN_TIMEOUT if timeout is None else min(FIND_RUN_TIMEOUT, timeout),
        poll_interval=min(poll_interval, 3.0),
    )  # fmt: skip
    result: dict[str, Any] = {
        "repository": f"{owner}/{name}",
        "workflow": workflow,
        "ref": ref,
        "inputs": inputs,
        "run_id": run.run_id,
        "run_url": run.api_url,
        "html_url": run.html_url,
        "status": None,
        "conclusion": None,
    }
    say = (lambda line: click.echo(line, err=True)) if as_json else click.echo
    if run.run_id is None:
        actions_page = f"{_web_url(client.api_url)}/{owner}/{name}/actions/workflows/{workflow}"
        if watch:
            raise BackendError(
                f"dispatched {workflow} on {ref}, but its run did not appear; see {actions_page}"
            )
        say(
            f"Started {workflow} on {ref} in {owner}/{name}; the run is not listed yet: {actions_page}"
        )
    else:
        say(f"Started {workflow} on {ref} in {owner}/{name}: run {run.run_id}")
        say(run.html_url or "")
    if watch and run.run_id is not None:
        _follow(client, owner, name, run.run_id, result, say, poll_interval, timeout, as_json)
    elif as_json:
        click.echo(json.dumps(result, indent=2))
    return 0


def _follow(
    client: Any,
    owner: str,
    name: str,
    run_id: int,
    result: dict[str, Any],
    say: Any,
    poll_interval: float,
    timeout: float | None,
    as_json: bool,
) -> None:
    from orchestrator.github.watch import (
        ensure_succeeded,
        fetch_report_summary,
        format_elapsed,
        watch_run,
    )

    watched = watch_run(
        client, owner, name, run_id, echo=say, poll_interval=poll_interval, timeout=timeout
    )
    try:
        summary = fetch_report_summary(client, owner, name, run_id)
    except BackendError as err:
        # The run's outcome matters more than its leaderboard; say why it is missing.
        say(f"sweepci: warning: could not fetch the sweep report: {err.one_line()}")
        summary = None
    result.update(
        status=watched.run.get("status"),
        conclusion=watched.conclusion,
        html_url=watched.run.get("html_url") or result["html_url"],
        elapsed_seconds=round(watched.elapsed, 1),
        jobs=[
            {"name": j.get("name"), "status": j.get("status"), "conclusion": j.get("conclusion")}
            for j in watched.jobs
        ],
        summary=summary,
    )
    if as_json:
        click.echo(json.dumps(result, indent=2))
    else:
        click.echo(
            f"Run {run_id} finished after {format_elapsed(watched.elapsed)}: {watched.conclusion}"
        )
        click.echo(result["html_url"] or "")
        if summary:
            click.echo("")
            click.echo(summary.rstrip("\n"))
    ensure_succeeded(watched)


def _web_url(api_url: str) -> str:
    """github.com for api.github.com; https://host for GitHub Enterprise's https://host/api/v3."""
    if api_url.rstrip("/") == "https://api.github.com":
        return "https://github.com"
    return api_url.rstrip("/").removesuffix("/api/v3")
