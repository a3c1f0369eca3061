"""sweepci.yaml's `actions:` settings: what they render, the cheap and safe defaults, the
concurrency rule (dev may be cancelled, prod never) and strict file:line validation.
Every variant of tests/test_workflow.py's PROJECTS is linted there (actionlint, zizmor)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from orchestrator.config.project import ProjectConfig, load_project
from orchestrator.github.render_actions import cancel_in_progress
from tests.conftest import make_repo, sweepci
from tests.test_workflow import PROJECTS, render_in


def _steps(job: dict) -> list[str]:
    return [s.get("name") or s.get("uses", "").split("@")[0] or None for s in job["steps"]]


def test_the_settings_shape_the_workflow(tmp_path: Path) -> None:
    wf = yaml.safe_load(render_in(tmp_path, PROJECTS["gpu-self-hosted"], {}))
    jobs = wf["jobs"]
    agents = jobs["agents"]
    assert agents["runs-on"] == ["self-hosted", "gpu"]
    assert agents["timeout-minutes"] == 240
    assert agents["env"] == {"DATA_DIR": "data"}
    for name in ("plan", "create", "report", "promote", "comment"):
        assert jobs[name]["runs-on"] == {"group": "sweepers", "labels": ["linux"]}, name
        assert jobs[name]["timeout-minutes"] == 20, name
    assert wf["env"] == {"HF_HOME": "/cache/hf", "EPOCHS": "3"}
    # the setup steps run after sweepci is installed and before any agent starts
    names = _steps(agents)
    install = names.index("Install sweepci")
    assert names[install + 1 : install + 4] == [
        "Pull the data",
        "iterative/setup-dvc",
        None,
    ]
    assert names[install + 4] == "Run a W&B agent"
    pull = agents["steps"][install + 1]
    assert pull["run"] == 'dvc pull\necho "it\'s $DATA_DIR" && ls "$DATA_DIR"\n'
    dvc = agents["steps"][install + 2]
    assert dvc == {
        "uses": "iterative/setup-dvc@3dfff14c7df3c4eb6f02154d4a1da1a70d4a1e1b",
        "with": {"version": "3.0"},
    }
    # one agent per GPU of the runner, on both backends
    for step in agents["steps"]:
        if step.get("name") in ("Run a W&B agent", "Run a local shard"):
            assert step["env"]["GPUS"] == "auto" and step["env"]["GPUS_PER_RUN"] == 2
            assert '--gpus "$GPUS" --gpus-per-run "$GPUS_PER_RUN"' in step["run"]
    on = wf[True]
    assert on["push"] == {"branches": ["**"], "paths": ["src/**", "sweeps/**"]}
    assert "workflow_dispatch" in on
    assert wf["concurrency"]["cancel-in-progress"] == (
        "${{ github.event_name == 'push' && github.ref_name != 'main' && "
        "!startsWith(github.ref_name, 'release/') }}"
    )


def test_the_defaults_stay_on_github_hosted_runners_with_time_limits(tmp_path: Path) -> None:
    wf = yaml.safe_load(render_in(tmp_path, None, {}))
    for name, job in wf["jobs"].items():
        assert job["runs-on"] == "ubuntu-latest", name
        assert job["timeout-minutes"] == (360 if name == "agents" else 30), name
        assert "env" not in job
    assert "env" not in wf
    assert set(wf[True]) == {"push", "workflow_dispatch"}
    assert wf[True]["push"]["paths-ignore"] == ["**.md", "docs/**"]
    # main routes to prod: a newer push to main never cancels its sweep; other branches may
    assert wf["concurrency"]["cancel-in-progress"] == (
        "${{ github.event_name == 'push' && github.ref_name != 'main' }}"
    )
    agents = wf["jobs"]["agents"]
    assert all("--gpus" not in s.get("run", "") for s in agents["steps"])


def test_triggers_can_be_turned_off(tmp_path: Path) -> None:
    manual = yaml.safe_load(render_in(tmp_path / "m", PROJECTS["manual-only-group"], {}))
    assert set(manual[True]) == {"workflow_dispatch"}
    assert manual["jobs"]["agents"]["runs-on"] == {"group": "gpu-farm"}
    push = yaml.safe_load(render_in(tmp_path / "p", PROJECTS["push-only-branches"], {}))
    assert set(push[True]) == {"push"}
    assert push[True]["push"] == {
        "branches": ["main", "exp/**"],
        "paths-ignore": ["notebooks/**"],
    }
    plan = next(s for s in push["jobs"]["plan"]["steps"] if s.get("id") == "plan")
    # no workflow_dispatch, no inputs: the plan job takes sweepci.yaml's defaults
    assert plan["env"]["COUNT"] == "" and plan["env"]["BACKEND"] == ""
    assert push["jobs"]["agents"]["runs-on"] == "a100"
    assert push["jobs"]["agents"]["timeout-minutes"] == 7200


@pytest.mark.parametrize(
    "environments, expected",
    [
        ({"prod": {"branches": ["main"]}, "dev": {"branches": ["*"]}}, "ref_name != 'main'"),
        # a staging environment is not cancelled either
        (
            {"prod": {"branches": ["main"]}, "staging": {"branches": ["rc/*"]}, "dev": {}},
            "!startsWith(github.ref_name, 'rc/')",
        ),
        # patterns an expression cannot state exactly: never cancel
        ({"prod": {"branches": ["v[0-9]*"]}, "dev": {"branches": ["*"]}}, "false"),
        ({"prod": {"branches": ["${{ github.head_ref }}"]}, "dev": {}}, "false"),
        ({"prod": {"branches": ["ma'in"]}, "dev": {}}, "false"),
        # no dev environment at all: nothing is ever cancelled
        ({"prod": {"branches": ["*"]}}, "false"),
    ],
)
def test_only_dev_sweeps_can_be_cancelled(
    tmp_path: Path, environments: dict, expected: str
) -> None:
    path = tmp_path / "sweepci.yaml"
    path.write_text(yaml.safe_dump({"environments": environments}))
    rule = cancel_in_progress(load_project(path))
    assert expected in rule
    if expected == "false":
        assert rule == "false"
    assert cancel_in_progress(ProjectConfig()).startswith("${{ github.event_name == 'push'")


BAD_SETTINGS = [
    (
        "  agents:\n    setup:\n      - uses: iterative/setup-dvc@v1\n",
        4,
        "actions.agents.setup.0.uses",
        "must be pinned by a full commit SHA",
    ),
    (
        "  agents:\n    setup:\n      - run: echo ${{ github.head_ref }}\n",
        4,
        "actions.agents.setup.0.run",
        "must not hold a ${{ }} expression",
    ),
    ("  env:\n    TOKEN: ${{ secrets.X }}\n", 3, "actions.env.TOKEN", "expression"),
    ("  env:\n    GITHUB_TOKEN: x\n", 3, "actions.env.GITHUB_TOKEN", "is set by GitHub"),
    ("  runs_on: gpu\n", 2, "actions.runs_on", "did you mean 'runs-on'"),
    ("  runs-on: [self hosted]\n", 2, "actions.runs-on.0", "is not a runner label"),
    ("  timeout-minutes: 0\n", 2, "actions.timeout-minutes", "from 1 to 7200"),
    ("  triggers: [pull_request]\n", 2, "actions.triggers.0", "must be one of push"),
    (
        "  push:\n    paths: [a]\n    paths-ignore: [b]\n",
        3,
        "actions.push.paths",
        "not both",
    ),
    ("  agents:\n    gpus-per-run: 2\n", 3, "actions.agents.gpus-per-run", "needs gpus"),
    ("  agents:\n    gpus: all\n", 3, "actions.agents.gpus", "must be auto"),
    (
        "  agents:\n    setup:\n      - run: a\n        uses: b/c@" + "0" * 40 + "\n",
        4,
        "actions.agents.setup.0",
        "either run: or uses:",
    ),
    ('  agents:\n    setup:\n      - name: "x\\ny"\n        run: a\n', 4, "name", "newlines"),
    ("  runs-on: {labels: [gpu]}\n", 2, "actions.runs-on", "runner group"),
    ("  wandb-key: repo\n", 2, "actions.wandb-key", "environment or repository"),
]


@pytest.mark.parametrize("text, line, key, message", BAD_SETTINGS)
def test_bad_settings_are_one_line_with_file_line_and_key(
    tmp_path: Path, text: str, line: int, key: str, message: str
) -> None:
    repo = make_repo(tmp_path / "demo", files={"sweepci.yaml": "actions:\n" + text})
    proc = sweepci("workflow", "render", cwd=repo)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    err = proc.stderr.strip()
    assert err.count("\n") == 0 and "Traceback" not in err, err
    assert f"sweepci.yaml:{line}:" in err and key in err and message in err, err
    assert not (repo / ".github").exists()


def test_settings_are_drift_checked(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "demo", files={"sweepci.yaml": PROJECTS["gpu-self-hosted"]})
    assert sweepci("workflow", "render", cwd=repo).returncode == 0
    assert sweepci("workflow", "check", cwd=repo).returncode == 0
    project = repo / "sweepci.yaml"
    project.write_text(project.read_text().replace("timeout-minutes: 240", "timeout-minutes: 90"))
    proc = sweepci("workflow", "check", cwd=repo)
    assert proc.returncode == 1
    assert "-    timeout-minutes: 240" in proc.stdout + proc.stderr


def test_a_prod_sweep_on_the_local_engine_is_reviewed_once(tmp_path: Path) -> None:
    """GitHub asks one review per job naming a protected environment (all the jobs of a
    matrix waiting at once are approved together): only the jobs that need the key name it."""
    wf = yaml.safe_load(render_in(tmp_path, None, {}))
    named = {name: job.get("environment") for name, job in wf["jobs"].items()}
    # the create job is the gate: before it, only the plan ran (no secret, no run)
    assert named["create"] == "${{ needs.plan.outputs.env }}"
    assert wf["jobs"]["create"]["needs"] == "plan"
    on_wandb_only = {name for name, env in named.items() if env and "'wandb'" in env}
    assert on_wandb_only == {"agents", "report", "promote"}
    assert named["plan"] is None and named["comment"] is None
    for name in on_wandb_only:  # no environment at all for the local engine
        assert named[name].endswith("|| '' }}"), name
        assert "create" in wf["jobs"][name]["needs"], name


def _key_jobs(wf: dict) -> set[str]:
    """The jobs whose steps read the WANDB_API_KEY secret."""
    return {
        name
        for name, job in wf["jobs"].items()
        if any("secrets.WANDB_API_KEY" in str(step.get("env", {})) for step in job["steps"])
    }


def _gated_by_create(wf: dict, name: str) -> bool:
    """Whether a job runs only after the create job (directly or through another job)."""
    needs = wf["jobs"][name].get("needs", [])
    needs = [needs] if isinstance(needs, str) else needs
    return "create" in needs or any(_gated_by_create(wf, n) for n in needs if n != "plan")


def test_a_repository_key_makes_a_wandb_prod_sweep_one_review(tmp_path: Path) -> None:
    """`wandb-key: repository`: the key is a repository secret every job can read, so only
    the create job names the environment, and everything that reads the key waits for it."""
    project = "backend: wandb\nactions:\n  wandb-key: repository\n"
    wf = yaml.safe_load(render_in(tmp_path / "repo-key", project, {}))
    named = {name for name, job in wf["jobs"].items() if "environment" in job}
    assert named == {"create"}
    assert wf["jobs"]["create"]["environment"] == "${{ needs.plan.outputs.env }}"
    assert _key_jobs(wf) == {"create", "agents", "report", "promote"}
    for name in _key_jobs(wf) - {"create"}:
        assert _gated_by_create(wf, name), name
    # the default keeps the key in each environment: every job reading it names one
    default = yaml.safe_load(render_in(tmp_path / "env-key", "backend: wandb\n", {}))
    assert {n for n, job in default["jobs"].items() if "environment" in job} == _key_jobs(default)


def test_the_reusable_workflow_takes_where_the_key_is_from_its_caller(tmp_path: Path) -> None:
    from orchestrator.github.render_reusable import render_reusable_workflow

    reusable = yaml.safe_load(render_reusable_workflow())
    assert reusable[True]["workflow_call"]["inputs"]["wandb-key"]["default"] == "environment"
    for name in ("agents", "report", "promote"):
        assert reusable["jobs"][name]["environment"].startswith(
            "${{ inputs.wandb-key != 'repository' && "
        ), name
    caller = "actions:\n  reusable: acme/sweepci@" + "1" * 40 + "\n  wandb-key: repository\n"
    wf = yaml.safe_load(render_in(tmp_path / "caller", caller, {}))
    assert wf["jobs"]["sweep"]["with"]["wandb-key"] == "repository"
    plain = yaml.safe_load(
        render_in(tmp_path / "plain", "actions:\n  reusable: acme/sweepci@" + "1" * 40 + "\n", {})
    )
    assert "wandb-key" not in plain["jobs"]["sweep"]["with"]
