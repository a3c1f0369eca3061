"""The generated ChatOps workflow under act: a `/sweep` comment on a pull request, as GitHub
delivers it (`issue_comment`), against the GitHub stand-in.

A team's repository after `sweepci init`; the job pip-installs sweepci, runs
`sweepci chatops` from the default branch's checkout and dispatches the sweep
workflow on the pull request's branch. A comment by someone without write access
does not even start the job (the workflow's `if:`), and sweepci would ignore it too.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.e2e.conftest import UserInstall, git, make_user_repo, run_act_workflow
from tests.servers.github_api import GitHubStandIn
from tests.servers.github_fixtures import CANARY_TOKEN

BRANCH = "feature/more-c"


def _event(comment: dict, number: int = 9) -> dict:
    return {
        "action": "created",
        "issue": {"number": number, "pull_request": {"url": "https://api.github.com/x"}},
        "comment": comment,
        "repository": {"full_name": "acme/digits-lab", "default_branch": "main"},
    }


@pytest.mark.slow  # a real pip install in the job
def test_a_sweep_comment_runs_the_chatops_workflow_and_dispatches_the_branch(
    tmp_path: Path, user_install: UserInstall, github_standin: GitHubStandIn
) -> None:
    repo = make_user_repo(tmp_path / "digits-lab", files={".gitignore": ".sweepci/\nwandb/\n"})
    user_install.run("init", cwd=repo, check=True)
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "sweepci init")
    github_standin.prs.add_pull_request(9, head_ref=BRANCH, head_sha="b" * 40)
    command = github_standin.prs.add_comment(9, "/sweep count=4", association="COLLABORATOR")
    stranger = github_standin.prs.add_comment(9, "/sweep count=4000", association="NONE")

    ignored = run_act_workflow(
        repo, tmp_path / "act-none", "issue_comment", install=user_install,
        workflow=".github/workflows/sweep-chatops.yml", event_payload=_event(stranger),
        secrets={"GITHUB_TOKEN": CANARY_TOKEN}, env={"GITHUB_API_URL": github_standin.url},
    )  # fmt: skip
    assert ignored.returncode == 0, ignored.text[-3000:]
    assert ignored.job_results() == {}, "the job's `if:` skips a stranger's comment"
    assert github_standin.requests == []

    obeyed = run_act_workflow(
        repo, tmp_path / "act", "issue_comment", install=user_install,
        workflow=".github/workflows/sweep-chatops.yml", event_payload=_event(command),
        secrets={"GITHUB_TOKEN": CANARY_TOKEN}, env={"GITHUB_API_URL": github_standin.url},
    )  # fmt: skip

    assert obeyed.returncode == 0, obeyed.text[-4000:]
    assert set(obeyed.job_results().values()) == {"success"}
    (dispatch,) = github_standin.calls("dispatch")
    assert dispatch.path == "/repos/acme/digits-lab/actions/workflows/sweep.yml/dispatches"
    assert dispatch.body["ref"] == BRANCH and dispatch.body["inputs"] == {"count": "4"}
    assert [c for i, c in github_standin.prs.reactions if i == command["id"]] == ["eyes", "rocket"]
    (reply,) = [c for c in github_standin.prs.comments_on(9) if c["user"]["type"] == "Bot"]
    assert "actions/runs/4242" in reply["body"]
    assert obeyed.installed_in_jobs(), "the job installed sweepci with its own pip step"
