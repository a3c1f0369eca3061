"""Artifact poisoning: a workflow run anybody can start never serves as baseline or history.

The GitHub stand-in lists, newest first, runs of the sweep workflow that look
like main's last successful sweep but are not: a pull request from a fork's
own `main` (GitHub lists it with `head_branch: main`), a pull request inside
the repository, `pull_request_target`, `workflow_run` and `issue_comment`
runs, a "push" whose code comes from a fork, a run of another branch, a
failed run. Each holds a poisoned store whose model would become
`production`. `sweepci baseline fetch` must take the older, real run of the
repository, never download a poisoned artifact, and say how many runs it
passed over; with only poisoned runs it finds no baseline and writes nothing.
"""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import pytest

from tests.conftest import clean_env, make_repo, sweepci
from tests.servers.github_api import GitHubStandIn
from tests.servers.github_fixtures import CANARY_TOKEN

FORK = "mallory/wine-quality"
REAL_RUN = 100
# (run id, add_past_run keywords): every one of them is newer than the real run
POISONED = {
    "fork_pr_from_its_main": (201, {"event": "pull_request", "head_repository": FORK}),
    "pr_inside_the_repo": (202, {"event": "pull_request"}),
    "pull_request_target": (203, {"event": "pull_request_target", "head_repository": FORK}),
    "workflow_run": (204, {"event": "workflow_run", "head_repository": FORK}),
    "issue_comment": (205, {"event": "issue_comment"}),
    "push_of_fork_code": (206, {"event": "push", "head_repository": FORK}),
    "dispatch_of_fork_code": (207, {"event": "workflow_dispatch", "head_repository": FORK}),
    "other_branch": (208, {"branch": "feature/x"}),
    "failed": (209, {"conclusion": "failure"}),
}


def _zip(files: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    return buffer.getvalue()


GOOD = _zip({"sweepci.db": b"the real store of main", "report.md": b"real"})
POISON = _zip({"sweepci.db": b"POISON: mallory's model is production"})


@pytest.fixture
def project(tmp_path: Path) -> Path:
    return make_repo(tmp_path / "wine-quality", branch="main", files={"README.md": "x\n"})


def _fetch(project: Path, api: GitHubStandIn, *args: str):
    env = clean_env(GITHUB_API_URL=api.url, GITHUB_TOKEN=CANARY_TOKEN)
    return sweepci("baseline", "fetch", "--json", *args, cwd=project, env=env)


def _downloaded_runs(api: GitHubStandIn) -> set[int]:
    """Runs whose artifacts were listed or downloaded (artifact ids are run_id * 100 + i)."""
    listed = {int(c.path.split("/")[-2]) for c in api.calls("artifacts")}
    fetched = {int(c.path.split("/")[-2]) // 100 for c in api.calls("download")}
    return listed | fetched


@pytest.mark.parametrize("kind", sorted(POISONED))
def test_a_poisoned_run_is_passed_over_for_the_real_one(
    kind: str, project: Path, github_api: GitHubStandIn, figures
) -> None:
    github_api.add_past_run(REAL_RUN, age_hours=10, artifacts={"sweepci-report": GOOD})
    run_id, how = POISONED[kind]
    github_api.add_past_run(run_id, age_hours=1, artifacts={"sweepci-report": POISON}, **how)

    done = _fetch(project, github_api, "-o", "prev")

    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["run_id"] == REAL_RUN, result
    assert (project / "prev" / "sweepci.db").read_bytes() == b"the real store of main"
    assert _downloaded_runs(github_api) == {REAL_RUN}
    assert "POISON" not in done.stdout + done.stderr
    figures(untrusted_runs=1, untrusted_used=0)


def test_only_poisoned_runs_mean_no_baseline_and_nothing_written(
    project: Path, github_api: GitHubStandIn, figures
) -> None:
    for hours, (run_id, how) in enumerate(POISONED.values(), start=1):
        github_api.add_past_run(
            run_id, age_hours=hours, artifacts={"sweepci-report": POISON}, **how
        )

    done = _fetch(project, github_api, "-o", "prev")

    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert not result["found"] and result["store"] is None
    # the failed and other-branch runs are filtered by the query; the rest on our side
    assert "passed over" in result["message"], result["message"]
    assert not (project / "prev").exists()
    assert _downloaded_runs(github_api) == set()
    figures(untrusted_runs=len(POISONED), untrusted_used=0)


def test_the_default_branch_is_the_repositorys(
    project: Path, github_api: GitHubStandIn, figures
) -> None:
    """With no --branch, the branch is GitHub's default branch, not a name taken on trust."""
    github_api.default_branch = "trunk"
    github_api.add_past_run(REAL_RUN, branch="trunk", artifacts={"sweepci-report": GOOD})
    github_api.add_past_run(201, branch="main", age_hours=0.5, artifacts={"sweepci-report": POISON})

    done = _fetch(project, github_api, "-o", "prev")

    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["run_id"] == REAL_RUN
    assert [c.query["branch"] for c in github_api.calls("runs_list")] == ["trunk"]
    figures(untrusted_runs=1, untrusted_used=0)


def test_the_stand_in_lists_pull_request_runs_as_github_does(github_api: GitHubStandIn) -> None:
    """The stand-in must be able to show the attack: a fork's PR from its own main is listed
    under branch=main, and exclude_pull_requests only empties `pull_requests`."""
    import requests

    run_id, how = POISONED["fork_pr_from_its_main"]
    github_api.add_past_run(run_id, **how)
    headers = {"Authorization": f"Bearer {CANARY_TOKEN}"}
    url = f"{github_api.url}/repos/acme/wine-quality/actions/workflows/sweep.yml/runs"
    for exclude, pulls in (("false", 1), ("true", 0)):
        body = requests.get(
            url,
            params={"branch": "main", "status": "success", "exclude_pull_requests": exclude},
            headers=headers,
            timeout=10,
        ).json()
        [run] = body["workflow_runs"]
        assert run["head_branch"] == "main" and run["event"] == "pull_request"
        assert run["head_repository"]["full_name"] == FORK
        assert len(run["pull_requests"]) == pulls
