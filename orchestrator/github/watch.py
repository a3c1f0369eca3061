"""Follow a workflow run to its end and fetch the sweep's leaderboard.

Polling (not a log stream) is what the REST API offers; each poll costs two
requests, so the default interval stays well inside the hourly rate limit.
"""

from __future__ import annotations

import io
import time
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from orchestrator.errors import BackendError, SweepFailed
from orchestrator.github.api import GitHubClient

# Conclusions that count as a good end; everything else (failure, cancelled,
# timed_out, startup_failure, action_required, stale) makes the CLI exit 1.
OK_CONCLUSIONS = ("success", "neutral", "skipped")
REPORT_ARTIFACT_PREFIX = "sweepci-report"


class RunFailed(SweepFailed):
    """The workflow run finished with a conclusion other than success."""


@dataclass
class WatchResult:
    """The run as last seen, and its jobs."""

    run: dict[str, Any]
    jobs: list[dict[str, Any]] = field(default_factory=list)
    elapsed: float = 0.0

    @property
    def conclusion(self) -> str | None:
        return self.run.get("conclusion")

    @property
    def succeeded(self) -> bool:
        return self.conclusion in OK_CONCLUSIONS


def format_elapsed(seconds: float) -> str:
    """`1:05` for 65 seconds, `1:01:05` past an hour."""
    total = int(seconds)
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def _state(item: dict[str, Any]) -> str:
    # A finished job's conclusion says more than its status, which is just "completed".
    if item.get("status") == "completed":
        return item.get("conclusion") or "completed"
    return item.get("status") or "unknown"


def watch_run(
    client: GitHubClient,
    owner: str,
    repo: str,
    run_id: int,
    *,
    echo: Callable[[str], None],
    poll_interval: float = 10.0,
    timeout: float | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> WatchResult:
    """Poll the run and its jobs until it completes, echoing each state change.

    BackendError when `timeout` seconds pass first (the run goes on on GitHub).
    """
    base = f"/repos/{owner}/{repo}/actions/runs/{run_id}"
    start = time.monotonic()
    seen: dict[object, str] = {}
    while True:
        run = client.get_json(base, not_found=f"run {run_id} not found in {owner}/{repo} (404)")
        jobs = client.get_json(f"{base}/jobs", params={"per_page": "100"}).get("jobs", [])
        elapsed = time.monotonic() - start
        changes = [(job.get("id"), job.get("name", "job"), _state(job)) for job in jobs]
        # The run's own line goes first while it starts and last once it has ended.
        run_change = ("run", f"run {run_id}", _state(run))
        changes = (
            changes + [run_change] if run.get("status") == "completed" else [run_change, *changes]
        )
        for key, label, state in changes:
            if seen.get(key) != state:
                seen[key] = state
                echo(f"[{format_elapsed(elapsed)}] {label}: {state}")
        if run.get("status") == "completed":
            return WatchResult(run, jobs, elapsed)
        if timeout is not None and elapsed + poll_interval > timeout:
            raise BackendError(
                f"stopped watching after {format_elapsed(elapsed)} (--timeout {timeout:g}s); "
                f"run {run_id} is still {_state(run)}: {run.get('html_url', '')}"
            )
        sleep(poll_interval)


def fetch_report_summary(client: GitHubClient, owner: str, repo: str, run_id: int) -> str | None:
    """The `summary.md` inside the run's `sweepci-report*` artifact, if there is one.

    Returns None when the run uploaded no report or it expired; a missing
    leaderboard must not turn a successful run into a failed command.
    """
    body = client.get_json(
        f"/repos/{owner}/{repo}/actions/runs/{run_id}/artifacts", params={"per_page": "100"}
    )
    for artifact in body.get("artifacts", []):
        name = str(artifact.get("name", ""))
        if not name.startswith(REPORT_ARTIFACT_PREFIX) or artifact.get("expired"):
            continue
        url = artifact.get("archive_download_url")
        if not url:
            continue
        # The API answers with a redirect to blob storage; the client sends
        # the token only to the API host, so the redirect target never sees it.
        response = client.request("GET", url, not_found=f"artifact {name} is gone (404)")
        try:
            archive = zipfile.ZipFile(io.BytesIO(response.content))
        except zipfile.BadZipFile:
            raise BackendError(f"artifact {name} is not a zip archive") from None
        with archive:
            for member in archive.namelist():
                if member.rsplit("/", 1)[-1] == "summary.md":
                    return archive.read(member).decode("utf-8", errors="replace")
    return None


def ensure_succeeded(result: WatchResult) -> None:
    """Raise RunFailed (exit 1) unless the run ended well."""
    if not result.succeeded:
        run_id = result.run.get("id")
        raise RunFailed(
            f"run {run_id} concluded {result.conclusion or 'without a conclusion'}: "
            f"{result.run.get('html_url', '')}"
        )
