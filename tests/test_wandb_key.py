"""The key `wandb login` saved counts like WANDB_API_KEY, and a failed W&B call says what
failed: the network, the key, or W&B's server (each its own one line)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from orchestrator.backends import wandb_sdk
from orchestrator.backends.base import choose_backend
from orchestrator.backends.wandb_key import find_key
from orchestrator.errors import BackendError
from tests.conftest import clean_env, make_repo, sweepci
from tests.servers.wandb_api import CANARY_KEY, WandbStandIn, make_sdk_env

pytest_plugins = ["tests.servers.wandb_fixtures"]

SWEEP = {"method": "grid", "parameters": {"x": {"values": [1]}}}


def _login(home: Path, key: str, host: str = "api.wandb.ai") -> None:
    """What `wandb login` writes."""
    home.mkdir(parents=True, exist_ok=True)
    (home / ".netrc").write_text(f"machine {host}\n  login user\n  password {key}\n")
    os.chmod(home / ".netrc", 0o600)


def test_a_wandb_login_key_makes_auto_choose_wandb(tmp_path: Path) -> None:
    home = tmp_path / "home"
    assert choose_backend("auto", {"HOME": str(home)})[0] == "local"
    _login(home, CANARY_KEY)

    chosen, why = choose_backend("auto", {"HOME": str(home)})

    assert chosen == "wandb" and "wandb login" in why and CANARY_KEY not in why
    assert find_key({"HOME": str(home)}) == (
        CANARY_KEY,
        f"the key `wandb login` saved in {home}/.netrc",
    )
    # a key for another host, or none in the file, is no key
    other = {"HOME": str(home), "WANDB_BASE_URL": "https://wandb.example.com"}
    assert choose_backend("auto", other)[0] == "local"


def test_the_wandb_backend_works_with_only_the_login_key(
    tmp_path: Path, wandb_server: WandbStandIn
) -> None:
    env = make_sdk_env(tmp_path / "sdk", wandb_server)
    env.pop("WANDB_API_KEY")
    host = wandb_server.url.split("//", 1)[1].split(":")[0]
    _login(Path(env["HOME"]), CANARY_KEY, host)

    sweep = wandb_sdk.create_sweep(
        SWEEP, "p", "team-a", wandb_sdk.sdk_environment(env, tmp_path / "w")
    )

    assert sweep.sweep_id
    auth = {r.headers.get("Authorization") for r in wandb_server.requests_for("UpsertSweep")}
    assert len(auth) == 1 and None not in auth, "the saved key authenticated the call"


def _fail(env: dict[str, str], tmp_path: Path) -> str:
    with pytest.raises(BackendError) as caught:
        wandb_sdk.create_sweep(SWEEP, "p", "team-a", wandb_sdk.sdk_environment(env, tmp_path))
    message = caught.value.one_line()
    assert "\n" not in message and CANARY_KEY not in message
    return message


def test_network_key_and_server_failures_each_have_their_own_line(
    tmp_path: Path, wandb_server: WandbStandIn
) -> None:
    base = make_sdk_env(tmp_path / "sdk", wandb_server)

    network = _fail({**base, "WANDB_BASE_URL": "http://127.0.0.1:9"}, tmp_path / "n")
    assert network.startswith("cannot reach W&B at http://127.0.0.1:9 to create a sweep")
    assert "rejected" not in network

    bad_key = _fail({**base, "WANDB_API_KEY": "b" * 40}, tmp_path / "k")
    assert bad_key.startswith("W&B rejected the API key (WANDB_API_KEY, or the key `wandb login`")
    assert "while trying to create a sweep" in bad_key

    wandb_server.inject("Viewer", status=500, times=None)
    server = _fail(base, tmp_path / "s")
    assert server.startswith(f"W&B at {wandb_server.url} answered with a server error")
    assert "rejected" not in server


def test_the_cli_reports_an_unreachable_wandb_as_a_network_problem(tmp_path: Path) -> None:
    repo = make_repo(
        tmp_path / "lab",
        branch="feature/x",
        files={"s.yaml": json.dumps({**SWEEP, "program": "t.py"}), "t.py": ""},
    )
    env = clean_env(
        HOME=str(tmp_path / "home"),
        WANDB_API_KEY=CANARY_KEY,
        WANDB_BASE_URL="http://127.0.0.1:9",
        WANDB_HTTP_TIMEOUT="3",
    )

    proc = sweepci("create", "s.yaml", "--backend", "wandb", cwd=repo, env=env, timeout=180)

    assert proc.returncode == 3
    assert "cannot reach W&B at http://127.0.0.1:9" in proc.stderr
    assert "rejected" not in proc.stderr and CANARY_KEY not in proc.stdout + proc.stderr
