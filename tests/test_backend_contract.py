"""One contract, every backend: the same sweep through the ``Backend`` interface behaves alike.

Each backend gets the same tiny grid sweep and training program (the real
``wandb`` SDK: offline on the local backend, online against the stand-in W&B
API on the wandb backend), runs two agents (2 runs, then "5" of which the grid
has only 1 left), lists the runs and picks the best. A new backend joins by
adding one entry to ``BACKENDS``.
"""

from __future__ import annotations

import json
import textwrap
import time
from typing import Any

import pytest

from orchestrator.agent.options import AgentOptions, RunContext
from orchestrator.commands.sweep import get_backend
from orchestrator.config.sweep import load_sweep
from tests.servers.wandb_api import CANARY_KEY, WandbStandIn, files_containing, make_sdk_env

pytest_plugins = ["tests.servers.wandb_fixtures"]

BACKENDS = ["local", "wandb"]

TRAIN = textwrap.dedent(
    """
    import json
    import wandb

    run = wandb.init()
    # what `Model(**wandb.config)` would receive
    with open(f"config-{run.id}.json", "w") as fh:
        json.dump(dict(wandb.config), fh)
    for step in range(3):
        wandb.log({"f1": round(wandb.config.lr * 2 + step * 0.01, 4)})
    run.finish()
    """
)
SWEEP = textwrap.dedent(
    """
    program: train.py
    method: grid
    metric: {name: f1, goal: maximize}
    parameters:
      lr: {values: [0.1, 0.2, 0.3]}
      ci: {value: swept}  # a parameter that happens to share the name of sweepci's context
    """
)
TAGS = ["branch:feature/contract", "sha:" + "c" * 40, "env:dev", "trigger:push"]
CI = {"branch": "feature/contract", "sha": "c" * 40, "event": "push", "env": "dev", "run_id": "7"}
# Bounds: a hung agent or run fails the test instead of hanging it.
AGENT_BUDGET_S = 60.0
RUN_TIMEOUT_S = 30.0


def _final_f1(lr: float) -> float:
    return round(lr * 2 + 0.02, 4)


@pytest.fixture(scope="module", params=BACKENDS)
def swept(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    wandb_module_server: WandbStandIn,
) -> dict[str, Any]:
    """The sweep run once per backend, with a W&B key (the canary) in the environment for both."""
    root = tmp_path_factory.mktemp(f"contract-{request.param}")
    project = root / "project"
    project.mkdir()
    (project / "train.py").write_text(TRAIN, encoding="utf-8")
    (project / "sweep.yaml").write_text(SWEEP, encoding="utf-8")
    env = make_sdk_env(root / "sdk", wandb_module_server)
    env.pop("PATH")
    with pytest.MonkeyPatch.context() as mp:
        for name, value in env.items():
            mp.setenv(name, value)
        mp.setenv("SWEEPCI_WANDB_POLL", "0.2")
        for name in (
            "WANDB_ENTITY",
            "WANDB_PROJECT",
            "WANDB_MODE",
            "WANDB_TAGS",
            "WANDB_RUN_ID",
            "WANDB_SWEEP_ID",
        ):
            mp.delenv(name, raising=False)
        config, _warnings = load_sweep(project / "sweep.yaml")
        context = RunContext(
            project="contract-dev", entity="team-a", env="dev", tags=list(TAGS), ci=dict(CI)
        )
        backend = get_backend(request.param, root / "store" / "sweepci.db")

        def options(count: int) -> AgentOptions:
            return AgentOptions(
                count=count, run_timeout=RUN_TIMEOUT_S, time_budget=AGENT_BUDGET_S, workdir=project
            )

        started = time.monotonic()
        handle = backend.create(config, context, sweep_file=str(project / "sweep.yaml"))
        first = backend.run_agent(handle, context, options(2), quiet=True)
        second = backend.run_agent(handle, context, options(5), quiet=True)
        runs = backend.list_runs(handle)
        best = backend.best_run(handle, "f1", maximize=True)
    return {
        "root": root,
        "handle": handle,
        "first": first,
        "second": second,
        "runs": runs,
        "best": best,
        "configs": {
            p.stem.removeprefix("config-"): json.loads(p.read_text())
            for p in project.glob("config-*.json")
        },
        "seconds": time.monotonic() - started,
    }


def test_an_agent_runs_as_many_runs_as_asked(swept):
    assert (swept["first"].started, swept["first"].finished) == (2, 2)


def test_an_exhausted_grid_stops_the_agent_early(swept):
    # asked for 5 more, but the 3-point grid had 1 left
    assert (swept["second"].started, swept["second"].finished) == (1, 1)
    assert sorted(r.config["lr"] for r in swept["runs"]) == [0.1, 0.2, 0.3]
    assert {r.state for r in swept["runs"]} == {"finished"}


def test_every_run_carries_the_context_tags_and_ci_config(swept):
    for run in swept["runs"]:
        assert set(TAGS) <= set(run.tags)
        assert {k: run.ci.get(k) for k in CI} == CI
        assert run.config == {"lr": run.config["lr"], "ci": "swept"}


def test_wandb_config_in_the_program_is_the_sweeps_parameters_only(swept):
    configs = swept["configs"]
    assert set(configs) == {r.id for r in swept["runs"]}
    for run in swept["runs"]:
        assert configs[run.id] == {"lr": run.config["lr"], "ci": "swept"}


def test_every_run_has_its_metrics(swept):
    for run in swept["runs"]:
        assert run.summary["f1"] == pytest.approx(_final_f1(run.config["lr"]))
        assert run.metric_value == pytest.approx(_final_f1(run.config["lr"]))


def test_best_run_is_the_one_with_the_best_metric(swept):
    best = swept["best"]
    assert best is not None and best.config["lr"] == 0.3
    assert best.metric_value == pytest.approx(_final_f1(0.3))
    assert best.id in {r.id for r in swept["runs"]}


def test_the_key_is_in_no_file_the_backend_wrote(swept):
    assert files_containing(swept["root"], CANARY_KEY) == []
