"""`/sweep` comments: the real `sweepci chatops` against the GitHub stand-in.

The repository is a real checkout holding this project's sweepci.yaml and sweep
workflow (the default branch's files, which an `issue_comment` workflow runs).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT, clean_env, make_repo, sweepci
from tests.servers.github_api import GitHubStandIn
from tests.servers.github_fixtures import CANARY_TOKEN

BRANCH = "feature/deeper-trees"


@pytest.fixture
def checkout(tmp_path: Path) -> Path:
    return make_repo(
        tmp_path / "wine-quality",
        files={
            "sweepci.yaml": (REPO_ROOT / "sweepci.yaml").read_text(),
            ".github/workflows/sweep.yml": (REPO_ROOT / ".github/workflows/sweep.yml").read_text(),
        },
    )


def comment_event(
    tmp: Path, body: str, association: str = "COLLABORATOR", number: int = 12, on_pr: bool = True
) -> Path:
    issue: dict = {"number": number}
    if on_pr:
        issue["pull_request"] = {
            "url": f"https://api.github.com/repos/acme/wine-quality/pulls/{number}"
        }
    payload = {
        "action": "created",
        "issue": issue,
        "comment": {"id": 555, "body": body, "author_association": association,
                    "user": {"login": "dana", "type": "User"}},
        "repository": {"full_name": "acme/wine-quality"},
    }  # fmt: skip
    path = tmp / "event.json"
    path.write_text(json.dumps(payload))
    return path


def run_chatops(checkout: Path, api: GitHubStandIn, event: Path) -> dict:
    env = clean_env(
        GITHUB_ACTIONS="true", GITHUB_EVENT_NAME="issue_comment", GITHUB_EVENT_PATH=str(event),
        GITHUB_REPOSITORY="acme/wine-quality", GITHUB_API_URL=api.url, GITHUB_TOKEN=CANARY_TOKEN,
    )  # fmt: skip
    shown = sweepci("chatops", "--json", cwd=checkout, env=env)
    assert shown.returncode == 0, shown.stderr
    assert "Traceback" not in shown.stderr
    return json.loads(shown.stdout)


def _prepare(api: GitHubStandIn, event: Path, **pr: object) -> None:
    api.prs.add_pull_request(12, **{"head_ref": BRANCH, "head_sha": "a" * 40, **pr})
    api.prs.add_comment(12, json.loads(event.read_text())["comment"]["body"])
    # the event's comment id is the one the stand-in gave it
    payload = json.loads(event.read_text())
    payload["comment"]["id"] = max(api.prs.comments)
    event.write_text(json.dumps(payload))


def test_a_collaborators_command_dispatches_the_prs_branch_and_replies_with_the_run(
    tmp_path: Path, checkout: Path, github_api: GitHubStandIn
) -> None:
    event = comment_event(tmp_path, "/sweep count=10 dataset=iris\nthanks!")
    _prepare(github_api, event)

    outcome = run_chatops(checkout, github_api, event)

    assert outcome["status"] == "dispatched", outcome
    (dispatch,) = github_api.calls("dispatch")
    assert dispatch.body == {
        "ref": BRANCH,
        "inputs": {"count": "10", "dataset": "iris"},
        "return_run_details": True,
    }
    command_id = max(github_api.prs.comments) - 1
    assert [c for i, c in github_api.prs.reactions if i == command_id] == ["eyes", "rocket"]
    replies = [c for c in github_api.prs.comments_on(12) if c["user"]["type"] == "Bot"]
    assert len(replies) == 1
    assert "https://github.com/acme/wine-quality/actions/runs/4242" in replies[0]["body"]
    assert "`count=10 dataset=iris`" in replies[0]["body"] and "dev" in replies[0]["body"]


@pytest.mark.parametrize(
    "association", ["NONE", "CONTRIBUTOR", "FIRST_TIME_CONTRIBUTOR", "MANNEQUIN"]
)
def test_others_are_ignored_without_a_word(
    tmp_path: Path, checkout: Path, github_api: GitHubStandIn, association: str
) -> None:
    event = comment_event(tmp_path, "/sweep count=10", association=association)

    outcome = run_chatops(checkout, github_api, event)

    assert outcome["status"] == "ignored" and association in outcome["message"]
    assert github_api.requests == [], "no reaction, no reply, no dispatch"


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ("/sweep count=10;touch {marker}", "characters a sweep input never needs"),
        ("/sweep sweep_file=$(touch {marker})", "characters a sweep input never needs"),
        ("/sweep dataset=`touch {marker}`", "characters a sweep input never needs"),
        ("/sweep count=abc", "must be a number"),
        ("/sweep dataset=mnist", "must be one of wine, iris"),
        ("/sweep secret=1", "is not an input of sweep.yml"),
        ("/sweep count=3 count=4", "given twice"),
        ("/sweep sweep_file=../../etc/passwd", "characters a sweep input never needs"),
        ("/sweep @everyone", "NAME=VALUE"),
    ],
)
def test_a_hostile_argument_only_gets_a_reply_with_a_clear_error(
    tmp_path: Path, checkout: Path, github_api: GitHubStandIn, body: str, reason: str
) -> None:
    marker = tmp_path / "pwned"
    event = comment_event(tmp_path, body.format(marker=marker))
    _prepare(github_api, event)

    outcome = run_chatops(checkout, github_api, event)

    assert outcome["status"] == "refused"
    assert github_api.calls("dispatch") == [], "nothing is started"
    assert not marker.exists()
    (answer,) = [c for c in github_api.prs.comments_on(12) if c["user"]["type"] == "Bot"]
    assert answer["body"].startswith("`/sweep` was not run: ") and reason in answer["body"]
    assert "@" not in answer["body"], "a reply never mentions anyone"
    assert "confused" in [c for _, c in github_api.prs.reactions]


def test_a_forks_pull_request_is_refused(
    tmp_path: Path, checkout: Path, github_api: GitHubStandIn
) -> None:
    event = comment_event(tmp_path, "/sweep count=2")
    _prepare(github_api, event, fork="mallory/wine-quality", head_ref="main")

    outcome = run_chatops(checkout, github_api, event)

    assert outcome["status"] == "refused" and "fork mallory/wine-quality" in outcome["message"]
    assert "never runs with this repository" in outcome["message"]
    assert github_api.calls("dispatch") == []


def test_a_branch_that_routes_to_prod_is_refused(
    tmp_path: Path, checkout: Path, github_api: GitHubStandIn
) -> None:
    event = comment_event(tmp_path, "/sweep count=2")
    _prepare(github_api, event, head_ref="main")

    outcome = run_chatops(checkout, github_api, event)

    assert outcome["status"] == "refused" and "routes to prod" in outcome["message"]
    assert github_api.calls("dispatch") == []


def test_a_comment_on_an_issue_is_ignored(
    tmp_path: Path, checkout: Path, github_api: GitHubStandIn
) -> None:
    event = comment_event(tmp_path, "/sweep count=2", on_pr=False)

    assert run_chatops(checkout, github_api, event)["status"] == "ignored"
    assert github_api.requests == []
