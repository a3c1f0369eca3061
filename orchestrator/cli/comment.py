"""`sweepci comment`: the sweep's report as one pull-request comment, updated by every sweep."""

from __future__ import annotations

import os
from pathlib import Path

import click

from orchestrator.cli.common import (
    api_url_option,
    json_option,
    print_json,
    repo_option,
    store_option,
)

#: a body file larger than this is not a report (the job summary stops at 1 MiB)
MAX_BODY_FILE = 2 * 1024 * 1024
PERMISSIONS = "`pull-requests: write` (and `contents: read`)"


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@click.argument("sweep_id", default="latest")
@store_option
@click.option(
    "--baseline",
    type=click.Path(path_type=Path),
    default=None,
    envvar="SWEEPCI_BASELINE",
    help="Store (or directory) holding main's prod sweep to compare with (env: SWEEPCI_BASELINE).",
)
@click.option(
    "--body-file",
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    default=None,
    help="Post this Markdown report (e.g. report.md from `sweepci report`) instead of "
    "rendering SWEEP_ID from the store.",
)
@click.option(
    "--pr",
    "number",
    type=click.IntRange(min=1),
    default=None,
    help="Pull request number. Default: the event's pull request, else the open pull request "
    "of this branch that holds this commit.",
)
@click.option(
    "--sweep-url",
    envvar="SWEEPCI_SWEEP_URL",
    default=None,
    metavar="URL",
    help="Link to the W&B sweep, shown above the report (env: SWEEPCI_SWEEP_URL).",
)
@repo_option
@api_url_option
@json_option
def comment(
    sweep_id: str, store_path: str, baseline: Path | None, body_file: Path | None,
    number: int | None, sweep_url: str | None, repo: str | None, api_url: str | None,
    as_json: bool,
) -> int:  # fmt: skip
    """Post the sweep's report on the branch's pull request, or update the comment already there.

    One comment per pull request: it starts with a hidden marker, and every later
    sweep of the branch edits it. A pull request from a fork gets no comment (its
    workflow has no secrets and a read-only token; the job summary says so), and
    no open pull request is not an error. The token comes from GITHUB_TOKEN or
    GH_TOKEN and needs `pull-requests: write`. In GitHub Actions the step outputs
    `comment-url` and `pull-request` are set and the job summary says what happened.
    A GitHub that cannot be reached is a warning (exit 0); a refused token exits 3.

    Example: sweepci comment --body-file sweepci-report/report.md
    """
    from orchestrator.ci import repo as git
    from orchestrator.ci.context import from_environment, read_event_payload
    from orchestrator.github.api import (
        DEFAULT_API_URL,
        GitHubClient,
        GitHubUnreachable,
        token_from_env,
    )
    from orchestrator.github.commands import append_summary, in_actions, set_outputs
    from orchestrator.github.pr_comment import (
        CommentOutcome,
        comment_text,
        find_target,
        fork_outcome,
        fork_pull_request,
        post_comment,
    )

    ctx = from_environment()
    payload = read_event_payload() if in_actions() else {}
    slug = repo or os.environ.get("GITHUB_REPOSITORY") or ctx.repository
    owner, name = git.parse_repo_slug(slug) if slug and "/" in slug else git.origin_repo()
    text = comment_text(
        _report(sweep_id, store_path, baseline, body_file), ctx, sweep_url=sweep_url
    )
    # a fork's pull request is known from the event alone: no token is needed to skip it
    fork = None if number is not None else fork_pull_request(ctx, payload, f"{owner}/{name}")
    if fork is not None:
        outcome = fork_outcome(fork)
    else:
        # few retries: the sweep is done, and its report is in the job summary anyway
        client = GitHubClient(
            token_from_env(needs=PERMISSIONS), api_url or DEFAULT_API_URL, max_retries=2
        )
        try:
            target, why = find_target(ctx, payload, client, owner, name, number)
            if target is None:
                outcome = CommentOutcome(False, f"no pull-request comment: {why}")
            else:
                outcome = post_comment(client, owner, name, target, text)
        except GitHubUnreachable as err:
            outcome = CommentOutcome(False, f"no pull-request comment: {err.one_line()}")
            warn(outcome.message)
    set_outputs({"comment-url": outcome.url or "", "pull-request": str(outcome.pull_request or "")})
    where = f" ({outcome.url})" if outcome.url else ""
    append_summary(f"### Pull-request comment\n\n{outcome.message}{where}\n")
    if as_json:
        print_json(outcome.to_json())
    else:
        click.echo(outcome.message + where)
    return 0


def warn(message: str) -> None:
    from orchestrator.github.commands import command, in_actions

    if in_actions():
        command("warning", message, err=True, title="No PR comment")
    else:
        click.echo(f"sweepci: warning: {message}", err=True)


def _report(sweep_id: str, store_path: str, baseline: Path | None, body_file: Path | None) -> str:
    if body_file is not None:
        from orchestrator.errors import UsageError

        if body_file.stat().st_size > MAX_BODY_FILE:
            raise UsageError(f"{body_file}: larger than {MAX_BODY_FILE} bytes; not a sweep report")
        return body_file.read_text(encoding="utf-8", errors="replace")
    from orchestrator.report import render_report

    return render_report(store_path, sweep_id, "md", baseline=baseline)
