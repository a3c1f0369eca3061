"""The pull-request side of the GitHub stand-in: pull requests, issue comments, reactions.

What `sweepci comment` and `sweepci chatops` use, shaped as GitHub answers it:
`GET /repos/{o}/{r}/commits/{sha}/pulls` (the pull requests a commit belongs
to), `GET /repos/{o}/{r}/pulls/{n}`, the issue comments of a pull request
(listed in pages, created with POST, edited with PATCH), and reactions on a
comment. Comments written with the stand-in's token are authored by
`github-actions[bot]` (a Bot), as comments written with a workflow's
GITHUB_TOKEN are; a body over 65,536 characters is refused with 422, as
GitHub does. `github_api.GitHubStandIn` routes these endpoints here.
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

MAX_BODY = 65_536
BOT = {"login": "github-actions[bot]", "type": "Bot", "id": 41898282}
ROUTES = [
    ("GET", "token_user", re.compile(r"^/user$")),
    ("GET", "commit_pulls", re.compile(r"^/repos/([^/]+)/([^/]+)/commits/([0-9a-fA-F]+)/pulls$")),
    ("GET", "pull", re.compile(r"^/repos/([^/]+)/([^/]+)/pulls/(\d+)$")),
    ("GET", "issue_comments", re.compile(r"^/repos/([^/]+)/([^/]+)/issues/(\d+)/comments$")),
    ("POST", "create_comment", re.compile(r"^/repos/([^/]+)/([^/]+)/issues/(\d+)/comments$")),
    ("PATCH", "update_comment", re.compile(r"^/repos/([^/]+)/([^/]+)/issues/comments/(\d+)$")),
    (
        "POST",
        "reaction",
        re.compile(r"^/repos/([^/]+)/([^/]+)/issues/comments/(\d+)/reactions$"),
    ),
]
ENDPOINTS = {name for _, name, _ in ROUTES}
REACTIONS = {"+1", "-1", "laugh", "confused", "heart", "hooray", "rocket", "eyes"}


def _now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class PullRequests:
    """Pull requests, comments and reactions of one repository; guarded by `lock`."""

    repo: str
    web: str = "https://github.com"
    pulls: dict[int, dict[str, Any]] = field(default_factory=dict)
    comments: dict[int, dict[str, Any]] = field(default_factory=dict)
    reactions: list[tuple[int, str]] = field(default_factory=list)
    #: None: the token is a workflow's GITHUB_TOKEN (comments by the bot; GET /user is 403);
    #: a user dict: a personal token of that user, who then authors the comments
    token_user: dict[str, Any] | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)
    _next_comment: int = 9000

    def add_pull_request(
        self,
        number: int,
        *,
        head_ref: str,
        head_sha: str,
        fork: str | None = None,
        state: str = "open",
        commits: tuple[str, ...] = (),
        base_ref: str = "main",
    ) -> dict[str, Any]:
        """A pull request from `head_ref` (of `fork`, an owner/name, when given) into base_ref."""
        head_repo = fork or self.repo
        pull = {
            "number": number,
            "state": state,
            "html_url": f"{self.web}/{self.repo}/pull/{number}",
            "title": f"PR {number}",
            "head": {
                "ref": head_ref,
                "sha": head_sha,
                "repo": {"full_name": head_repo, "fork": fork is not None},
            },
            "base": {"ref": base_ref, "repo": {"full_name": self.repo, "fork": False}},
            "_commits": {head_sha, *commits},
        }
        with self.lock:
            self.pulls[number] = pull
        return pull

    def add_comment(
        self, issue: int, body: str, *, login: str = "octocat", association: str = "NONE"
    ) -> dict[str, Any]:
        """A comment by a person (not the bot) on issue or pull request `issue`."""
        user = {"login": login, "type": "User", "id": 1}
        return self._new_comment(issue, body, user, association)

    def _new_comment(
        self, issue: int, body: str, user: dict[str, Any], association: str
    ) -> dict[str, Any]:
        with self.lock:
            self._next_comment += 1
            comment_id = self._next_comment
            comment = {
                "id": comment_id,
                "issue_number": issue,
                "body": body,
                "user": dict(user),
                "author_association": association,
                "html_url": f"{self.web}/{self.repo}/pull/{issue}#issuecomment-{comment_id}",
                "created_at": _now(),
                "updated_at": _now(),
            }
            self.comments[comment_id] = comment
        return comment

    def comments_on(self, issue: int) -> list[dict[str, Any]]:
        with self.lock:
            return [dict(c) for c in self.comments.values() if c["issue_number"] == issue]

    def _public(self, pull: dict[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in pull.items() if not k.startswith("_")}

    def answer(self, endpoint: str, groups: tuple[str, ...], query: dict[str, str], body: Any):
        """(status, payload) for one authorised request to an endpoint of ROUTES."""
        if endpoint == "token_user":
            if self.token_user is None:
                return 403, {"message": "Resource not accessible by integration"}
            return 200, dict(self.token_user)
        if f"{groups[0]}/{groups[1]}" != self.repo:
            return 404, {"message": "Not Found"}
        if endpoint == "commit_pulls":
            sha = groups[2].lower()
            with self.lock:
                found = [self._public(p) for p in self.pulls.values() if sha in p["_commits"]]
            return 200, sorted(found, key=lambda p: p["number"])
        if endpoint == "pull":
            with self.lock:
                pull = self.pulls.get(int(groups[2]))
            return (200, self._public(pull)) if pull else (404, {"message": "Not Found"})
        if endpoint == "issue_comments":
            per_page = max(1, min(100, int(query.get("per_page", "30"))))
            page = max(1, int(query.get("page", "1")))
            every = sorted(self.comments_on(int(groups[2])), key=lambda c: c["id"])
            return 200, every[(page - 1) * per_page : page * per_page]
        text = body.get("body") if isinstance(body, dict) else None
        if endpoint in ("create_comment", "update_comment"):
            if not isinstance(text, str) or not text:
                return 422, {"message": "Validation Failed", "errors": ["body is missing"]}
            if len(text) > MAX_BODY:
                return 422, {
                    "message": "Validation Failed",
                    "errors": [{"message": "body is too long (maximum is 65536 characters)"}],
                }
        if endpoint == "create_comment":
            author = self.token_user or BOT
            return 201, self._new_comment(int(groups[2]), text, author, "NONE")
        if endpoint == "update_comment":
            with self.lock:
                comment = self.comments.get(int(groups[2]))
                if comment is None:
                    return 404, {"message": "Not Found"}
                if comment["user"]["login"] != (self.token_user or BOT)["login"]:
                    # what an edit of someone else's comment should never be tried for
                    return 403, {"message": "Resource not accessible by integration"}
                comment.update(body=text, updated_at=_now())
                return 200, dict(comment)
        content = body.get("content") if isinstance(body, dict) else None
        if content not in REACTIONS:
            return 422, {"message": "Validation Failed", "errors": ["unknown reaction"]}
        with self.lock:
            if int(groups[2]) not in self.comments:
                return 404, {"message": "Not Found"}
            self.reactions.append((int(groups[2]), content))
        return 201, {"id": len(self.reactions), "content": content, "user": BOT}
