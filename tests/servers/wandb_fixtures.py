"""Pytest fixtures for the W&B stand-in: a running server and an SDK environment.

Load them in a test module with ``pytest_plugins = ["tests.servers.wandb_fixtures"]``.
Everything the SDK writes goes under one temp root, so a test can walk it.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.servers.wandb_api import CANARY_KEY, WandbStandIn, make_sdk_env


@pytest.fixture
def wandb_server() -> Iterator[WandbStandIn]:
    """A fresh stand-in W&B API on 127.0.0.1, accepting ``CANARY_KEY``."""
    server = WandbStandIn(CANARY_KEY).start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def wandb_module_server() -> Iterator[WandbStandIn]:
    """One stand-in shared by a module's tests (for expensive shared set-ups)."""
    server = WandbStandIn(CANARY_KEY).start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def wandb_env(tmp_path: Path, wandb_server: WandbStandIn) -> dict[str, str]:
    """An SDK environment pointing at ``wandb_server``, all files under ``tmp_path``."""
    return make_sdk_env(tmp_path / "sdk", wandb_server)
