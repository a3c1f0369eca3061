"""Facts about the local git repository that `sweepci dispatch` needs.

The GitHub repository (owner/name) comes from the `origin` remote, the ref from
the current branch. Both come from the `git` command rather than GitPython so
that `sweepci dispatch --help` stays fast and the answers match what the user
sees in their own shell.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

from orchestrator.errors import ConfigError, UsageError

# owner and name as GitHub allows them; `.git` is stripped separately so a repo
# named `foo.github.io` survives.
_OWNER_NAME = r"(?P<owner>[A-Za-z0-9_.-]+)/(?P<name>[A-Za-z0-9_.-]+?)"
_REMOTE_PATTERNS = (
    # https://github.com/acme/repo(.git), also with user@ and a port (GHES)
    re.compile(rf"^(?:https?|git)://(?:[^@/]+@)?[^/]+(?::\d+)?/{_OWNER_NAME}(?:\.git)?/?$"),
    # ssh://git@github.com(:22)/acme/repo.git
    re.compile(rf"^ssh://(?:[^@/]+@)?[^/]+(?::\d+)?/{_OWNER_NAME}(?:\.git)?/?$"),
    # git@github.com:acme/repo.git (scp-like syntax)
    re.compile(rf"^(?:[^@/]+@)?[^:/]+:{_OWNER_NAME}(?:\.git)?/?$"),
)
_SLUG = re.compile(rf"^{_OWNER_NAME}$")


def parse_remote_url(url: str) -> tuple[str, str]:
    """Return (owner, name) from a GitHub remote URL (https, ssh or scp-like).

    Raises ConfigError when the URL does not look like owner/name on a host.
    """
    text = url.strip()
    for pattern in _REMOTE_PATTERNS:
        match = pattern.match(text)
        if match:
            return match["owner"], match["name"]
    raise ConfigError(
        f"cannot read owner/name from the remote URL {_without_credentials(text)!r}; "
        "pass --repo OWNER/NAME"
    )


def parse_repo_slug(slug: str) -> tuple[str, str]:
    """Return (owner, name) from an `OWNER/NAME` string given on the command line."""
    match = _SLUG.match(slug.strip())
    if not match:
        raise UsageError(f"--repo must look like OWNER/NAME, got {slug!r}")
    return match["owner"], match["name"]


def _without_credentials(url: str) -> str:
    """Drop `user:token@` from a URL: remotes sometimes embed a token."""
    return re.sub(r"//[^@/]+@", "//", url)


def _git(args: list[str], cwd: Path | None) -> str | None:
    try:
        done = subprocess.run(
            ["git", *args], cwd=cwd, capture_output=True, text=True, check=False, timeout=30
        )
    except FileNotFoundError:
        raise ConfigError("the `git` command is not installed; pass --repo and --ref") from None
    if done.returncode != 0:
        return None
    return done.stdout.strip()


def repo_root(cwd: Path | None = None) -> Path:
    """The top directory of the git working tree containing `cwd`."""
    top = _git(["rev-parse", "--show-toplevel"], cwd)
    if not top:
        raise ConfigError("not inside a git repository; run sweepci dispatch from your project")
    return Path(top)


def origin_repo(cwd: Path | None = None) -> tuple[str, str]:
    """(owner, name) of the `origin` remote."""
    url = _git(["remote", "get-url", "origin"], cwd)
    if not url:
        raise ConfigError("this git repository has no `origin` remote; pass --repo OWNER/NAME")
    return parse_remote_url(url)


def current_branch(cwd: Path | None = None) -> str:
    """The checked-out branch; a detached HEAD has none, so the user must say --ref."""
    branch = _git(["symbolic-ref", "--quiet", "--short", "HEAD"], cwd)
    if not branch:
        raise ConfigError("HEAD is detached (no current branch); pass --ref BRANCH")
    return branch
