"""Which pull request a sweep belongs to: from the event, or from the pushed commit.

On `pull_request` the event payload names the pull request. On `push` (and on
`workflow_dispatch`, which is how a `/sweep` command starts a sweep) GitHub
is asked for the pull requests the commit belongs to
(`GET /repos/{o}/{r}/commits/{sha}/pulls`), and only an open one whose head
is this branch of this repository counts: a fork's pull request that happens
to contain the commit is not this branch's.

Answers from the API are untrusted: only the fields read here are used, each
checked for type, so a strange answer means "no pull request", never a crash.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from orchestrator.github.api import GitHubClient

_SHA = re.compile(r"^[0-9a-f]{7,40}$")


@dataclass(frozen=True)
class PullRequest:
    """The facts about one pull request that commenting and ChatOps need."""

    number: int
    state: str
    head_ref: str
    head_sha: str
    head_repo: str
    base_repo: str
    html_url: str | None = None

    @property
    def is_fork(self) -> bool:
        """True when the head branch lives in another repository (a fork)."""
        return self.head_repo.lower() != self.base_repo.lower()


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""


def parse_pull_request(data: Any, repository: str) -> PullRequest | None:
    """A PullRequest from GitHub's JSON (API answer or event payload); None when malformed."""
    if not isinstance(data, dict):
        return None
    number = data.get("number")
    head = data.get("head") if isinstance(data.get("head"), dict) else {}
    base = data.get("base") if isinstance(data.get("base"), dict) else {}
    head_repo = head.get("repo") if isinstance(head.get("repo"), dict) else {}
    base_repo = base.get("repo") if isinstance(base.get("repo"), dict) else {}
    if not isinstance(number, int) or isinstance(number, bool) or number < 1:
        return None
    # a deleted fork shows as a null head repo: treat it as foreign, never as ours
    head_name = _text(head_repo.get("full_name")) or "(deleted fork)"
    if head_repo.get("fork") is True and head_name.lower() == repository.lower():
        head_name = "(fork)"
    url = _text(data.get("html_url")) or None
    return PullRequest(
        number=number,
        state=_text(data.get("state")) or "unknown",
        head_ref=_text(head.get("ref")),
        head_sha=_text(head.get("sha")).lower(),
        head_repo=head_name,
        base_repo=_text(base_repo.get("full_name")) or repository,
        html_url=url,
    )


def get_pull_request(client: GitHubClient, owner: str, repo: str, number: int) -> PullRequest:
    """One pull request by number (BackendError when GitHub has none)."""
    from orchestrator.errors import BackendError

    data = client.get_json(
        f"/repos/{owner}/{repo}/pulls/{int(number)}",
        permission="pull-requests: read",
        not_found=f"pull request #{number} not found in {owner}/{repo} (404)",
    )
    found = parse_pull_request(data, f"{owner}/{repo}")
    if found is None:
        raise BackendError(f"GitHub's answer for pull request #{number} is not a pull request")
    return found


def pull_requests_for_commit(
    client: GitHubClient, owner: str, repo: str, sha: str
) -> list[PullRequest]:
    """The pull requests GitHub associates with commit `sha` (open and closed)."""
    if not _SHA.match(sha or ""):
        return []
    data = client.get_json(
        f"/repos/{owner}/{repo}/commits/{sha}/pulls",
        permission="pull-requests: read",
        params={"per_page": "100"},
        not_found=f"commit {sha[:12]} not found in {owner}/{repo} (404)",
    )
    found = [parse_pull_request(item, f"{owner}/{repo}") for item in data or []]
    return [p for p in found if p is not None]


def open_pull_request_of_branch(
    client: GitHubClient, owner: str, repo: str, sha: str, branch: str
) -> PullRequest | None:
    """The open pull request whose head is `branch` of this repository and holds `sha`."""
    repository = f"{owner}/{repo}"
    candidates = [
        p
        for p in pull_requests_for_commit(client, owner, repo, sha)
        if p.state == "open" and p.head_ref == branch and not p.is_fork
        and p.base_repo.lower() == repository.lower()
    ]  # fmt: skip
    return min(candidates, key=lambda p: p.number) if candidates else None
