"""Git revisions and commits, asked of git safely.

A revision comes from the command line and a commit sha from a store, a
W&B run or an artifact: both are untrusted. Neither reaches a shell; a
revision is passed after ``--end-of-options`` so that ``--output=x`` is a name
git looks up, not an option it obeys; a recorded sha must be a full hex sha
before git sees it.
"""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

from orchestrator.errors import UsageError

_FULL_SHA = re.compile(r"[0-9a-f]{40}|[0-9a-f]{64}")  # SHA-1 and SHA-256 repositories
_HEX_PREFIX = re.compile(r"[0-9a-fA-F]{4,40}")
MAX_REVISION_LENGTH = 256
GIT_TIMEOUT_S = 30.0


class GitError(UsageError):
    """git refused or is missing; the message is one line."""


def is_full_sha(text: object) -> bool:
    """True for a full lowercase hex commit sha (40 or 64 characters), nothing else."""
    return isinstance(text, str) and _FULL_SHA.fullmatch(text) is not None


def git_environment() -> dict[str, str]:
    """The environment git runs with: no optional locks (asking never rewrites the
    index), no prompts, no pager, the user's repository variables left out."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    env.update(GIT_OPTIONAL_LOCKS="0", GIT_TERMINAL_PROMPT="0", GIT_PAGER="cat", LC_ALL="C")
    return env


def run_git(
    args: list[str], cwd: Path, *, check: bool = True, timeout: float = GIT_TIMEOUT_S
) -> subprocess.CompletedProcess[str]:
    """Run ``git ARGS`` in ``cwd`` (argv, never a shell); a failure is a one-line GitError."""
    try:
        proc = subprocess.run(
            ["git", *args],
            cwd=cwd,
            env=git_environment(),
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            errors="replace",
            timeout=timeout,
        )
    except FileNotFoundError:
        raise GitError("git is not installed (it is needed to read commits)") from None
    except subprocess.TimeoutExpired:
        raise GitError(f"git {args[0]} did not finish within {timeout:g} s") from None
    if check and proc.returncode != 0:
        last = (proc.stderr.strip().splitlines() or [f"exit code {proc.returncode}"])[-1]
        raise GitError(f"git {args[0]} failed: {last}")
    return proc


def toplevel(cwd: Path) -> Path | None:
    """The root of the git work tree holding ``cwd``, or None outside one."""
    try:
        proc = run_git(["rev-parse", "--show-toplevel"], cwd, check=False)
    except GitError:
        return None
    if proc.returncode != 0 or not proc.stdout.strip():
        return None
    return Path(proc.stdout.strip())


def resolve_commit(revision: str, cwd: Path) -> str | None:
    """The full sha of the commit ``revision`` names (HEAD, main~2, a tag, a short sha),
    or None when git does not know it. Raises GitError outside a repository."""
    _check_revision(revision)
    if toplevel(cwd) is None:
        raise GitError(f"{cwd} is not inside a git repository, so git cannot resolve {revision!r}")
    proc = run_git(
        ["rev-parse", "--verify", "--quiet", "--end-of-options", f"{revision}^{{commit}}"],
        cwd,
        check=False,
    )
    sha = proc.stdout.strip()
    return sha if proc.returncode == 0 and is_full_sha(sha) else None


def has_commit(sha: str, cwd: Path) -> bool:
    """True when the repository at ``cwd`` holds commit ``sha`` (a full sha, checked first)."""
    if not is_full_sha(sha):
        raise UsageError(f"{sha!r} is not a full hex commit sha")
    return resolve_commit(sha, cwd) == sha


def commit_filter(text: str, cwd: Path) -> str:
    """What ``runs --commit TEXT`` looks for: a full sha, or a hex prefix of one.

    A full sha is used as it is (runs from CI may be of commits this clone lacks).
    Anything else is resolved with git; a hex prefix git does not know still
    matches the shas in the store.
    """
    text = text.strip()
    if is_full_sha(text.lower()):
        return text.lower()
    hex_prefix = _HEX_PREFIX.fullmatch(text) is not None
    try:
        sha = resolve_commit(text, cwd)
    except GitError as exc:
        if hex_prefix:
            return text.lower()
        raise UsageError(f"--commit {text!r}: {exc.message}") from None
    if sha is not None:
        return sha
    if hex_prefix:
        return text.lower()
    raise UsageError(
        f"--commit {text!r}: git knows no commit by that name in {toplevel(cwd)} "
        "(give a revision such as HEAD, main~2, a tag, or a hex sha)"
    )


def _check_revision(revision: str) -> None:
    if not revision or len(revision) > MAX_REVISION_LENGTH:
        raise UsageError(f"a revision must be 1-{MAX_REVISION_LENGTH} characters")
    if any(ch in revision for ch in "\x00\n\r") or not revision.isprintable():
        raise UsageError(f"revision {revision!r} holds control characters")
