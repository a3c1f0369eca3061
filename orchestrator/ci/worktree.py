"""A temporary `git worktree` of one commit, for rerunning a run's code.

The user's working tree, index and HEAD are never touched: the commit is
checked out, detached, into a new directory under the system's temp folder,
and removed again (with its record under `.git/worktrees`) when done, also on
Ctrl-C. The user's git hooks do not run for this checkout (it is sweepci's, not
theirs).
"""

from __future__ import annotations

import contextlib
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

from orchestrator.ci.revision import GitError, has_commit, is_full_sha, run_git, toplevel
from orchestrator.errors import UsageError

#: checking out a big repository can take a while; a hung filter must not hang sweepci
CHECKOUT_TIMEOUT_S = 600.0


def repository_of(cwd: Path) -> Path:
    """The root of the git work tree at `cwd`; a one-line error outside one."""
    top = toplevel(cwd)
    if top is None:
        raise UsageError(
            f"{cwd} is not inside a git repository: run this from a clone of the repository the run came from"
        )
    return top


def fetch_hint(repo: Path, sha: str) -> str:
    """The command that would bring `sha` into `repo`: `git fetch <remote> <sha>`."""
    try:
        remotes = run_git(["remote"], repo).stdout.split()
    except GitError:
        remotes = []
    remote = "origin" if "origin" in remotes else (remotes[0] if remotes else "<remote>")
    return f"git fetch {remote} {sha}"


def require_commit(repo: Path, sha: object, what: str) -> str:
    """`sha` when it is a full hex sha the repository holds; else a one-line error that says
    why and, for a commit the clone lacks, which fetch to run."""
    if not sha:
        raise UsageError(f"{what} has no recorded commit (it ran outside a git repository)")
    if not is_full_sha(sha):
        shown = repr(sha)[:60]
        raise UsageError(
            f"{what} records commit {shown}, which is not a full hex sha; refusing to pass it to git"
        )
    assert isinstance(sha, str)
    if not has_commit(sha, repo):
        raise UsageError(
            f"commit {sha} of {what} is not in the repository at {repo}; "
            f"fetch it first: {fetch_hint(repo, sha)}"
        )
    return sha


@contextlib.contextmanager
def temporary_worktree(repo: Path, sha: str) -> Iterator[Path]:
    """A detached checkout of `sha` (a full sha the repository holds), removed afterwards."""
    if not is_full_sha(sha):
        raise UsageError(f"{sha!r} is not a full hex commit sha")
    holder = Path(tempfile.mkdtemp(prefix="sweepci-reproduce-"))
    tree = holder / "tree"
    added = False
    try:
        run_git(
            [
                "-c",
                "core.hooksPath=/dev/null",
                "worktree",
                "add",
                "--detach",
                "--quiet",
                "--end-of-options",
                str(tree),
                sha,
            ],
            repo,
            timeout=CHECKOUT_TIMEOUT_S,
        )
        added = True
        yield tree
    finally:
        if added:
            with contextlib.suppress(GitError):
                run_git(["worktree", "remove", "--force", "--force", str(tree)], repo)
        shutil.rmtree(holder, ignore_errors=True)
        with contextlib.suppress(GitError):
            run_git(["worktree", "prune"], repo)
