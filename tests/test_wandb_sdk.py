"""The wandb backend's SDK layer, driven with the REAL wandb SDK against a stand-in W&B API.

Nothing of the SDK is mocked: sweeps are created with ``wandb.sweep``, runs are
started by W&B's own agent code in a separate process, and the training program
calls ``wandb.init``/``wandb.log``. Only W&B's servers are replaced, by the HTTP
stand-in in ``tests/servers/wandb_api.py`` (there is no network here).
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

import pytest
import yaml

from orchestrator.agent.notes import ci_from_notes
from orchestrator.backends import wandb_sdk
from orchestrator.backends.wandb_sdk import SweepRef
from orchestrator.errors import EXIT_BACKEND, BackendError, MissingDependencyError, UsageError
from tests.servers.wandb_api import WandbStandIn, files_containing, make_sdk_env

# The stand-in's fixtures: wandb_server, wandb_module_server, wandb_env.
pytest_plugins = ["tests.servers.wandb_fixtures"]

TRAIN_PROGRAM = textwrap.dedent(
    """
    import wandb

    run = wandb.init()
    lr = wandb.config.lr
    for step in range(3):
        wandb.log({"f1": round(lr * 2 + step * 0.01, 4)})
    run.finish()
    """
)

SWEEP_CONFIG: dict[str, Any] = {
    "program": "train.py",
    "method": "grid",
    "metric": {"name": "f1", "goal": "maximize"},
    "parameters": {"lr": {"values": [0.1, 0.2, 0.3]}},
}
TAGS = ["branch:feature/x", "sha:" + "a" * 40, "env:dev", "trigger:push"]
CI_CONFIG = {"branch": "feature/x", "sha": "a" * 40, "event": "push", "run_id": "42"}

# Bounds for everything that talks to the stand-in: a hang fails the test instead.
AGENT_TIMEOUT = 90


def _project_dir(root: Path) -> Path:
    project = root / "project"
    project.mkdir(parents=True, exist_ok=True)
    (project / "train.py").write_text(TRAIN_PROGRAM, encoding="utf-8")
    return project


@pytest.fixture(scope="module")
def finished_sweep(tmp_path_factory: pytest.TempPathFactory, wandb_module_server: WandbStandIn):
    """One sweep of 3 grid points run by one agent asked for 5 runs (the grid ends first)."""
    root = tmp_path_factory.mktemp("sweep")
    env = wandb_sdk.sdk_environment(make_sdk_env(root, wandb_module_server), root / "work")
    sweep = wandb_sdk.create_sweep(SWEEP_CONFIG, "sweepci-dev", "team-a", env)
    started = time.monotonic()
    code = wandb_sdk.run_agent(
        sweep,
        5,
        env,
        TAGS,
        CI_CONFIG,
        root / "work",
        cwd=_project_dir(root),
        poll_interval=0.2,
        timeout=AGENT_TIMEOUT,
    )
    return {
        "sweep": sweep,
        "env": env,
        "code": code,
        "seconds": time.monotonic() - started,
        "runs": wandb_sdk.list_runs(sweep, env),
        "server": wandb_module_server,
    }


def test_sweep_reaches_the_server_with_project_entity_and_config(finished_sweep):
    server, sweep = finished_sweep["server"], finished_sweep["sweep"]
    (upsert,) = [r for r in server.requests_for("UpsertSweep") if r.status == 200]
    assert upsert.variables["entityName"] == "team-a"
    assert upsert.variables["projectName"] == "sweepci-dev"
    assert yaml.safe_load(upsert.variables["config"]) == SWEEP_CONFIG
    assert sweep == SweepRef(
        "team-a",
        "sweepci-dev",
        sweep.sweep_id,
        f"{server.url}/team-a/sweepci-dev/sweeps/{sweep.sweep_id}",
    )
    assert wandb_sdk.parse_sweep_path(sweep.path) == SweepRef(*sweep.path.split("/"))


def test_agent_runs_every_grid_point_then_stops(finished_sweep):
    # Asked for 5 runs, but the sweep server said "exit" after the 3 grid points.
    assert finished_sweep["code"] == 0
    runs = finished_sweep["server"].sweep_runs(finished_sweep["sweep"].sweep_id)
    assert sorted(r["args"]["lr"]["value"] for r in runs) == [0.1, 0.2, 0.3]
    assert {r["state"] for r in runs} == {"finished"}
    assert {r["exitcode"] for r in runs} == {0}
    # Lowered poll interval: 3 short runs, not 3 x 10 s of the CLI agent's waits.
    assert finished_sweep["seconds"] < 60


def test_every_run_carries_the_tags_and_ci_config_to_the_server(finished_sweep):
    server = finished_sweep["server"]
    upserts = [r.variables for r in server.requests_for("UpsertBucket") if r.variables.get("tags")]
    assert {u["name"] for u in upserts} == {
        r["id"] for r in server.sweep_runs(finished_sweep["sweep"].sweep_id)
    }
    for upsert in upserts:
        assert upsert["tags"] == TAGS
        assert upsert["sweep"] == finished_sweep["sweep"].sweep_id
        assert (upsert["entity"], upsert["project"]) == ("team-a", "sweepci-dev")
        config = yaml.safe_load(upsert["config"])  # JSON text
        assert "ci" not in config, "wandb.config holds the sweep's parameters only"
        assert config["lr"]["value"] in (0.1, 0.2, 0.3)
    # the CI context reaches every run as its notes
    noted = [r.variables for r in server.requests_for("UpsertBucket") if r.variables.get("notes")]
    assert {u["name"] for u in noted} == {u["name"] for u in upserts}
    assert all(ci_from_notes(u["notes"]) == CI_CONFIG for u in noted)


def test_list_runs_returns_config_metrics_and_tags(finished_sweep):
    runs = finished_sweep["runs"]
    assert len(runs) == 3
    for run in runs:
        assert run["state"] == "finished"
        assert run["tags"] == TAGS
        assert run["config"] == {"lr": run["config"]["lr"]}
        assert ci_from_notes(run["notes"]) == CI_CONFIG
        assert run["summary"]["f1"] == round(run["config"]["lr"] * 2 + 0.02, 4)
        assert run["created_at"]
    best = wandb_sdk.best_run(runs, "f1", "maximize")
    assert best["config"]["lr"] == 0.3
    assert wandb_sdk.best_run(runs, "f1", "minimize")["config"]["lr"] == 0.1


def test_history_and_summary_reach_file_stream(finished_sweep):
    for run in finished_sweep["server"].sweep_runs(finished_sweep["sweep"].sweep_id):
        assert [line["f1"] for line in run["history"]] == [
            round(run["args"]["lr"]["value"] * 2 + step * 0.01, 4) for step in range(3)
        ]


def test_key_never_written_to_disk_or_printed(tmp_path, wandb_server, capfd):
    # The whole path once more (key check, sweep, agent, listing) under fd capture,
    # with no tags: an empty WANDB_TAGS would break wandb.init.
    env = make_sdk_env(tmp_path / "sdk", wandb_server)
    env = wandb_sdk.sdk_environment(env, tmp_path / "work")
    assert wandb_sdk.check_key(env) == wandb_server.default_entity
    sweep = wandb_sdk.create_sweep(SWEEP_CONFIG, "leaks", None, env)
    assert sweep.entity == wandb_server.default_entity
    code = wandb_sdk.run_agent(
        sweep,
        1,
        env,
        [],
        {},
        tmp_path / "work",
        cwd=_project_dir(tmp_path),
        poll_interval=0.2,
        timeout=AGENT_TIMEOUT,
    )
    (run,) = wandb_sdk.list_runs(sweep, env)
    output = capfd.readouterr()
    assert code == 0 and run["state"] == "finished" and run["tags"] == []
    assert (tmp_path / "work" / "agent.log").read_text()  # the agent's log is kept
    assert files_containing(tmp_path, "canary") == []
    assert "canary" not in output.out + output.err
    assert not wandb_server.handler_errors


def test_missing_key_names_the_variable(wandb_env):
    del wandb_env["WANDB_API_KEY"]
    with pytest.raises(BackendError, match="WANDB_API_KEY is not set") as error:
        wandb_sdk.create_sweep(SWEEP_CONFIG, "p", None, wandb_env)
    assert error.value.exit_code == EXIT_BACKEND


def test_rejected_key_is_a_one_line_error_without_the_key(tmp_path, wandb_server, capfd):
    wrong_key = "canary" + "f" * 40
    env = make_sdk_env(tmp_path, wandb_server, key=wrong_key)
    for call in (
        lambda: wandb_sdk.check_key(env),
        lambda: wandb_sdk.create_sweep(SWEEP_CONFIG, "p", None, env),
    ):
        with pytest.raises(BackendError) as error:
            call()
        message = error.value.one_line()
        assert "WANDB_API_KEY" in message and "rejected" in message
        assert "canary" not in message and "\n" not in message
    assert wandb_server.requests_for("Viewer")[0].status == 401
    assert not wandb_server.requests_for("UpsertSweep")  # nothing created with a bad key
    output = capfd.readouterr()
    assert "canary" not in output.out + output.err


def test_server_error_on_create_sweep_fails_clearly_within_seconds(
    tmp_path, wandb_server, wandb_env
):
    env = wandb_sdk.sdk_environment(wandb_env, tmp_path / "work")
    wandb_server.inject("UpsertSweep", status=500, times=None)
    started = time.monotonic()
    with pytest.raises(
        BackendError, match="server error while trying to create a sweep.*HTTP 500"
    ) as error:
        wandb_sdk.create_sweep(SWEEP_CONFIG, "p", None, env)
    assert time.monotonic() - started < 30  # the SDK's defaults take ~95 s
    assert "canary" not in error.value.one_line()
    assert len(wandb_server.requests_for("UpsertSweep")) > 1  # it did retry


def test_transient_errors_are_retried(tmp_path, wandb_server, wandb_env):
    wandb_server.inject("UpsertSweep", status=429, retry_after=1, times=1)
    wandb_server.inject("UpsertSweep", status=500, times=1)
    env = wandb_sdk.sdk_environment(wandb_env, tmp_path / "work")
    sweep = wandb_sdk.create_sweep(SWEEP_CONFIG, "p", None, env)
    assert [r.status for r in wandb_server.requests_for("UpsertSweep")] == [429, 500, 200]
    assert sweep.sweep_id in wandb_server.state.sweeps


def test_slow_server_times_out_with_a_clear_error(tmp_path, wandb_server, wandb_env):
    # Settings the user chose win over sweepci's defaults (short ones keep this test short).
    wandb_env.update(WANDB_HTTP_TIMEOUT="1", WANDB__GRAPHQL_RETRY_MAX="1")
    wandb_env.update(
        WANDB__GRAPHQL_RETRY_WAIT_MIN_SECONDS="0.1", WANDB__GRAPHQL_RETRY_WAIT_MAX_SECONDS="0.2"
    )
    env = wandb_sdk.sdk_environment(wandb_env, tmp_path / "work")
    wandb_server.inject("UpsertSweep", delay=5, times=None)
    started = time.monotonic()
    with pytest.raises(BackendError, match="could not create a sweep") as error:
        wandb_sdk.create_sweep(SWEEP_CONFIG, "p", None, env)
    assert time.monotonic() - started < 20
    assert "WANDB_HTTP_TIMEOUT" in error.value.one_line()


def test_agent_for_an_unknown_sweep_fails_clearly(tmp_path, wandb_server, wandb_env):
    env = wandb_sdk.sdk_environment(wandb_env, tmp_path / "work")
    sweep = SweepRef("team-a", "p", "nosuchsweep")
    with pytest.raises(BackendError, match="agent for sweep team-a/p/nosuchsweep failed"):
        wandb_sdk.run_agent(sweep, 1, env, ["a"], {}, tmp_path / "work", timeout=AGENT_TIMEOUT)


def test_agent_timeout_stops_the_agent(tmp_path, wandb_server, wandb_env):
    env = wandb_sdk.sdk_environment(wandb_env, tmp_path / "work")
    sweep = wandb_sdk.create_sweep(SWEEP_CONFIG, "p", None, env)
    wandb_server.inject("Heartbeat", delay=30, times=None)  # the server never answers in time
    started = time.monotonic()
    with pytest.raises(BackendError, match="did not finish within 3 s"):
        wandb_sdk.run_agent(sweep, 1, env, [], {}, tmp_path / "work", timeout=3)
    assert time.monotonic() - started < 20


def test_sdk_config_paths_variable_is_broken_so_the_agent_adds_ci_itself(tmp_path):
    # Why wandb_agent_process adds `ci` to the parameter file: WANDB_CONFIG_PATHS,
    # the SDK's documented hook, makes wandb.init fail in this SDK version. If this
    # test starts failing, the SDK fixed it and the hook can be used instead.
    extra = tmp_path / "ci.yaml"
    extra.write_text("wandb_version: 1\nci:\n  value: {branch: main}\n")
    env = {"HOME": str(tmp_path), "TMPDIR": str(tmp_path), "WANDB_DIR": str(tmp_path)}
    env.update(WANDB_MODE="offline", WANDB_SILENT="true", WANDB_CONFIG_PATHS=str(extra))
    (tmp_path / "wandb").mkdir()
    result = subprocess.run(
        [sys.executable, "-c", "import wandb; wandb.init().finish()"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0
    assert "config_paths" in result.stderr


def test_parse_sweep_path_refuses_other_shapes():
    assert wandb_sdk.parse_sweep_path("ent/proj/abc123\n").sweep_id == "abc123"
    for bad in ("abc123", "proj/abc123", "a//b", "a/b/c/d"):
        with pytest.raises(UsageError, match="ENTITY/PROJECT/SWEEP_ID"):
            wandb_sdk.parse_sweep_path(bad)


def test_best_run_skips_runs_without_a_usable_metric():
    runs = [
        {"id": "a", "summary": {"f1": 0.5}},
        {"id": "b", "summary": {}},
        {"id": "c", "summary": {"f1": float("nan")}},
        {"id": "d", "summary": {"f1": "0.9"}},
        {"id": "e", "summary": {"f1": 0.7}},
    ]
    assert wandb_sdk.best_run(runs, "f1", "maximize")["id"] == "e"
    assert wandb_sdk.best_run(runs, "f1", "minimize")["id"] == "a"
    assert wandb_sdk.best_run(runs, "loss", "minimize") is None
    with pytest.raises(UsageError):
        wandb_sdk.best_run(runs, "f1", "max")


def test_tags_with_commas_are_refused_before_anything_starts(tmp_path, wandb_env):
    with pytest.raises(UsageError, match="comma"):
        wandb_sdk.run_agent(SweepRef("e", "p", "s"), 1, wandb_env, ["a,b"], {}, tmp_path)


def test_missing_sdk_gives_the_install_hint(monkeypatch, wandb_env):
    # wandb is installed here; a None entry in sys.modules is how Python spells
    # "not importable", the only way to see the message without uninstalling it.
    monkeypatch.setitem(sys.modules, "wandb", None)
    with pytest.raises(MissingDependencyError, match=r"pip install 'sweepci\[wandb\]'"):
        wandb_sdk.create_sweep(SWEEP_CONFIG, "p", None, wandb_env)


def test_a_diverged_run_has_no_metric_value_and_never_sorts_first():
    from orchestrator.agent.collect import metric_of
    from orchestrator.backends.wandb import _run_view

    runs = [
        {"id": "nan", "state": "finished", "summary": {"f1": float("nan")}},
        {"id": "inf", "state": "finished", "summary": {"f1": float("inf")}},
        {"id": "ok", "state": "finished", "summary": {"f1": 0.7}},
        {"id": "flag", "state": "finished", "summary": {"f1": True}},
    ]
    views = [_run_view(r, "f1") for r in runs]
    assert [v.metric_value for v in views] == [None, None, 0.7, None]
    # the W&B results listing sorts by metric_value: NaN among floats would leave max() stuck on it
    assert (
        max((v for v in views if v.metric_value is not None), key=lambda v: v.metric_value).id
        == "ok"
    )
    assert metric_of({"f1": -float("inf")}, "f1") is None
    assert metric_of({"f1": 3}, "f1") == 3.0
    assert metric_of({"f1": 3}, None) is None


# A child process, so that a teardown that never returns fails the test instead of hanging it.
_STUCK_SERVICE = textwrap.dedent(
    """
    import json, os, signal, sys, time
    from orchestrator.backends import wandb_sdk

    env = json.loads(sys.argv[1])
    with wandb_sdk.sdk_session(env, "stand still") as wandb:
        wandb.setup().ensure_service()  # starts wandb-core, as any API call may
        service = wandb_sdk._service_process(wandb)
        os.kill(service.pid, signal.SIGSTOP)  # a wandb-core that will never exit by itself
        started = time.monotonic()
    print(json.dumps({"seconds": time.monotonic() - started, "code": service.poll()}))
    """
)


def test_a_service_process_that_never_exits_is_killed_after_the_teardown_wait(wandb_env):
    env = dict(wandb_env, PATH="/usr/bin:/bin", SWEEPCI_WANDB_TEARDOWN_WAIT="2")
    proc = subprocess.run(
        [sys.executable, "-c", _STUCK_SERVICE, json.dumps(env)],
        capture_output=True,
        text=True,
        timeout=120,
        env=dict(env, PYTHONPATH=str(Path(__file__).resolve().parent.parent)),
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    assert result["code"] == -9  # killed: it was stopped, so only SIGKILL could end it
    assert 2 <= result["seconds"] < 30
    assert "service process (wandb-core) had not exited 2 s after" in proc.stderr
    assert "Traceback" not in proc.stderr
