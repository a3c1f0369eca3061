"""Pytest fixture for the GitHub API stand-in (see tests/servers/github_api.py)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.servers.github_api import GitHubStandIn

# A canary: tests assert this string never appears in any output.
CANARY_TOKEN = "ghp_CANARY0123456789abcdefghijklmnopqrstuv"


@pytest.fixture
def github_api() -> Iterator[GitHubStandIn]:
    """A running GitHub stand-in that accepts CANARY_TOKEN for acme/wine-quality."""
    server = GitHubStandIn(token=CANARY_TOKEN).start()
    try:
        yield server
    finally:
        server.stop()
