"""`sweepci comment` against the GitHub stand-in: one sticky comment per pull request.

Each sweep is a real store file (tests/test_report.build_store) and each call is
the real CLI in a subprocess with the variables GitHub Actions sets.
"""

from __future__ import annotations

import json
from pathlib import Path

from orchestrator.github.sticky import GITHUB_MAX_BODY, MARKER, cap_body
from orchestrator.report import render_report
from tests.conftest import clean_env, sweepci
from tests.servers.github_api import GitHubStandIn
from tests.servers.github_fixtures import CANARY_TOKEN
from tests.test_report import build_store

REPO = "acme/wine-quality"
BRANCH = "feature/better-trees"
SHAS = [c * 40 for c in "abc"]


def actions_env(
    tmp: Path, api: GitHubStandIn, *, sha: str, event: str = "push", payload: dict | None = None
) -> dict[str, str]:
    event_path = tmp / f"event-{sha[:4]}-{event}.json"
    event_path.write_text(json.dumps(payload or {}))
    for name in ("summary.md", "output.txt"):
        (tmp / name).write_text("")
    return clean_env(
        GITHUB_ACTIONS="true", GITHUB_EVENT_NAME=event, GITHUB_EVENT_PATH=str(event_path),
        GITHUB_REF=f"refs/heads/{BRANCH}", GITHUB_REF_NAME=BRANCH, GITHUB_SHA=sha,
        GITHUB_REPOSITORY=REPO, GITHUB_RUN_ID="4242", GITHUB_API_URL=api.url,
        GITHUB_TOKEN=CANARY_TOKEN, GITHUB_STEP_SUMMARY=str(tmp / "summary.md"),
        GITHUB_OUTPUT=str(tmp / "output.txt"),
    )  # fmt: skip


def test_three_sweeps_of_a_branch_share_one_comment(tmp_path: Path, github_api: GitHubStandIn):
    github_api.prs.add_pull_request(12, head_ref=BRANCH, head_sha=SHAS[-1], commits=tuple(SHAS))
    # a busy pull request: the comment is found past the first page of 100
    for i in range(130):
        github_api.prs.add_comment(12, f"review note {i}")
    # someone pasted the marker into their own comment: it is not ours to edit
    pasted = github_api.prs.add_comment(12, f"{MARKER}\nlooks like the bot", association="MEMBER")
    bests = []
    for i, sha in enumerate(SHAS):
        db = build_store(tmp_path / f"s{i}.db", offset=0.01 * i, seed=i, branch=BRANCH)
        env = actions_env(tmp_path, github_api, sha=sha)
        shown = sweepci("comment", "--store", str(db), "--json", cwd=tmp_path, env=env, check=True)
        outcome = json.loads(shown.stdout)
        assert outcome["action"] == ("created" if i == 0 else "updated")
        assert outcome["pull_request"] == 12 and "#issuecomment-" in outcome["url"]
        report = json.loads(render_report(db, fmt="json"))
        bests.append(report["best"]["metric_value"])
        assert "Pull-request comment" in (tmp_path / "summary.md").read_text()
        assert "comment-url<<" in (tmp_path / "output.txt").read_text()

    ours = [c for c in github_api.prs.comments_on(12) if c["user"]["type"] == "Bot"]
    assert len(ours) == 1, "one comment, however many sweeps"
    assert len(github_api.calls("create_comment")) == 1
    assert len(github_api.calls("update_comment")) == 2
    body = ours[0]["body"]
    assert body.startswith(MARKER + "\n")
    assert f"{bests[-1]:.4g}" in body, "the comment shows the latest sweep"
    assert "```mermaid\nxychart-beta" in body
    assert "[workflow run](https://github.com/acme/wine-quality/actions/runs/4242)" in body
    assert "commit ccccccc" in body
    assert github_api.prs.comments[pasted["id"]]["body"] == pasted["body"]
    for call in github_api.requests:
        assert CANARY_TOKEN not in json.dumps(call.body or "")


def test_a_fork_pull_request_gets_no_comment_and_the_summary_says_so(
    tmp_path: Path, github_api: GitHubStandIn
) -> None:
    db = build_store(tmp_path / "s.db")
    payload = {
        "pull_request": {
            "number": 7,
            "state": "open",
            "head": {"ref": "main", "sha": SHAS[0], "repo": {"full_name": "mallory/wine-quality", "fork": True}},
            "base": {"ref": "main", "repo": {"full_name": REPO, "fork": False}},
        }
    }  # fmt: skip
    env = actions_env(tmp_path, github_api, sha="f" * 40, event="pull_request", payload=payload)
    del env["GITHUB_TOKEN"]  # a fork's workflow: GitHub gives it no secrets

    shown = sweepci("comment", "--store", str(db), "--json", cwd=tmp_path, env=env)

    assert shown.returncode == 0, shown.stderr
    outcome = json.loads(shown.stdout)
    assert outcome["commented"] is False and outcome["fork"] is True
    summary = (tmp_path / "summary.md").read_text()
    assert "no pull-request comment" in summary and "mallory/wine-quality" in summary
    assert "no secrets" in summary
    assert github_api.requests == [], "nothing is asked of GitHub for a fork"


def test_a_pull_request_from_this_repository_is_commented_from_the_event(
    tmp_path: Path, github_api: GitHubStandIn
) -> None:
    github_api.prs.add_pull_request(3, head_ref=BRANCH, head_sha=SHAS[0])
    db = build_store(tmp_path / "s.db")
    payload = {"pull_request": {"number": 3, "head": {"ref": BRANCH, "sha": SHAS[0],
               "repo": {"full_name": REPO}}, "base": {"repo": {"full_name": REPO}}}}  # fmt: skip
    env = actions_env(tmp_path, github_api, sha="e" * 40, event="pull_request", payload=payload)

    sweepci("comment", "--store", str(db), cwd=tmp_path, env=env, check=True)

    assert [c["user"]["type"] for c in github_api.prs.comments_on(3)] == ["Bot"]
    assert github_api.calls("commit_pulls") == [], "the event names the pull request"


def test_no_open_pull_request_is_not_an_error(tmp_path: Path, github_api: GitHubStandIn) -> None:
    # a closed pull request of the branch, and an open one from a fork holding the same commit
    github_api.prs.add_pull_request(1, head_ref=BRANCH, head_sha=SHAS[0], state="closed")
    github_api.prs.add_pull_request(2, head_ref=BRANCH, head_sha=SHAS[0], fork="mallory/wq")
    db = build_store(tmp_path / "s.db")
    env = actions_env(tmp_path, github_api, sha=SHAS[0])

    shown = sweepci("comment", "--store", str(db), cwd=tmp_path, env=env, check=True)

    assert f"no open pull request from branch {BRANCH}" in shown.stdout
    assert github_api.calls("create_comment") == []


def test_a_huge_report_is_cut_below_githubs_limit(tmp_path: Path, github_api: GitHubStandIn):
    github_api.prs.add_pull_request(5, head_ref=BRANCH, head_sha=SHAS[0])
    big = tmp_path / "report.md"
    big.write_text("## Sweep\n\n```mermaid\n" + "| row | 0.5 |\n" * 20_000 + "```\n")
    env = actions_env(tmp_path, github_api, sha=SHAS[0])

    sweepci("comment", "--body-file", str(big), cwd=tmp_path, env=env, check=True)

    (posted,) = github_api.prs.comments_on(5)
    assert len(posted["body"]) < GITHUB_MAX_BODY
    assert posted["body"].count("```") % 2 == 0, "a fence cut open is closed"
    assert "the job summary has all of it" in posted["body"]


def test_cap_body_keeps_short_text() -> None:
    assert cap_body("short\n") == "short\n"
    capped = cap_body("x\n" * 100, limit=120)
    assert len(capped) <= 120 and capped.startswith("x\n")


def test_missing_token_is_a_one_line_usage_error(tmp_path: Path, github_api: GitHubStandIn):
    db = build_store(tmp_path / "s.db")
    env = actions_env(tmp_path, github_api, sha=SHAS[0])
    del env["GITHUB_TOKEN"]

    shown = sweepci("comment", "--store", str(db), cwd=tmp_path, env=env)

    assert shown.returncode == 2
    assert "pull-requests: write" in shown.stderr and "Traceback" not in shown.stderr


def test_with_a_personal_token_the_users_own_comment_is_the_one_updated(
    tmp_path: Path, github_api: GitHubStandIn
) -> None:
    # `sweepci comment` from a laptop: the token's user, not a bot, writes the comment
    github_api.prs.token_user = {"login": "dana", "type": "User", "id": 7}
    github_api.prs.add_pull_request(8, head_ref=BRANCH, head_sha=SHAS[0])
    other = github_api.prs.add_comment(8, f"{MARKER}\nerin's copy", login="erin")
    db = build_store(tmp_path / "s.db", branch=BRANCH)
    env = actions_env(tmp_path, github_api, sha=SHAS[0])

    first = sweepci("comment", "--store", str(db), "--json", cwd=tmp_path, env=env, check=True)
    again = sweepci("comment", "--store", str(db), "--json", cwd=tmp_path, env=env, check=True)

    assert [json.loads(p.stdout)["action"] for p in (first, again)] == ["created", "updated"]
    mine = [c for c in github_api.prs.comments_on(8) if c["user"]["login"] == "dana"]
    assert len(mine) == 1 and mine[0]["body"].startswith(MARKER)
    assert github_api.prs.comments[other["id"]]["body"] == other["body"]
