"""`sweepci dispatch`: the real CLI, in a real git repository, against a GitHub stand-in."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from orchestrator.ci.repo import parse_remote_url
from tests.servers.github_api import OLD_RUN_ID, GitHubStandIn
from tests.servers.github_fixtures import CANARY_TOKEN

WORKFLOW = """\
name: sweep
on:
  push:
    branches: [main]
  workflow_dispatch:
    inputs:
      count:
        description: Runs to try
        type: number
        default: 20
      dataset:
        type: choice
        options: [wine, iris]
        default: wine
      sweep_file:
        type: string
      agents:
        type: number
      backend:
        type: choice
        options: [auto, local, wandb]
      dry_run:
        type: boolean
        default: false
jobs:
  sweep:
    runs-on: ubuntu-latest
    steps:
      - run: echo sweep
"""
FAST = ["--poll-interval", "0.05"]


def _git(repo: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True)


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A git checkout of acme/wine-quality on branch `tune`, with the sweep workflow."""
    repo = tmp_path / "wine-quality"
    (repo / ".github" / "workflows").mkdir(parents=True)
    (repo / ".github" / "workflows" / "sweep.yml").write_text(WORKFLOW)
    _git(repo, "init", "-q", "-b", "tune")
    _git(repo, "remote", "add", "origin", "https://github.com/acme/wine-quality.git")
    return repo


def sweepci(
    project: Path, api: GitHubStandIn, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """Run `python -m orchestrator dispatch ...`; checks the token shows up nowhere."""
    base = {
        k: v
        for k, v in os.environ.items()
        if k
        not in ("GITHUB_TOKEN", "GH_TOKEN", "GITHUB_ACTIONS", "GITHUB_API_URL", "SWEEPCI_DEBUG")
    }
    base.update({"GITHUB_API_URL": api.url, "GITHUB_TOKEN": CANARY_TOKEN})
    base.update(env or {})
    done = subprocess.run(
        [sys.executable, "-m", "orchestrator", "dispatch", *args],
        cwd=project,
        env={k: v for k, v in base.items() if v is not None},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert CANARY_TOKEN not in done.stdout + done.stderr
    assert "ghp_CANARY" not in done.stdout + done.stderr
    return done


def one_error_line(done: subprocess.CompletedProcess[str]) -> str:
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith("sweepci: error: ")
    return lines[0]


def test_dispatch_and_watch_to_success(project: Path, github_api: GitHubStandIn) -> None:
    done = sweepci(project, github_api, "--count", "5", "--dataset", "iris", "--watch", *FAST)
    assert done.returncode == 0, done.stderr
    [call] = github_api.calls("dispatch")
    assert call.path == "/repos/acme/wine-quality/actions/workflows/sweep.yml/dispatches"
    assert call.body == {
        "ref": "tune",
        "inputs": {"count": "5", "dataset": "iris"},
        "return_run_details": True,
    }
    out = done.stdout
    # Each state change is printed once, in order, with an elapsed time.
    for expected in (
        "run 4242: queued",
        "sweep (1): in_progress",
        "plan: success",
        "run 4242: success",
    ):
        assert expected in out
    assert out.count("sweep (1): queued") == 1
    assert (
        out.index("run 4242: queued")
        < out.index("run 4242: in_progress")
        < out.index("run 4242: success")
    )
    assert "[0:00] run 4242: queued" in out
    assert "https://github.com/acme/wine-quality/actions/runs/4242" in out
    assert "finished after" in out and ": success" in out
    # The leaderboard from the report artifact is shown at the end.
    assert "| 1 | run-3 | 0.93 |" in out


@pytest.mark.parametrize("conclusion", ["failure", "cancelled", "timed_out"])
def test_watch_exits_1_when_the_run_does_not_succeed(
    project: Path, github_api: GitHubStandIn, conclusion: str
) -> None:
    github_api.conclusion = conclusion
    done = sweepci(project, github_api, "--count", "5", "--dataset", "iris", "--watch", *FAST)
    assert done.returncode == 1
    line = one_error_line(done)
    assert f"run 4242 concluded {conclusion}" in line
    assert f"run 4242: {conclusion}" in done.stdout


def test_without_watch_prints_the_run_and_returns_at_once(
    project: Path, github_api: GitHubStandIn
) -> None:
    done = sweepci(project, github_api, "--count", "3")
    assert done.returncode == 0, done.stderr
    assert "run 4242" in done.stdout
    assert "https://github.com/acme/wine-quality/actions/runs/4242" in done.stdout
    assert github_api.calls("run") == []


def test_204_falls_back_to_the_newest_dispatch_run(
    project: Path, github_api: GitHubStandIn
) -> None:
    github_api.dispatch_mode = "no_content"
    done = sweepci(project, github_api, "--dataset", "wine", "--json")
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["run_id"] == 4242 != OLD_RUN_ID
    assert result["html_url"].endswith("/runs/4242")
    [listing] = github_api.calls("runs_list")
    assert listing.query["event"] == "workflow_dispatch"
    assert listing.query["branch"] == "tune"


def test_json_watch_output_parses(project: Path, github_api: GitHubStandIn) -> None:
    done = sweepci(project, github_api, "--count", "5", "--watch", "--json", *FAST)
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["run_id"] == 4242
    assert result["conclusion"] == "success"
    assert result["repository"] == "acme/wine-quality"
    assert result["inputs"] == {"count": "5"}
    assert [j["name"] for j in result["jobs"]] == ["plan", "sweep (1)"]
    assert "| 1 | run-3 | 0.93 |" in result["summary"]
    # Progress went to stderr so stdout stays one JSON document.
    assert "run 4242: queued" in done.stderr


def test_booleans_and_other_inputs_are_sent_as_strings(
    project: Path, github_api: GitHubStandIn
) -> None:
    args = ["--agents", "4", "--backend", "local", "--sweep-file", "sweeps/wine.yaml"]
    done = sweepci(project, github_api, *args, "--input", "dry_run=yes")
    assert done.returncode == 0, done.stderr
    [call] = github_api.calls("dispatch")
    assert call.body["inputs"] == {
        "agents": "4",
        "backend": "local",
        "sweep_file": "sweeps/wine.yaml",
        "dry_run": "true",
    }


def test_report_download_does_not_send_the_token_to_blob_storage(
    project: Path, github_api: GitHubStandIn
) -> None:
    done = sweepci(project, github_api, "--watch", *FAST)
    assert done.returncode == 0, done.stderr
    [download] = github_api.calls("download")
    [blob] = github_api.calls("blob")
    assert download.headers.get("Authorization") == f"Bearer {CANARY_TOKEN}"
    assert "Authorization" not in blob.headers


@pytest.mark.parametrize(
    ("endpoint", "status", "message", "expected"),
    [
        ("dispatch", 401, "Bad credentials", "401"),
        ("dispatch", 403, "Resource not accessible by integration", "`actions: write`"),
        ("run", 403, "Resource not accessible by integration", "`actions: read`"),
        ("dispatch", 404, "Not Found", "workflow sweep.yml not found in acme/wine-quality"),
        ("dispatch", 422, 'Unexpected inputs provided: ["extra"]', "Unexpected inputs provided"),
    ],
)
def test_api_errors_give_one_line_and_exit_3(
    project: Path,
    github_api: GitHubStandIn,
    endpoint: str,
    status: int,
    message: str,
    expected: str,
) -> None:
    github_api.fail(endpoint, status, times=10, message=message)
    done = sweepci(
        project, github_api, "--count", "5", "--watch", *FAST, env={"SWEEPCI_DEBUG": None}
    )
    assert done.returncode == 3
    line = one_error_line(done)
    assert expected in line
    assert "Traceback" not in done.stderr
    # Client errors are final: asking again would not help.
    assert len(github_api.calls(endpoint)) == 1


def test_debug_output_never_shows_the_token(project: Path, github_api: GitHubStandIn) -> None:
    github_api.fail("dispatch", 403, times=10)
    done = sweepci(project, github_api, "--count", "5", env={"SWEEPCI_DEBUG": "1"})
    assert done.returncode == 3
    assert "Traceback" in done.stderr  # --debug shows it, and sweepci() checked the token is absent


@pytest.mark.parametrize("unset", [("GITHUB_TOKEN", "GH_TOKEN")])
def test_missing_token_is_one_line_and_no_request(
    project: Path, github_api: GitHubStandIn, unset: tuple[str, ...]
) -> None:
    done = sweepci(project, github_api, "--count", "5", env=dict.fromkeys(unset))
    assert done.returncode == 2
    assert "GITHUB_TOKEN or GH_TOKEN" in one_error_line(done)
    assert github_api.requests == []


def test_gh_token_is_used_when_github_token_is_unset(
    project: Path, github_api: GitHubStandIn
) -> None:
    done = sweepci(
        project, github_api, "--count", "5", env={"GITHUB_TOKEN": None, "GH_TOKEN": CANARY_TOKEN}
    )
    assert done.returncode == 0, done.stderr
    assert len(github_api.calls("dispatch")) == 1


def test_5xx_is_retried_then_succeeds(project: Path, github_api: GitHubStandIn) -> None:
    github_api.fail("dispatch", 502, times=2)
    github_api.fail("run", 500, times=1)
    done = sweepci(project, github_api, "--count", "5", "--watch", *FAST)
    assert done.returncode == 0, done.stderr
    assert len(github_api.calls("dispatch")) == 3
    assert "run 4242: success" in done.stdout


def test_429_waits_for_retry_after(project: Path, github_api: GitHubStandIn) -> None:
    github_api.fail("dispatch", 429, times=1, retry_after=1)
    done = sweepci(project, github_api, "--count", "5")
    assert done.returncode == 0, done.stderr
    first, second = github_api.calls("dispatch")
    assert second.at - first.at >= 0.95


def test_403_rate_limit_waits_for_the_reset(project: Path, github_api: GitHubStandIn) -> None:
    reset = time.time() + 2
    github_api.fail("dispatch", 403, times=1, rate_limit_reset=reset)
    done = sweepci(project, github_api, "--count", "5")
    assert done.returncode == 0, done.stderr
    first, second = github_api.calls("dispatch")
    # the retry waits for the announced reset (whole epoch seconds), however late the first
    # request came on a loaded machine
    assert second.wall >= int(reset)
    assert second.at > first.at


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--dataset", "mnist"], "must be one of wine, iris"),
        (["--input", "learning_rate=0.1"], "declares no input 'learning_rate'"),
        (["--count", "many"], "'count' of sweep.yml must be a number"),
        (["--input", "dry_run=maybe"], "must be true or false"),
        (["--input", "count"], "KEY=VALUE"),
        (["--count", "5", "--input", "count=6"], "given twice"),
    ],
)
def test_bad_inputs_are_rejected_before_any_request(
    project: Path, github_api: GitHubStandIn, args: list[str], expected: str
) -> None:
    done = sweepci(project, github_api, *args)
    assert done.returncode == 2
    assert expected in one_error_line(done)
    assert github_api.requests == []


def test_workflow_without_dispatch_trigger_is_rejected_locally(
    project: Path, github_api: GitHubStandIn
) -> None:
    (project / ".github" / "workflows" / "ci.yml").write_text("on: [push]\njobs: {}\n")
    done = sweepci(project, github_api, "--workflow", "ci.yml")
    assert done.returncode == 2
    assert "no `workflow_dispatch` trigger" in one_error_line(done)
    assert github_api.requests == []


def test_watch_timeout_stops_following(project: Path, github_api: GitHubStandIn) -> None:
    github_api.in_progress_polls = 10**6
    done = sweepci(project, github_api, "--watch", "--timeout", "0.5", *FAST)
    assert done.returncode == 3
    assert "still in_progress" in one_error_line(done)


def test_ssh_remote_and_sweepci_yaml_workflow(project: Path, github_api: GitHubStandIn) -> None:
    _git(project, "remote", "set-url", "origin", "git@github.com:acme/wine-quality.git")
    workflows = project / ".github" / "workflows"
    (workflows / "tune.yml").write_text(WORKFLOW)
    (project / "sweepci.yaml").write_text("workflow: tune.yml\n")
    github_api.workflow = "tune.yml"
    done = sweepci(project, github_api, "--count", "5", "--ref", "main")
    assert done.returncode == 0, done.stderr
    [call] = github_api.calls("dispatch")
    assert call.path == "/repos/acme/wine-quality/actions/workflows/tune.yml/dispatches"
    assert call.body["ref"] == "main"


@pytest.mark.parametrize(
    "url",
    [
        "https://github.com/acme/wine-quality.git",
        "https://github.com/acme/wine-quality",
        "https://x-access-token:abc@github.com/acme/wine-quality.git",
        "git@github.com:acme/wine-quality.git",
        "ssh://git@github.com/acme/wine-quality.git",
        "ssh://git@ghe.example.com:2222/acme/wine-quality",
    ],
)
def test_remote_urls_name_the_repository(url: str) -> None:
    assert parse_remote_url(url) == ("acme", "wine-quality")
