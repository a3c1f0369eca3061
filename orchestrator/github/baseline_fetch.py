"""Bring main's previous prod store in: the `sweepci-report` artifact of the latest
successful run of the sweep workflow on a branch, downloaded and unpacked safely.

"Nothing found" (no successful run yet, the artifact expired or was never
uploaded) is a normal state, returned as a result rather than raised: the
report then says "no baseline". Only a run that `trusted_runs` keeps may
serve (a run of this repository, from a push, dispatch or schedule, on the
trusted branch): the runs list also holds pull requests from forks, whose
artifact would otherwise become the baseline and the promotion history. The
archive comes from the network, so every member is checked before anything
is written: an absolute path or a `..` part refuses the whole archive.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import zipfile
import zlib
from dataclasses import asdict, dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from orchestrator.errors import BackendError, UsageError
from orchestrator.github.api import GitHubClient
from orchestrator.github.trusted_runs import TRUSTED_EVENTS, trusted_runs

DEFAULT_ARTIFACT = "sweepci-report"
DEFAULT_DIR = ".sweepci/baseline"
#: written into DIR by a fetch; a DIR holding it may be replaced by the next fetch
MARKER = "fetched.json"
#: bounds on an unpacked artifact (a zip bomb names terabytes in a few KiB)
MAX_UNPACKED_BYTES = 2 << 30
MAX_MEMBERS = 10_000
LIMIT_ENV = "SWEEPCI_BASELINE_MAX_BYTES"
#: trusted successful runs looked at, newest first: past a run whose artifact is missing
#: (a failed upload, a job that stopped early) to older ones, until one still has it
RUNS_LOOKED_AT = 50
#: runs asked for per page: the list mixes in untrusted runs (fork pull requests), dropped here
RUNS_LISTED = 100
#: pages of the runs list read at most
MAX_PAGES = 5
#: GitHub's default artifact retention; a repository may set fewer days (or more, if private)
DEFAULT_RETENTION_DAYS = 90


@dataclass
class FetchResult:
    """What a fetch found. `store` is None when nothing was brought in (see `message`)."""

    found: bool
    message: str
    repository: str
    workflow: str
    branch: str
    run_id: int | None = None
    run_url: str | None = None
    artifact: str | None = None
    directory: str | None = None
    store: str | None = None
    #: runs passed over because their artifact expired (the record is gone when none is left)
    expired: int = 0

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def default_branch(client: GitHubClient, owner: str, repo: str) -> str:
    """The repository's default branch, as GitHub names it."""
    body = client.get_json(
        f"/repos/{owner}/{repo}", not_found=f"repository {owner}/{repo} not found (404)"
    )
    branch = body.get("default_branch") if isinstance(body, dict) else None
    if not isinstance(branch, str) or not branch:
        raise BackendError(f"GitHub names no default branch for {owner}/{repo}; pass --branch")
    return branch


def _successful_runs(
    client: GitHubClient, owner: str, repo: str, workflow: str, branch: str
) -> tuple[list[dict[str, Any]], int]:
    """(the trusted successful runs on `branch`, newest first; how many listed runs were not)."""
    kept: list[dict[str, Any]] = []
    untrusted = 0
    for page in range(1, MAX_PAGES + 1):
        body = client.get_json(
            f"/repos/{owner}/{repo}/actions/workflows/{workflow}/runs",
            params={"branch": branch, "status": "success", "per_page": str(RUNS_LISTED),
                    "page": str(page)},
            not_found=f"workflow {workflow} not found in {owner}/{repo} (404); pass --workflow",
        )  # fmt: skip
        listed = body.get("workflow_runs") if isinstance(body, dict) else None
        listed = listed if isinstance(listed, list) else []
        trusted = trusted_runs(listed, f"{owner}/{repo}", branch)
        kept += trusted
        untrusted += len(listed) - len(trusted)
        if len(listed) < RUNS_LISTED or len(kept) >= RUNS_LOOKED_AT:
            break
    return kept[:RUNS_LOOKED_AT], untrusted


def _artifact_of(
    client: GitHubClient, owner: str, repo: str, run_id: int, name: str
) -> tuple[dict[str, Any] | None, bool]:
    """(the run's unexpired artifact `name` or None; whether it had one that expired)."""
    body = client.get_json(
        f"/repos/{owner}/{repo}/actions/runs/{run_id}/artifacts",
        params={"name": name, "per_page": "100"},
    )
    expired = False
    for artifact in body.get("artifacts") or []:
        if artifact.get("name") == name and not artifact.get("expired"):
            return artifact, False
        expired = expired or (artifact.get("name") == name and bool(artifact.get("expired")))
    return None, expired


def safe_members(archive: zipfile.ZipFile, label: str) -> list[zipfile.ZipInfo]:
    """The archive's members, or BackendError when any of them would land outside DIR."""
    members = archive.infolist()
    for info in members:
        name = info.filename.replace("\\", "/")
        path = PurePosixPath(name)
        if path.is_absolute() or (path.parts and path.parts[0].endswith(":")) or ".." in path.parts:
            raise BackendError(
                f"artifact {label} holds an unsafe path {info.filename!r}; nothing was extracted"
            )
    return members


def unpacked_limit() -> int:
    """MAX_UNPACKED_BYTES, or SWEEPCI_BASELINE_MAX_BYTES for a team whose stores are larger."""
    text = os.environ.get(LIMIT_ENV, "")
    return int(text) if text.isdigit() and int(text) > 0 else MAX_UNPACKED_BYTES


def extract_archive(data: bytes, dest: Path, label: str) -> None:
    """Unpack a zip into `dest` after checking every member (see `safe_members`), counting
    the bytes really unpacked (never the sizes the archive claims): past MAX_UNPACKED_BYTES
    or MAX_MEMBERS the archive is refused and `dest` removed, so nothing is left."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile:
        raise BackendError(f"artifact {label} is not a zip archive") from None
    with archive:
        members = safe_members(archive, label)
        if len(members) > MAX_MEMBERS:
            raise BackendError(
                f"artifact {label} holds {len(members)} files, more than {MAX_MEMBERS}; "
                "nothing was extracted"
            )
        existed = dest.exists()
        try:
            _unpack(archive, members, dest, label)
        except BaseException:
            if not existed:
                shutil.rmtree(dest, ignore_errors=True)
            raise


def _unpack(
    archive: zipfile.ZipFile, members: list[zipfile.ZipInfo], dest: Path, label: str
) -> None:
    dest.mkdir(parents=True, exist_ok=True)
    root = dest.resolve()
    limit = unpacked_limit()
    budget = limit
    for info in members:
        target = (dest / info.filename.replace("\\", "/")).resolve()
        if not target.is_relative_to(root):  # pragma: no cover - safe_members refused it
            raise BackendError(f"artifact {label} holds an unsafe path {info.filename!r}")
        if info.is_dir():
            target.mkdir(parents=True, exist_ok=True)
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        try:
            with archive.open(info) as src, open(target, "wb") as out:
                for chunk in iter(lambda: src.read(1 << 20), b""):
                    budget -= len(chunk)
                    if budget < 0:
                        raise BackendError(
                            f"artifact {label} unpacks to more than {limit >> 20} MiB "
                            "(a zip bomb?); nothing was extracted"
                        )
                    out.write(chunk)
        except (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError) as exc:
            raise BackendError(
                f"artifact {label} is a damaged zip archive ({exc}); nothing was extracted"
            ) from None


def _prepare_dir(dest: Path) -> None:
    """Empty `dest` if an earlier fetch filled it; refuse a directory with other files."""
    if not dest.exists():
        return
    if not dest.is_dir():
        raise UsageError(f"{dest} exists and is not a directory; choose another -o")
    if not any(dest.iterdir()):
        return
    if not (dest / MARKER).is_file():
        raise UsageError(
            f"{dest} is not empty and was not filled by `sweepci baseline fetch`; "
            "choose another -o or remove it"
        )
    shutil.rmtree(dest)


def _store_in(dest: Path) -> Path | None:
    found = sorted(dest.rglob("*.db"), key=lambda p: (len(p.parts), str(p)))
    return found[0] if found else None


def fetch_baseline(
    client: GitHubClient,
    owner: str,
    repo: str,
    *,
    workflow: str,
    branch: str | None = None,
    artifact: str = DEFAULT_ARTIFACT,
    dest: Path = Path(DEFAULT_DIR),
    exclude_run_id: str | None = None,
) -> FetchResult:
    """Download `artifact` of the latest trusted successful `workflow` run on `branch`
    (default: the repository's default branch) into `dest`.

    `dest` is emptied first when an earlier fetch filled it. Runs whose artifact expired or is missing are passed over for the next
    older one. Returns a FetchResult with found=False when there is nothing to
    fetch; raises BackendError for refusals (token, permissions, unsafe archive).
    """
    # before any request: a stale baseline must not outlive a fetch that finds nothing
    _prepare_dir(dest)
    branch = branch or default_branch(client, owner, repo)
    result = FetchResult(False, "", f"{owner}/{repo}", workflow, branch)
    listed, untrusted = _successful_runs(client, owner, repo, workflow, branch)
    runs = [run for run in listed if str(run.get("id")) != str(exclude_run_id or "")]
    where = f"{workflow} on {branch} in {owner}/{repo}"
    passed_over = (
        f" ({untrusted} run(s) from pull requests, forks or other events passed over: "
        f"only {' / '.join(TRUSTED_EVENTS)} runs of {owner}/{repo} count)"
        if untrusted
        else ""
    )
    if not runs:
        result.message = f"no baseline: no trusted successful run of {where}{passed_over}"
        return result
    expired = 0
    for run in runs:
        found, gone = _artifact_of(client, owner, repo, int(run["id"]), artifact)
        expired += gone
        if found is None or not found.get("archive_download_url"):
            continue
        label = f"{artifact} of run {run['id']}"
        response = client.request(
            "GET", found["archive_download_url"], not_found=f"artifact {label} is gone (404)"
        )
        extract_archive(response.content, dest, label)
        (dest / MARKER).write_text(
            json.dumps(
                {"repository": f"{owner}/{repo}", "run_id": run["id"], "artifact": artifact,
                 "run_url": run.get("html_url"), "head_sha": run.get("head_sha")},
                indent=2,
            ) + "\n",
            encoding="utf-8",
        )  # fmt: skip
        store = _store_in(dest)
        result.found = store is not None
        result.run_id, result.run_url = int(run["id"]), run.get("html_url")
        result.artifact, result.directory = artifact, str(dest)
        result.store = str(store) if store else None
        result.message = (
            f"fetched {label} into {dest}: store {store}"
            if store
            else f"no baseline: {label} holds no store file (*.db)"
        )
        return result
    result.message = (
        f"no baseline: the last {len(runs)} trusted successful run(s) of {where} "
        f"have no unexpired {artifact} artifact{passed_over}"
    )
    if expired:
        result.expired = expired
        result.message += (
            f"; {expired} of them expired (GitHub keeps artifacts {DEFAULT_RETENTION_DAYS} days "
            "unless the repository's artifact retention says fewer), so no record of main's "
            "sweeps or its production model is left: the next sweep of main starts a new one "
            "(with the wandb backend they are read from W&B instead)"
        )
    return result
