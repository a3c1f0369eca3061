"""One pull-request comment per branch that every sweep rewrites (a "sticky" comment).

The comment starts with a hidden HTML marker. The next sweep lists the pull
request's comments, finds the bot's comment that starts with the marker and
edits it, so a branch swept ten times still has one comment. Only comments
written by a bot account (the workflow's GITHUB_TOKEN writes as
`github-actions[bot]`), or by the user of the personal token in use (`sweepci
comment` from a laptop), are candidates: a person who pastes the marker into
their own comment does not get it overwritten.

GitHub refuses a comment body over 65,536 characters; `cap_body` cuts the
text at a line below MAX_COMMENT_CHARS, closes a code fence left open by the
cut, and says where the rest is.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from typing import Any

from orchestrator.github.api import GitHubClient

MARKER = "<!-- sweepci:sweep-report -->"
GITHUB_MAX_BODY = 65_536
MAX_COMMENT_CHARS = 65_000  # below GitHub's limit, with room for the truncation note
#: comments listed while looking for the marker (100 a page): a busy PR has a few hundred
MAX_PAGES = 20
TRUNCATED = (
    "\n\n_The report was cut to fit a pull-request comment; the job summary has all of it._\n"
)
_FENCE = re.compile(r"^(```|~~~)")


@dataclass
class CommentResult:
    """What was done: `action` is created or updated; `url` links the comment."""

    action: str
    comment_id: int
    url: str | None
    pull_request: int

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def cap_body(text: str, limit: int = MAX_COMMENT_CHARS) -> str:
    """`text` if it fits in `limit` characters, else its first lines and a note."""
    if len(text) <= limit:
        return text
    room = limit - len(TRUNCATED) - 8  # 8: a closing fence and newlines
    kept: list[str] = []
    used = 0
    for line in text.splitlines(keepends=True):
        if used + len(line) > room:
            break
        kept.append(line)
        used += len(line)
    open_fence = sum(1 for line in kept if _FENCE.match(line.lstrip())) % 2 == 1
    body = "".join(kept).rstrip("\n")
    if open_fence:
        body += "\n```"
    return body + TRUNCATED


def with_marker(text: str) -> str:
    """The comment body: the marker on its own first line, then `text`, capped."""
    return cap_body(f"{MARKER}\n{text.lstrip()}")


def token_login(client: GitHubClient) -> str | None:
    """The login of a personal token's user; None for a workflow's GITHUB_TOKEN (a bot,
    for which GitHub answers GET /user with 403) or when GitHub does not say."""
    from orchestrator.errors import BackendError

    try:
        data = client.get_json("/user", permission="(none)")
    except BackendError:
        return None
    login = data.get("login") if isinstance(data, dict) else None
    return login if isinstance(login, str) and login else None


def _is_ours(comment: Any, login: str | None = None) -> bool:
    if not isinstance(comment, dict):
        return False
    user = comment.get("user") if isinstance(comment.get("user"), dict) else {}
    body = comment.get("body")
    mine = user.get("type") == "Bot" or (login is not None and user.get("login") == login)
    return (
        mine
        and isinstance(body, str)
        and body.startswith(MARKER)
        and isinstance(comment.get("id"), int)
    )


def find_sticky_comment(
    client: GitHubClient, owner: str, repo: str, number: int, login: str | None = None
) -> dict[str, Any] | None:
    """The oldest comment on pull request `number` that starts with MARKER, written by a bot
    or by `login` (the user of a personal token)."""
    for page in range(1, MAX_PAGES + 1):
        batch = client.get_json(
            f"/repos/{owner}/{repo}/issues/{int(number)}/comments",
            permission="pull-requests: read",
            params={"per_page": "100", "page": str(page)},
            not_found=f"pull request #{number} not found in {owner}/{repo} (404)",
        )
        if not isinstance(batch, list):
            return None
        for comment in batch:
            if _is_ours(comment, login):
                return comment
        if len(batch) < 100:
            return None
    return None


def upsert_sticky_comment(
    client: GitHubClient, owner: str, repo: str, number: int, text: str
) -> CommentResult:
    """Create the sweep comment on pull request `number`, or edit the one already there."""
    body = with_marker(text)
    existing = find_sticky_comment(client, owner, repo, number, token_login(client))
    if existing is not None:
        response = client.request(
            "PATCH",
            f"/repos/{owner}/{repo}/issues/comments/{existing['id']}",
            permission="pull-requests: write",
            json={"body": body},
            not_found=f"comment {existing['id']} on pull request #{number} is gone (404)",
        )
        action = "updated"
    else:
        response = client.request(
            "POST",
            f"/repos/{owner}/{repo}/issues/{int(number)}/comments",
            permission="pull-requests: write",
            json={"body": body},
            not_found=f"pull request #{number} not found in {owner}/{repo} (404)",
        )
        action = "created"
    data = response.json() if response.content else {}
    comment_id = data.get("id") if isinstance(data, dict) else None
    url = data.get("html_url") if isinstance(data, dict) else None
    return CommentResult(
        action=action,
        comment_id=int(comment_id) if isinstance(comment_id, int) else int(existing["id"])
        if existing else 0,
        url=url if isinstance(url, str) else None,
        pull_request=int(number),
    )  # fmt: skip
