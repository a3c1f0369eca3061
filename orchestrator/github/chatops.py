"""ChatOps: a `/sweep count=10 dataset=iris` comment on a pull request starts a sweep.

The comment arrives as an `issue_comment` event, whose workflow runs the
default branch's code with the repository's secrets. So this never checks out
or runs the pull request's code: it dispatches the sweep workflow on the pull
request's head branch (`workflow_dispatch`), where the branch routes as any
push of it would. Refused, each with a reply saying why: a fork's pull request
(a fork's code never runs with this repository's secrets), a closed one, a
branch that routes to prod (a comment never starts a prod sweep), and any
argument that is not `NAME=VALUE` for a declared dispatch input with a valid
value. Commenters whose `author_association` is not OWNER, MEMBER or
COLLABORATOR are ignored without a word, so nobody can make the bot talk.

The arguments are parsed here, strictly, and sent as JSON strings in the
dispatch request; nothing of the comment ever reaches a shell.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

from orchestrator.errors import BackendError, UsageError
from orchestrator.github.api import GitHubClient
from orchestrator.github.dispatch import WorkflowInput, dispatch_workflow, validate_inputs
from orchestrator.github.pulls import PullRequest, get_pull_request

COMMAND = "/sweep"
TRUSTED = ("OWNER", "MEMBER", "COLLABORATOR")
MAX_COMMAND_CHARS = 500
MAX_ARGUMENTS = 25
_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]{0,63}$")
# a value: a number, a dataset name, a path inside the repository; no quotes, no
# whitespace, nothing a shell or Markdown gives meaning to
_VALUE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._/+-]{0,199}$")
_INERT = re.compile(r"([!#$&*+.:<>\[\\\]^_`{|}~'\"])")


class CommandRefused(UsageError):
    """A `/sweep` command that will not run; the message is the reply."""


@dataclass
class ChatOpsOutcome:
    """What happened to one comment: ignored, refused (with the reply) or dispatched."""

    status: str  # ignored | refused | failed | dispatched
    message: str
    inputs: dict[str, str] = field(default_factory=dict)
    branch: str | None = None
    run_url: str | None = None
    reply_url: str | None = None

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def inert(text: str, limit: int = 120) -> str:
    """Text safe to quote in a reply: one line, shortened, Markdown marks escaped, and no @
    (an escaped `\\@name` may still notify someone; `(at)name` never does)."""
    line = " ".join(str(text).split()).replace("@", "(at)")
    if len(line) > limit:
        line = line[: limit - 1] + "\u2026"
    return _INERT.sub(r"\\\1", line)


def command_line(body: Any) -> str | None:
    """The comment's first line when it is a `/sweep` command, else None."""
    if not isinstance(body, str):
        return None
    first = body.strip().split("\n", 1)[0].strip()
    if first == COMMAND or first.startswith(COMMAND + " "):
        return first
    return None


def parse_command(line: str, declared: dict[str, WorkflowInput], workflow: str) -> dict[str, str]:
    """`/sweep k=v ...` as dispatch inputs; CommandRefused naming the first bad argument."""
    if len(line) > MAX_COMMAND_CHARS:
        raise CommandRefused(f"the command is longer than {MAX_COMMAND_CHARS} characters")
    words = line.split()[1:]
    if len(words) > MAX_ARGUMENTS:
        raise CommandRefused(f"at most {MAX_ARGUMENTS} arguments, got {len(words)}")
    given: dict[str, str] = {}
    names = ", ".join(declared) or "none"
    for word in words:
        key, sep, value = word.partition("=")
        if not sep or not _KEY.match(key):
            raise CommandRefused(f"arguments look like NAME=VALUE; got {inert(word)}")
        if key not in declared:
            raise CommandRefused(f"{inert(key)} is not an input of {workflow} (inputs: {names})")
        if key in given:
            raise CommandRefused(f"`{key}` is given twice")
        if not _VALUE.match(value) or ".." in value.split("/"):
            raise CommandRefused(
                f"`{key}` has a value with characters a sweep input never needs: {inert(value)}"
            )
        given[key] = value
    try:
        return validate_inputs(given, declared, workflow)
    except UsageError as err:
        raise CommandRefused(inert(err.one_line(), 300)) from None


def react(client: GitHubClient, owner: str, repo: str, comment_id: int, content: str) -> None:
    client.request(
        "POST",
        f"/repos/{owner}/{repo}/issues/comments/{int(comment_id)}/reactions",
        permission="pull-requests: write",
        json={"content": content},
    )


def reply(client: GitHubClient, owner: str, repo: str, number: int, text: str) -> str | None:
    """Post `text` as a comment on pull request `number`; its URL."""
    response = client.request(
        "POST",
        f"/repos/{owner}/{repo}/issues/{int(number)}/comments",
        permission="pull-requests: write",
        json={"body": text},
    )
    data = response.json() if response.content else {}
    url = data.get("html_url") if isinstance(data, dict) else None
    return url if isinstance(url, str) else None


@dataclass
class ChatOpsRepository:
    """Where the command acts, and how a branch routes there (from the default branch's files)."""

    owner: str
    repo: str
    workflow: str
    declared: dict[str, WorkflowInput]
    #: branch -> (environment, project); raises UsageError for a branch no rule routes
    route_branch: Callable[[str], tuple[str, str]]
    prod: str = "prod"


def handle_comment(
    payload: dict[str, Any], client: GitHubClient, where: ChatOpsRepository
) -> ChatOpsOutcome:
    """Act on one `issue_comment` event payload (see the module docstring)."""
    comment = payload.get("comment") if isinstance(payload.get("comment"), dict) else {}
    issue = payload.get("issue") if isinstance(payload.get("issue"), dict) else {}
    line = command_line(comment.get("body"))
    if payload.get("action") not in (None, "created") or line is None:
        return ChatOpsOutcome("ignored", "not a new /sweep comment")
    if not issue.get("pull_request"):
        return ChatOpsOutcome("ignored", "a comment on an issue, not on a pull request")
    association = comment.get("author_association")
    if association not in TRUSTED:
        who = inert(str((comment.get("user") or {}).get("login", "someone")), 40)
        return ChatOpsOutcome(
            "ignored",
            f"{who} is {re.sub(r'[^A-Z_]', '', str(association))[:30] or 'unknown'}, "
            f"not one of {', '.join(TRUSTED)}",
        )
    number, comment_id = issue.get("number"), comment.get("id")
    if not isinstance(number, int) or not isinstance(comment_id, int):
        return ChatOpsOutcome("ignored", "the event names no pull request or comment")
    owner, repo = where.owner, where.repo
    react(client, owner, repo, comment_id, "eyes")
    try:
        inputs = parse_command(line, where.declared, where.workflow)
        pull = get_pull_request(client, owner, repo, number)
        env, project = _check_target(pull, where)
    except CommandRefused as err:
        react(client, owner, repo, comment_id, "confused")
        text = f"`/sweep` was not run: {err.one_line()}."
        url = reply(client, owner, repo, number, text)
        return ChatOpsOutcome("refused", text, reply_url=url)
    try:
        run = dispatch_workflow(
            client, owner, repo, where.workflow, pull.head_ref, inputs, find_timeout=30.0
        )
    except BackendError as err:
        react(client, owner, repo, comment_id, "confused")
        text = f"`/sweep` could not start the sweep: {inert(err.one_line(), 300)}."
        url = reply(client, owner, repo, number, text)
        return ChatOpsOutcome("failed", text, inputs, pull.head_ref, reply_url=url)
    # validated values hold no backtick, so a code span shows them as they are
    shown = f"`{' '.join(f'{k}={v}' for k, v in inputs.items())}`" if inputs else "its defaults"
    link = f"[run {run.run_id}]({run.html_url})" if run.run_id and run.html_url else "a new run"
    text = (
        f"Started a sweep of {inert(pull.head_ref, 80)} ({inert(env, 20)}, project "
        f"{inert(project, 80)}) with {shown}: {link}."
        " Its report will update the sweep comment of this pull request."
    )
    react(client, owner, repo, comment_id, "rocket")
    url = reply(client, owner, repo, number, text)
    return ChatOpsOutcome(
        "dispatched", text, inputs, pull.head_ref, run.html_url, reply_url=url
    )  # fmt: skip


def _check_target(pull: PullRequest, where: ChatOpsRepository) -> tuple[str, str]:
    if pull.is_fork:
        raise CommandRefused(
            f"#{pull.number} comes from the fork {inert(pull.head_repo, 80)}; a fork's code never "
            "runs with this repository's secrets, so push its branch here to sweep it"
        )
    if pull.state != "open":
        raise CommandRefused(f"#{pull.number} is {inert(pull.state, 20)}, not open")
    if not pull.head_ref:
        raise CommandRefused(f"#{pull.number} names no head branch")
    try:
        env, project = where.route_branch(pull.head_ref)
    except UsageError as err:
        raise CommandRefused(inert(err.one_line(), 300)) from None
    if env == where.prod:
        raise CommandRefused(
            f"branch {inert(pull.head_ref, 80)} routes to {where.prod}; a comment never "
            f"starts a {where.prod} sweep"
        )
    return env, project
