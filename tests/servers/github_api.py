"""A stand-in for the GitHub REST API (Actions endpoints), served on 127.0.0.1.

It answers what `sweepci dispatch` uses: the workflow dispatch (200 with run
details, or the older 204), the workflow's run list, one run, its jobs, its
artifacts, and an artifact zip download (a 302 to a blob URL, as GitHub does).
A dispatched run plays out queued -> in_progress -> completed over successive
polls of the run. `add_past_run` gives the workflow a history (branch,
conclusion, artifacts with real zips, or expired ones) that the runs list
filters by `branch`, `event` and `status`, as `sweepci baseline fetch` asks.
A past run may come from a pull request (`event="pull_request"`), from a
fork (`head_repository="mallory/wine-quality"`: a fork's pull request from
its own `main` is listed with `head_branch: main`, as on GitHub), or from
any other event; `exclude_pull_requests=true` only empties `pull_requests`,
as GitHub's does. `GET /repos/{o}/{r}` names the default branch. `prs`
holds pull requests, issue comments and reactions (github_issues.py). Every
request is recorded; any endpoint can be told to fail with a status a number
of times (with Retry-After or rate-limit headers).
"""

from __future__ import annotations

import io
import json
import re
import threading
import time
import zipfile
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from tests.servers import github_issues

_ROUTES = [
    (
        "POST",
        "dispatch",
        re.compile(r"^/repos/([^/]+)/([^/]+)/actions/workflows/([^/]+)/dispatches$"),
    ),
    ("GET", "repo", re.compile(r"^/repos/([^/]+)/([^/]+)$")),
    ("GET", "runs_list", re.compile(r"^/repos/([^/]+)/([^/]+)/actions/workflows/([^/]+)/runs$")),
    ("GET", "run", re.compile(r"^/repos/([^/]+)/([^/]+)/actions/runs/(\d+)$")),
    ("GET", "jobs", re.compile(r"^/repos/([^/]+)/([^/]+)/actions/runs/(\d+)/jobs$")),
    ("GET", "artifacts", re.compile(r"^/repos/([^/]+)/([^/]+)/actions/runs/(\d+)/artifacts$")),
    ("GET", "download", re.compile(r"^/repos/([^/]+)/([^/]+)/actions/artifacts/(\d+)/zip$")),
    ("GET", "blob", re.compile(r"^/_blobs/(\d+)\.zip$")),
    *github_issues.ROUTES,
]
ARTIFACT_ID = 77
OLD_RUN_ID = 1000


@dataclass
class PastRun:
    """A finished run of the workflow, with artifacts (name -> zip bytes, or None: expired)."""

    run_id: int
    branch: str
    conclusion: str
    created: datetime
    artifacts: dict[str, bytes | None]
    event: str = "push"
    head_repository: str | None = None  # None: the repository itself


@dataclass
class Fault:
    status: int
    times: int
    headers: dict[str, str] = field(default_factory=dict)
    message: str = ""


@dataclass
class Recorded:
    """One request as the server saw it."""

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: Any
    endpoint: str | None
    at: float = field(default_factory=time.monotonic)
    #: wall-clock time of the request, to compare with epoch values such as X-RateLimit-Reset
    wall: float = field(default_factory=time.time)


def _iso(when: datetime) -> str:
    return when.strftime("%Y-%m-%dT%H:%M:%SZ")


class GitHubStandIn:
    """Start it, point GITHUB_API_URL at `url`, then inspect `requests`."""

    def __init__(self, token: str, repo: str = "acme/wine-quality", workflow: str = "sweep.yml"):
        self.token = token
        self.repo = repo
        self.workflow = workflow
        self.dispatch_mode = "details"  # or "no_content" (HTTP 204, no run details)
        self.conclusion = "success"
        self.queued_polls = 1  # polls of the run that still see it queued
        self.in_progress_polls = 2  # then in progress, then completed
        self.summary_md: str | None = (
            "| rank | run | accuracy |\n|---|---|---|\n| 1 | run-3 | 0.93 |\n"
        )
        self.run_id = 4242
        self.default_branch = "main"
        # Real GitHub redirects downloads to another host; "localhost" is another
        # host name for this server, so a client that leaks its token would show it.
        self.blob_host = "localhost"
        self.requests: list[Recorded] = []
        self.lock = threading.Lock()
        self._faults: dict[str, list[Fault]] = {}
        self._dispatched_at: datetime | None = None
        self._dispatched_ref: str | None = None
        # when any are added, the runs list serves these, filtered like GitHub's
        self.past_runs: dict[int, PastRun] = {}
        self._artifact_zips: dict[int, bytes] = {}
        self._run_polls = 0
        # pull requests, their comments and reactions (tests/servers/github_issues.py)
        self.prs = github_issues.PullRequests(repo)
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), _make_handler(self))
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> GitHubStandIn:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)

    def fail(
        self,
        endpoint: str,
        status: int,
        times: int = 1,
        *,
        retry_after: float | None = None,
        rate_limit_reset: float | None = None,
        message: str = "",
    ) -> None:
        """Answer the next `times` requests to `endpoint` with `status`."""
        headers: dict[str, str] = {}
        if retry_after is not None:
            headers["Retry-After"] = str(int(retry_after))
        if rate_limit_reset is not None:
            headers["X-RateLimit-Remaining"] = "0"
            headers["X-RateLimit-Reset"] = str(int(rate_limit_reset))
        with self.lock:
            self._faults.setdefault(endpoint, []).append(Fault(status, times, headers, message))

    def calls(self, endpoint: str) -> list[Recorded]:
        with self.lock:
            return [r for r in self.requests if r.endpoint == endpoint]

    def _take_fault(self, endpoint: str) -> Fault | None:
        with self.lock:
            queue = self._faults.get(endpoint) or []
            if not queue:
                return None
            fault = queue[0]
            fault.times -= 1
            if fault.times <= 0:
                queue.pop(0)
            return fault

    def add_past_run(
        self,
        run_id: int,
        *,
        branch: str = "main",
        conclusion: str = "success",
        age_hours: float = 1.0,
        artifacts: dict[str, bytes | None] | None = None,
        event: str = "push",
        head_repository: str | None = None,
    ) -> None:
        """A completed run in the workflow's history, with artifacts to list and download.
        `event` and `head_repository` (default: this repository) say who started it."""
        created = datetime.now(timezone.utc) - timedelta(hours=age_hours)
        self.past_runs[run_id] = PastRun(
            run_id, branch, conclusion, created, artifacts or {}, event, head_repository
        )

    def _past_runs_json(self, query: dict[str, str]) -> list[dict[str, Any]]:
        """Newest first; `branch` and `status` (a conclusion, or `completed`) filter as on GitHub;
        `per_page` and `page` page through them."""
        runs = sorted(self.past_runs.values(), key=lambda r: r.created, reverse=True)
        if "branch" in query:
            runs = [r for r in runs if r.branch == query["branch"]]
        if "event" in query:
            runs = [r for r in runs if r.event == query["event"]]
        status = query.get("status")
        if status and status != "completed":
            runs = [r for r in runs if r.conclusion == status]
        per_page, page = int(query.get("per_page", "30")), max(1, int(query.get("page", "1")))
        runs = runs[(page - 1) * per_page : page * per_page]
        found = []
        for r in runs:
            run = self._run(
                r.run_id, r.created, "completed", r.conclusion, r.event, r.head_repository, r.branch
            )
            if r.event.startswith("pull_request") and query.get("exclude_pull_requests") != "true":
                run["pull_requests"] = [{"number": r.run_id, "head": {"ref": r.branch}}]
            found.append({**run, "head_sha": "f" * 40})
        return found

    def _past_artifacts_json(self, run: PastRun) -> list[dict[str, Any]]:
        base = f"{self.url}/repos/{self.repo}/actions/artifacts"
        found = []
        for i, (name, data) in enumerate(run.artifacts.items()):
            artifact_id = run.run_id * 100 + i
            if data is not None:
                self._artifact_zips[artifact_id] = data
            found.append(
                {
                    "id": artifact_id,
                    "name": name,
                    "expired": data is None,
                    "archive_download_url": f"{base}/{artifact_id}/zip",
                }
            )
        return found

    # -- the run -----------------------------------------------------------------------------

    def _run_state(self, advance: bool) -> tuple[str, str | None]:
        with self.lock:
            if advance:
                self._run_polls += 1
            polls = self._run_polls
        if polls <= self.queued_polls:
            return "queued", None
        if polls <= self.queued_polls + self.in_progress_polls:
            return "in_progress", None
        return "completed", self.conclusion

    def run_json(self, advance: bool = False) -> dict[str, Any]:
        status, conclusion = self._run_state(advance)
        created = self._dispatched_at or datetime.now(timezone.utc)
        return self._run(self.run_id, created, status, conclusion, head_branch=self._dispatched_ref)

    def _run(
        self,
        run_id: int,
        created: datetime,
        status: str,
        conclusion: str | None,
        event: str = "workflow_dispatch",
        head_repository: str | None = None,
        head_branch: str | None = None,
    ) -> dict:
        head = head_repository or self.repo
        return {
            "id": run_id,
            "name": "sweep",
            "event": event,
            "head_branch": head_branch or self.default_branch,
            "repository": {"full_name": self.repo},
            "head_repository": {"full_name": head, "fork": head != self.repo},
            "pull_requests": [],
            "status": status,
            "conclusion": conclusion,
            "created_at": _iso(created),
            "url": f"{self.url}/repos/{self.repo}/actions/runs/{run_id}",
            "html_url": f"https://github.com/{self.repo}/actions/runs/{run_id}",
        }

    def jobs_json(self) -> list[dict[str, Any]]:
        status, conclusion = self._run_state(advance=False)
        if status == "queued":
            states = [("queued", None), ("queued", None)]
        elif status == "in_progress":
            states = [("completed", "success"), ("in_progress", None)]
        else:
            states = [("completed", "success"), ("completed", conclusion)]
        names = ["plan", "sweep (1)"]
        return [
            {"id": 900 + i, "name": names[i], "status": s, "conclusion": c}
            for i, (s, c) in enumerate(states)
        ]

    def artifacts_json(self) -> list[dict[str, Any]]:
        base = f"{self.url}/repos/{self.repo}/actions/artifacts"
        found = [
            {"id": 5, "name": "model", "expired": False, "archive_download_url": f"{base}/5/zip"}
        ]
        if self.summary_md is not None:
            found.append(
                {
                    "id": ARTIFACT_ID,
                    "name": f"sweepci-report-{self.run_id}",
                    "expired": False,
                    "archive_download_url": f"{base}/{ARTIFACT_ID}/zip",
                }
            )
        return found

    def report_zip(self) -> bytes:
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w") as archive:
            archive.writestr("report/summary.md", self.summary_md or "")
            archive.writestr("report/report.json", json.dumps({"best": "run-3"}))
        return buffer.getvalue()

    def answer(self, endpoint: str, groups: tuple[str, ...], request: Recorded) -> tuple[int, Any]:
        """(status, JSON payload or bytes) for a routed, authorised request."""
        if endpoint in github_issues.ENDPOINTS:
            return self.prs.answer(endpoint, groups, request.query, request.body)
        if endpoint in ("repo", "dispatch", "runs_list", "run", "jobs", "artifacts", "download"):
            if f"{groups[0]}/{groups[1]}" != self.repo:
                return 404, {"message": "Not Found"}
        if endpoint in ("dispatch", "runs_list") and unquote(groups[2]) != self.workflow:
            return 404, {"message": "Not Found"}
        if endpoint == "repo":
            return 200, {"full_name": self.repo, "default_branch": self.default_branch}
        if endpoint == "artifacts" and int(groups[2]) in self.past_runs:
            found = self._past_artifacts_json(self.past_runs[int(groups[2])])
            return 200, {"total_count": len(found), "artifacts": found}
        if endpoint in ("run", "jobs", "artifacts") and int(groups[2]) != self.run_id:
            return 404, {"message": "Not Found"}
        if endpoint == "dispatch":
            body = request.body if isinstance(request.body, dict) else {}
            inputs = body.get("inputs", {})
            if not isinstance(body.get("ref"), str) or not all(
                isinstance(v, str) for v in inputs.values()
            ):
                return 422, {"message": "Invalid request: ref and inputs must be strings"}
            self._dispatched_at = datetime.now(timezone.utc)
            self._dispatched_ref = body["ref"].removeprefix("refs/heads/")
            if self.dispatch_mode == "no_content":
                return 204, None
            run = self.run_json()
            return 200, {
                "workflow_run_id": self.run_id,
                "run_url": run["url"],
                "html_url": run["html_url"],
            }
        if endpoint == "runs_list" and self.past_runs:
            runs = self._past_runs_json(request.query)
            return 200, {"total_count": len(runs), "workflow_runs": runs}
        if endpoint == "runs_list":
            old = self._run(
                OLD_RUN_ID,
                datetime.now(timezone.utc) - timedelta(hours=1),
                "completed",
                "success",
                head_branch=request.query.get("branch"),
            )
            runs = [old] if self._dispatched_at is None else [self.run_json(), old]
            return 200, {"total_count": len(runs), "workflow_runs": runs}
        if endpoint == "run":
            return 200, self.run_json(advance=True)
        if endpoint == "jobs":
            jobs = self.jobs_json()
            return 200, {"total_count": len(jobs), "jobs": jobs}
        if endpoint == "artifacts":
            found = self.artifacts_json()
            return 200, {"total_count": len(found), "artifacts": found}
        if endpoint == "download":
            # GitHub redirects to short-lived blob storage.
            port = self._httpd.server_address[1]
            return 302, {"Location": f"http://{self.blob_host}:{port}/_blobs/{groups[2]}.zip"}
        return 200, self._artifact_zips.get(int(groups[0])) or self.report_zip()


def _make_handler(server: GitHubStandIn) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
            pass  # everything is in server.requests

        def _send(self, status: int, payload: Any, headers: dict[str, str] | None = None) -> None:
            if isinstance(payload, bytes):
                data, kind = payload, "application/zip"
            else:
                data = b"" if payload is None else json.dumps(payload).encode()
                kind = "application/json"
            self.send_response(status)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(data)))
            for key, value in (headers or {}).items():
                self.send_header(key, value)
            self.end_headers()
            self.wfile.write(data)

        def _handle(self) -> None:
            parts = urlsplit(self.path)
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            try:
                body = json.loads(raw) if raw else None
            except ValueError:
                body = raw.decode(errors="replace")
            endpoint, groups = None, ()
            for method, name, pattern in _ROUTES:
                match = pattern.match(parts.path)
                if match and method == self.command:
                    endpoint, groups = name, match.groups()
            query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
            entry = Recorded(
                self.command, parts.path, query, dict(self.headers.items()), body, endpoint
            )
            with server.lock:
                server.requests.append(entry)
            if endpoint is None:
                return self._send(404, {"message": "Not Found"})
            fault = server._take_fault(endpoint)
            if fault is not None:
                message = fault.message or {401: "Bad credentials"}.get(fault.status, "Error")
                return self._send(fault.status, {"message": message}, fault.headers)
            # Blob storage uses a signed URL, not the token (and must never see it).
            if endpoint != "blob" and self.headers.get("Authorization") != f"Bearer {server.token}":
                return self._send(401, {"message": "Bad credentials"})
            status, payload = server.answer(endpoint, groups, entry)
            if status == 302:
                return self._send(302, None, payload)
            self._send(status, payload)

        do_GET = _handle
        do_POST = _handle
        do_PATCH = _handle

    return Handler
