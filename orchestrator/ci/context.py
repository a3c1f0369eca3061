"""The run context: branch, commit, event, repository, from GitHub Actions or from git."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from orchestrator.errors import ConfigError, Location

PR_EVENTS = ("pull_request", "pull_request_target")


@dataclass
class RunContextInfo:
    """What sweepci knows about the code a sweep runs: kept in the store and each run's notes."""

    source: str  # "github-actions", "git" or "none"
    event: str  # push, workflow_dispatch, pull_request, ..., or "local"
    branch: str | None = None
    tag: str | None = None
    sha: str | None = None
    ref: str | None = None
    repository: str | None = None  # owner/name
    base_repository: str | None = None  # for pull requests: the repository the PR targets
    is_fork: bool = False
    dirty: bool | None = None
    detached: bool = False
    run_id: str | None = None
    run_attempt: str | None = None
    run_url: str | None = None
    server_url: str | None = None
    actor: str | None = None
    workflow: str | None = None
    note: str | None = None
    #: where the sweep was started, relative to the repository root ("." the root itself):
    #: `reproduce` starts the rerun there, as the program's relative paths expect
    workdir: str | None = None

    @property
    def repository_name(self) -> str | None:
        return (
            self.repository.split("/", 1)[1]
            if self.repository and "/" in self.repository
            else self.repository
        )

    @property
    def is_pull_request(self) -> bool:
        return self.event in PR_EVENTS

    @property
    def short_sha(self) -> str | None:
        return self.sha[:7] if self.sha else None

    def commit_url(self) -> str | None:
        if self.sha and self.repository:
            return f"{self.server_url or 'https://github.com'}/{self.repository}/commit/{self.sha}"
        return None

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def parse_remote(url: str) -> str | None:
    """owner/name from a GitHub remote URL (https, ssh or scp-like), or None."""
    from orchestrator.ci.repo import parse_remote_url

    try:
        owner, name = parse_remote_url(url)
    except ConfigError:
        return None
    return f"{owner}/{name}"


def from_environment(
    env: Mapping[str, str] | None = None, cwd: Path | None = None
) -> RunContextInfo:
    """The context of this process: GitHub Actions when GITHUB_ACTIONS=true, else git, else none."""
    env = os.environ if env is None else env
    if env.get("GITHUB_ACTIONS") == "true":
        return from_github(env, cwd)
    return from_git(cwd or Path.cwd())


EVENT_MAX_BYTES = 32 << 20


def _read_event(env: Mapping[str, str]) -> dict[str, Any]:
    path = env.get("GITHUB_EVENT_PATH")
    if not path:
        return {}
    from orchestrator.config.yamlload import read_input_file

    try:
        # GitHub caps a webhook payload at 25 MB: a bound, and never a device or FIFO
        text = read_input_file(path, EVENT_MAX_BYTES).decode("utf-8")
    except UnicodeDecodeError:
        raise ConfigError(
            "the event payload is not UTF-8 text (not JSON)", Location(path)
        ) from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ConfigError(
            f"the event payload is not JSON: {exc.msg}", Location(path, exc.lineno, exc.colno)
        ) from None
    except RecursionError:
        raise ConfigError("the event payload nests too deeply", Location(path)) from None
    if not isinstance(data, dict):
        raise ConfigError("the event payload must be a JSON object", Location(path))
    return data


def read_event_payload(env: Mapping[str, str] | None = None) -> dict[str, Any]:
    """The event payload at GITHUB_EVENT_PATH ({} when unset); ConfigError when unreadable."""
    return _read_event(os.environ if env is None else env)


def from_github(env: Mapping[str, str], cwd: Path | None = None) -> RunContextInfo:
    """Read GITHUB_* variables and the event payload. On pull_request the commit is the
    PR head (GITHUB_SHA is a merge commit) and the branch is the head branch."""
    event = env.get("GITHUB_EVENT_NAME") or "unknown"
    payload = _read_event(env)
    repository = env.get("GITHUB_REPOSITORY") or None
    server = env.get("GITHUB_SERVER_URL") or "https://github.com"
    ctx = RunContextInfo(
        source="github-actions",
        event=event,
        sha=(env.get("GITHUB_SHA") or None),
        ref=env.get("GITHUB_REF") or None,
        repository=repository,
        run_id=env.get("GITHUB_RUN_ID") or None,
        run_attempt=env.get("GITHUB_RUN_ATTEMPT") or None,
        server_url=server,
        actor=env.get("GITHUB_ACTOR") or None,
        workflow=env.get("GITHUB_WORKFLOW") or None,
    )
    if ctx.run_id and repository:
        ctx.run_url = f"{server}/{repository}/actions/runs/{ctx.run_id}"
        if ctx.run_attempt and ctx.run_attempt != "1":
            ctx.run_url += f"/attempts/{ctx.run_attempt}"
    ref_type = env.get("GITHUB_REF_TYPE") or (
        "tag" if (ctx.ref or "").startswith("refs/tags/") else "branch"
    )
    ref_name = env.get("GITHUB_REF_NAME") or _strip_ref(ctx.ref)
    if event in PR_EVENTS:
        pr = payload.get("pull_request") or {}
        head = pr.get("head") or {}
        base = pr.get("base") or {}
        ctx.sha = head.get("sha") or ctx.sha
        ctx.branch = env.get("GITHUB_HEAD_REF") or head.get("ref") or None
        head_repo = (head.get("repo") or {}).get("full_name")
        base_repo = (base.get("repo") or {}).get("full_name") or repository
        ctx.base_repository = base_repo
        ctx.is_fork = bool(head_repo and base_repo and head_repo != base_repo) or bool(
            (head.get("repo") or {}).get("fork")
        )
        if head_repo:
            ctx.repository = repository or head_repo
    elif ref_type == "tag":
        ctx.tag = ref_name
    else:
        ctx.branch = ref_name
    repo_info = payload.get("repository") or {}
    if event not in PR_EVENTS and repo_info.get("fork"):
        ctx.is_fork = True
    if ctx.sha:
        ctx.sha = ctx.sha.lower()
    # the prod guard applies in Actions too: a step may have changed or added files since
    # the checkout, and runs must trace back to code that is in GITHUB_SHA
    ctx.dirty = _git_dirty(Path(env.get("GITHUB_WORKSPACE") or cwd or Path.cwd()))
    if env.get("GITHUB_WORKSPACE"):
        ctx.workdir = relative_workdir(cwd or Path.cwd(), Path(env["GITHUB_WORKSPACE"]))
    return ctx


def _strip_ref(ref: str | None) -> str | None:
    if not ref:
        return None
    for prefix in ("refs/heads/", "refs/tags/"):
        if ref.startswith(prefix):
            return ref[len(prefix) :]
    return ref


def _git_dirty(path: Path) -> bool | None:
    try:
        import git

        repo = git.Repo(path, search_parent_directories=True)
        return _is_dirty(repo)
    except Exception:  # noqa: BLE001 - no git, no repository: dirtiness is unknown
        return None


#: sweepci's own area (store, runs, baseline): never a change to the code
SWEEPCI_AREA = ".sweepci/"


def _is_dirty(repo: Any) -> bool:
    """Uncommitted changes: tracked files changed and untracked files that git does not
    ignore (an untracked module imported by the program is code the commit lacks), except
    sweepci's own area. Unlike GitPython's is_dirty (`git diff`), this never rewrites
    .git/index: asking must not change the checkout, and must not take the index lock a
    concurrent git command of the user or the CI needs."""
    return bool(_changed_paths(repo))


def _changed_paths(repo: Any) -> list[str]:
    out = repo.git.status(
        "--porcelain", "--untracked-files=normal", env={"GIT_OPTIONAL_LOCKS": "0"}
    )
    paths = [line[3:].strip('"') for line in out.splitlines() if len(line) > 3]
    return [path for path in paths if not path.startswith(SWEEPCI_AREA)]


def dirty_paths(path: Path) -> list[str]:
    """The changed and untracked paths that make the tree at `path` dirty ([] if unknown)."""
    try:
        import git

        return _changed_paths(git.Repo(path, search_parent_directories=True))
    except Exception:  # noqa: BLE001 - no git, no repository: nothing to name
        return []


def from_git(cwd: Path) -> RunContextInfo:
    """The same facts from a local git repository. Never raises for odd repositories."""
    ctx = RunContextInfo(source="git", event="local")
    try:
        import git
    except ImportError:  # pragma: no cover - GitPython is a dependency
        ctx.source, ctx.note = "none", "GitPython is not installed"
        return ctx
    try:
        repo = git.Repo(cwd, search_parent_directories=True)
    except (git.InvalidGitRepositoryError, git.NoSuchPathError):
        ctx.source, ctx.note = "none", "not inside a git repository"
        return ctx
    except git.GitCommandNotFound:
        ctx.source, ctx.note = "none", "git is not installed"
        return ctx
    try:
        if repo.head.is_detached:
            ctx.detached = True
            ctx.note = "detached HEAD"
        else:
            ctx.branch = repo.active_branch.name
        if repo.head.is_valid():
            ctx.sha = repo.head.commit.hexsha
        else:
            ctx.note = "the repository has no commits yet"
        ctx.dirty = _is_dirty(repo) if repo.head.is_valid() else bool(repo.index.entries)
        for remote in repo.remotes:
            if remote.name == "origin":
                urls = list(remote.urls)
                if urls:
                    ctx.repository = parse_remote(urls[0])
        if ctx.repository is None and repo.working_tree_dir:
            ctx.repository = Path(repo.working_tree_dir).name
        if repo.working_tree_dir:
            ctx.workdir = relative_workdir(cwd, Path(repo.working_tree_dir))
    except (ValueError, TypeError, git.GitCommandError) as exc:
        ctx.note = f"git could not tell: {exc}"
    return ctx


def relative_workdir(cwd: Path, root: Path) -> str | None:
    """`cwd` relative to the repository root, in posix form ("." for the root; None outside)."""
    try:
        relative = cwd.resolve().relative_to(root.resolve())
    except (ValueError, OSError):
        return None
    return relative.as_posix() if relative.parts else "."
