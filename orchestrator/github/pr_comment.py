"""`sweepci comment`: put a sweep's report on the branch's pull request, one comment per PR.

Which pull request: `--pr N` when given; on `pull_request` the one in the
event payload; otherwise (push, workflow_dispatch) the open pull request whose
head is this branch and holds this commit. A pull request from a fork gets
no comment: its workflow runs without secrets and with a read-only token, so
the report says so in the job summary instead. No pull request is a normal
state, not an error (a branch without one, the first push of a branch).

The body is the sweep's Markdown report under a line of links (workflow
run, W&B sweep, HTML report) and is kept below GitHub's size limit. Links are
used only when they have a plain http(s) URL shape; anything else is dropped.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from typing import Any

from orchestrator.ci.context import RunContextInfo
from orchestrator.github.api import GitHubClient
from orchestrator.github.pulls import PullRequest, get_pull_request, open_pull_request_of_branch
from orchestrator.github.sticky import upsert_sticky_comment

REPORT_ARTIFACT = "sweepci-report"
# https anywhere, or http on this machine (the stand-ins tests use); no quotes,
# spaces, parentheses or brackets, so a URL cannot end a Markdown link early
_URL = re.compile(
    r"^(https://[A-Za-z0-9.-]+|http://(127\.0\.0\.1|localhost))(:\d{1,5})?(/[A-Za-z0-9._~%/+=:@-]*)?$"
)


@dataclass
class CommentOutcome:
    """What `sweepci comment` did; `message` is one line for the log and the job summary."""

    commented: bool
    message: str
    pull_request: int | None = None
    action: str | None = None
    url: str | None = None
    fork: bool = False

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def link(url: str | None) -> str | None:
    """`url` when it is a plain http(s) URL fit for a Markdown link, else None."""
    return url if url and len(url) <= 500 and _URL.match(url) else None


def comment_text(report_markdown: str, ctx: RunContextInfo, *, sweep_url: str | None = None) -> str:
    """The comment: a line of links, the report, and a footer naming the commit."""
    links = []
    run_url = link(ctx.run_url)
    if run_url:
        links.append(f"[workflow run]({run_url})")
    if link(sweep_url):
        links.append(f"[W&B sweep]({sweep_url})")
    if run_url:
        links.append(f"[HTML report]({run_url}#artifacts) (artifact `{REPORT_ARTIFACT}`)")
    header = "**sweepci** · " + " · ".join(links) if links else "**sweepci**"
    sha = ctx.short_sha if ctx.sha and re.fullmatch(r"[0-9a-f]{7,40}", ctx.sha) else None
    footer = "<sub>This comment is updated by every sweep of this branch"
    footer += f"; last: commit {sha}.</sub>" if sha else ".</sub>"
    return f"{header}\n\n{report_markdown.strip()}\n\n{footer}\n"


def pull_request_of_event(payload: dict[str, Any], repository: str) -> PullRequest | None:
    from orchestrator.github.pulls import parse_pull_request

    return parse_pull_request(payload.get("pull_request"), repository)


def fork_pull_request(
    ctx: RunContextInfo, payload: dict[str, Any], repository: str
) -> PullRequest | None:
    """On a pull_request event from a fork, that pull request; else None."""
    if not ctx.is_pull_request:
        return None
    pull = pull_request_of_event(payload, repository)
    if pull is not None and (pull.is_fork or ctx.is_fork):
        return pull
    return None


def find_target(
    ctx: RunContextInfo,
    payload: dict[str, Any],
    client: GitHubClient,
    owner: str,
    repo: str,
    number: int | None = None,
) -> tuple[PullRequest | None, str]:
    """The pull request to comment on, or None and the reason there is none."""
    if number is None and ctx.is_pull_request:
        pull = pull_request_of_event(payload, f"{owner}/{repo}")
        if pull is None:
            return None, "the pull_request event names no pull request"
        if pull.is_fork or ctx.is_fork:
            return pull, ""
        number = pull.number
    if number is not None:
        return get_pull_request(client, owner, repo, number), ""
    if not ctx.branch or not ctx.sha:
        return None, "no branch or commit is known, so no pull request can be found"
    found = open_pull_request_of_branch(client, owner, repo, ctx.sha, ctx.branch)
    if found is None:
        return None, f"no open pull request from branch {ctx.branch} holds commit {ctx.sha[:7]}"
    return found, ""


def post_comment(
    client: GitHubClient, owner: str, repo: str, target: PullRequest, text: str
) -> CommentOutcome:
    """Create or update the sweep comment on `target` (never on a fork's pull request)."""
    if target.is_fork:
        return fork_outcome(target)
    result = upsert_sticky_comment(client, owner, repo, target.number, text)
    return CommentOutcome(
        commented=True,
        message=f"{result.action} the sweep comment on pull request #{target.number}",
        pull_request=target.number,
        action=result.action,
        url=result.url,
    )


def fork_outcome(target: PullRequest) -> CommentOutcome:
    return CommentOutcome(
        commented=False,
        message=(
            f"no pull-request comment: #{target.number} comes from the fork {target.head_repo}; "
            "a fork's workflow gets no secrets and no write access, so its report stays in "
            "this job summary"
        ),
        pull_request=target.number,
        fork=True,
    )
