"""Generated workflows: render, drift check, init, the plan job's input checks, and the
linters (actionlint, zizmor offline) over every workflow sweepci can render."""

from __future__ import annotations

import itertools
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from orchestrator.config.project import ProjectConfig, load_project
from orchestrator.github.jobplan import agent_slots
from orchestrator.github.pins import PINS
from orchestrator.github.render import branch_filter, detect_options, render_workflow
from tests.conftest import REPO_ROOT, clean_env, make_repo, sweepci

BIN = Path(sys.executable).parent
SWEEP = """\
name: tiny
program: train.py
method: grid
metric: {name: f1, goal: maximize}
parameters:
  dataset: {values: [wine, iris]}
  lr: {values: [0.1, 0.2]}
"""

# sweepci.yaml variants: defaults, this repository's, and unusual routing
PROJECTS = {
    "defaults": None,
    "this-repo": (REPO_ROOT / "sweepci.yaml").read_text(),
    "wandb-many-envs": """\
base: acme
environments:
  prod: {branches: [main, "release/*"]}
  staging: {branches: ["rc-?", "v[0-9]*"]}
  dev: {branches: ["feature/*", "fix+*", "!odd"]}
backend: wandb
agents: 4
python: "3.12"
sweep_file: sweeps/custom.yaml
workflow: sweeps.yml
""",
    "local-exact-branches": """\
environments:
  prod: {branches: [main]}
  dev: {branches: [develop]}
backend: local
agents: 8
""",
    "auto-one-env": "environments:\n  dev: {branches: ['*']}\nbackend: auto\n",
    "no-promote": "backend: local\npromote: false\n",
    # actions: settings (tests/test_workflow_settings.py checks what each renders)
    "gpu-self-hosted": """\
environments:
  prod: {branches: [main, "release/*"]}
  dev: {branches: ["*"]}
actions:
  runs-on: {group: sweepers, labels: [linux]}
  timeout-minutes: 20
  env: {HF_HOME: /cache/hf, EPOCHS: 3}
  push: {paths: ["src/**", "sweeps/**"]}
  agents:
    runs-on: [self-hosted, gpu]
    timeout-minutes: 240
    gpus: auto
    gpus-per-run: 2
    env: {DATA_DIR: data}
    setup:
      - name: Pull the data
        run: |
          dvc pull
          echo "it's $DATA_DIR" && ls "$DATA_DIR"
      - uses: iterative/setup-dvc@3dfff14c7df3c4eb6f02154d4a1da1a70d4a1e1b
        with: {version: "3.0"}
      - run: python -m pip install dvc
""",
    "manual-only-group": """\
backend: wandb
environments:
  prod: {branches: ["v[0-9]*"]}
  dev: {branches: ["*"]}
actions:
  triggers: [workflow_dispatch]
  wandb-key: repository
  agents:
    runs-on: {group: gpu-farm}
    gpus: "0,1"
""",
    "reusable-caller": """\
actions:
  reusable: acme/sweepci@1111111111111111111111111111111111111111
  runs-on: [self-hosted, linux]
  push: {paths: ["src/**"]}
  agents:
    runs-on: {group: gpu-farm, labels: [a100]}
    gpus: auto
    setup:
      - run: |
          dvc pull
          echo "it's done"
""",
    "push-only-branches": """\
actions:
  triggers: [push]
  push: {branches: [main, "exp/**"], paths-ignore: ["notebooks/**"]}
  agents: {runs-on: a100, timeout-minutes: 7200}
""",
}
# the repository around it: sweepci's own checkout, a user's with or without requirements.txt
REPO_KINDS = {
    "sweepci-source": {"pyproject.toml": '[project]\nname = "sweepci"\n'},
    "user-with-requirements": {"requirements.txt": "scikit-learn\n"},
    "user-bare": {},
}


def _lint_json(cmd: list[str]) -> list:
    proc = subprocess.run(
        cmd, capture_output=True, text=True, env=clean_env(PATH=f"{BIN}:{os.environ['PATH']}")
    )
    assert proc.returncode in (0, 1, 13, 14), proc.stderr  # zizmor exits 1x when it has findings
    return json.loads(proc.stdout or "[]")


ACTIONLINT_CONFIG = Path(__file__).parent / "actionlint.yaml"  # the variants' runner labels


def actionlint(files: list[Path]) -> list:
    return _lint_json(
        [str(BIN / "actionlint"), "-config-file", str(ACTIONLINT_CONFIG), "-format",
         "{{json .}}", *map(str, files)]
    )  # fmt: skip


def zizmor(files: list[Path]) -> list:
    return _lint_json(
        [str(BIN / "zizmor"), "--offline", "--no-progress", "--format", "json", *map(str, files)]
    )


def render_in(
    root: Path, project_text: str | None, files: dict[str, str], install: str | None = None
) -> str:
    """Render the workflow for a repository at `root` holding `files` and this sweepci.yaml."""
    root.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    project = ProjectConfig()
    if project_text is not None:
        (root / "sweepci.yaml").write_text(project_text)
        project = load_project(root / "sweepci.yaml")
    return render_workflow(project, detect_options(root, project, install))


@pytest.fixture(scope="module")
def every_rendering(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    """Every combination of project file and repository kind, rendered to its own file,
    plus `sweepci init` with each backend and a pip override."""
    out = tmp_path_factory.mktemp("rendered")
    files = []
    for (pname, ptext), (kname, kfiles) in itertools.product(PROJECTS.items(), REPO_KINDS.items()):
        text = render_in(out / f"src-{pname}-{kname}", ptext, kfiles)
        files.append(out / f"{pname}--{kname}.yml")
        files[-1].write_text(text)
    text = render_in(
        out / "src-install", None, {}, install="'sweepci[wandb]>=0.1' -c constraints.txt"
    )
    files.append(out / "install-override.yml")
    files[-1].write_text(text)
    for backend in ("auto", "local", "wandb"):
        repo = make_repo(out / f"init-{backend}", branch="main")
        sweepci("init", "--backend", backend, cwd=repo, check=True)
        files.append(repo / ".github" / "workflows" / "sweep.yml")
        files.append(repo / ".github" / "workflows" / "sweep-chatops.yml")  # /sweep comments
    return files


def test_actionlint_finds_nothing_in_any_rendered_workflow(every_rendering: list[Path]) -> None:
    assert actionlint(every_rendering) == []


def test_zizmor_finds_nothing_in_any_rendered_workflow(every_rendering: list[Path]) -> None:
    assert zizmor(every_rendering) == []


def test_linters_find_nothing_in_this_repositorys_workflows() -> None:
    workflows = sorted((REPO_ROOT / ".github" / "workflows").glob("*.yml"))
    assert {p.name for p in workflows} >= {"sweep.yml", "ci.yml"}
    assert actionlint(workflows) == []
    assert zizmor(workflows) == []


def test_every_action_is_pinned_to_a_full_sha_from_pins(every_rendering: list[Path]) -> None:
    known = {pin.ref for pin in PINS.values()}
    # a project's own setup steps (sweepci.yaml `actions.agents.setup`), pinned by SHA too
    setup = {
        "iterative/setup-dvc@3dfff14c7df3c4eb6f02154d4a1da1a70d4a1e1b",
        # the reusable-caller variant's job: sweepci's reusable workflow at a commit
        "acme/sweepci/.github/workflows/sweepci.yml@" + "1" * 40,
    }
    for path in [*every_rendering, *(REPO_ROOT / ".github" / "workflows").glob("*.yml")]:
        uses = {u.strip('"') for u in re.findall(r"uses:\s*(\S+)", path.read_text())}
        assert uses, path
        assert uses <= known | setup, (
            f"{path.name}: {uses - known} is not a pin from orchestrator/github/pins.py"
        )


def test_no_expression_is_interpolated_into_a_shell_script(every_rendering: list[Path]) -> None:
    for path in every_rendering:
        for job in yaml.safe_load(path.read_text())["jobs"].values():
            for step in job.get("steps", []):  # a caller's job has none
                assert "${{" not in step.get("run", ""), f"{path.name}: {step.get('name')}"


def test_the_workflow_follows_sweepci_yaml(tmp_path: Path) -> None:
    text = render_in(tmp_path, PROJECTS["wandb-many-envs"], {"sweeps/custom.yaml": SWEEP})
    wf = yaml.safe_load(text)
    on = wf[True]  # YAML 1.1 reads the key `on` as true
    assert on["push"]["branches"] == [
        "main",
        "release/**",
        "rc-**",
        "v[0-9]**",
        "feature/**",
        "fix\\+**",
        "\\!odd",
    ]
    inputs = on["workflow_dispatch"]["inputs"]
    assert inputs["count"]["default"] == 20
    assert inputs["dataset"]["options"] == ["wine", "iris"]
    assert inputs["sweep_file"]["default"] == "sweeps/custom.yaml"
    assert inputs["agents"]["default"] == 4
    assert inputs["backend"] == {
        **inputs["backend"],
        "options": ["auto", "local", "wandb"],
        "default": "wandb",
    }
    assert wf["permissions"] == {}
    assert wf["concurrency"]["group"] == "${{ github.workflow }}-${{ github.ref }}"
    # only the jobs that fetch main's previous store (the baseline) may read Actions artifacts,
    # and only the comment job may write to the pull request
    assert {name: job["permissions"] for name, job in wf["jobs"].items()} == {
        "plan": {"contents": "read"},
        "create": {"contents": "read"},
        "agents": {"contents": "read"},
        "report": {"contents": "read", "actions": "read"},
        "comment": {"contents": "read", "pull-requests": "write"},
        "promote": {"contents": "read", "actions": "read"},
    }
    assert wf["jobs"]["create"]["environment"] == "${{ needs.plan.outputs.env }}"
    assert wf["jobs"]["agents"]["environment"] == (
        "${{ needs.create.outputs.backend == 'wandb' && needs.plan.outputs.env || '' }}"
    )
    setup = wf["jobs"]["plan"]["steps"][1]["with"]
    assert setup == {"python-version": "3.12"}, (
        "release branches sweep prod: no shared pip cache there"
    )
    assert "sweepci[wandb]==0.1.0" in wf["jobs"]["plan"]["steps"][2]["run"]


def test_the_promote_job_runs_after_the_report_in_prod_only_when_enabled(tmp_path: Path) -> None:
    jobs = yaml.safe_load(render_in(tmp_path / "on", None, {}))["jobs"]
    promote = jobs["promote"]
    assert (
        promote["environment"] == "${{ needs.create.outputs.backend == 'wandb' && 'prod' || '' }}"
    )
    assert promote["needs"] == ["plan", "create", "report"]
    assert promote["if"] == (
        "needs.plan.outputs.env == 'prod' && github.event_name != 'pull_request'"
    )
    step = next(s for s in promote["steps"] if "sweepci promote" in s.get("run", ""))
    assert 'sweepci promote "$SWEEP_ID" --json --store .sweepci/sweepci.db' in step["run"]
    assert step["env"]["WANDB_API_KEY"] == "${{ secrets.WANDB_API_KEY }}"
    assert '"$GITHUB_STEP_SUMMARY"' in step["run"]
    for name, text in (("off", "promote: false\n"), ("no-prod", PROJECTS["auto-one-env"])):
        assert "promote" not in yaml.safe_load(render_in(tmp_path / name, text, {}))["jobs"]
    repo = make_repo(tmp_path / "bad", files={"sweepci.yaml": "promote: yes please\n"})
    proc = sweepci("workflow", "render", cwd=repo)
    assert proc.returncode == 2
    assert "sweepci.yaml:1:1: promote: must be true or false, not 'yes please'" in proc.stderr


def _prod_sweep(store, f1: float | None) -> str:
    """A finished prod sweep of one run with f1, which logged a model unless f1 is None."""
    from orchestrator.store import claims
    from orchestrator.store import runs as R
    from orchestrator.store.artifacts import record_artifact
    from orchestrator.store.blobs import FileEntry, add_blob

    config = {"method": "grid", "program": "p.py", "parameters": {"x": {"values": [1]}}}
    sweep = R.create_sweep(
        store,
        project="wine-quality-prod",
        method="grid",
        config=config,
        metric_name="f1",
        metric_goal="maximize",
        env="prod",
    )
    run = claims.claim_next_run(store, sweep.id, "a", lambda trials, sweep: {"x": 1})
    R.finish_run(
        store,
        run.id,
        state="finished",
        exit_code=0,
        reason=None,
        stderr_tail=None,
        summary={"f1": f1 or 0.1},
        metric_value=f1 or 0.1,
        history=[],
    )
    if f1 is not None:
        weights = store.root / f"weights-{f1}.json"
        weights.write_text(json.dumps({"f1": f1}))
        sha, size = add_blob(store, weights)
        record_artifact(
            store,
            name="wine-model",
            type="model",
            run_id=run.id,
            sweep_id=sweep.id,
            files=[FileEntry("model.json", size, sha)],
            metadata={"metrics": {"f1": f1}},
        )
    return sweep.id


def test_the_promote_step_keeps_a_better_model_quietly_and_fails_on_other_refusals(
    tmp_path: Path,
) -> None:
    from orchestrator.store import open_store

    repo = make_repo(tmp_path / "wine-quality", branch="main")
    with open_store(repo / ".sweepci" / "sweepci.db") as store:
        good, worse, nomodel = (
            _prod_sweep(store, 0.9),
            _prod_sweep(store, 0.5),
            _prod_sweep(store, None),
        )
    env = clean_env(PATH=f"{BIN}:{os.environ['PATH']}")
    assert (
        sweepci("promote", good, "--store", ".sweepci/sweepci.db", cwd=repo, env=env).returncode
        == 0
    )
    wf = yaml.safe_load((REPO_ROOT / ".github" / "workflows" / "sweep.yml").read_text())
    script = next(
        s["run"] for s in wf["jobs"]["promote"]["steps"] if "sweepci promote" in s.get("run", "")
    )

    def step(sweep_id: str) -> tuple[subprocess.CompletedProcess, str]:
        summary = tmp_path / f"summary-{sweep_id}.md"
        proc = subprocess.run(
            [
                "bash",
                "--noprofile",
                "--norc",
                "-eo",
                "pipefail",
                "-c",
                script,
            ],  # GitHub's `shell: bash`
            cwd=repo,
            capture_output=True,
            text=True,
            env={
                **env,
                "SWEEP_ID": sweep_id,
                "GITHUB_STEP_SUMMARY": str(summary),
                "RUNNER_TEMP": str(tmp_path),
            },
        )
        return proc, summary.read_text() if summary.exists() else ""

    kept, summary = step(worse)
    assert kept.returncode == 0, kept.stderr
    assert kept.stdout.startswith("::notice title=Not promoted::wine-model:v1 (run ")
    assert "worse than the current production wine-model:v0" in summary and "0.5 vs 0.9" in summary
    shown = sweepci(
        "artifacts",
        "show",
        "wine-model:production",
        "--store",
        ".sweepci/sweepci.db",
        "--json",
        cwd=repo,
        env=env,
    )
    assert json.loads(shown.stdout)["artifact"]["label"] == "wine-model:v0"

    failed, summary = step(nomodel)
    assert failed.returncode == 2
    assert "logged no model artifact" in failed.stderr and summary == ""


def test_pip_cache_is_keyed_by_the_files_that_decide_the_install(tmp_path: Path) -> None:
    wf = yaml.safe_load(
        render_in(tmp_path, None, {"requirements.txt": "numpy\n", "pyproject.toml": ""})
    )
    for job in wf["jobs"].values():
        setup = job["steps"][1]["with"]
        assert (setup["python-version"], setup["cache"]) == ("3.11", "pip")
        assert setup["cache-dependency-path"].split() == [
            "requirements.txt",
            "pyproject.toml",
            ".github/workflows/sweep.yml",
        ]
        assert (
            job["steps"][2]["run"]
            == "python -m pip install 'sweepci[wandb]==0.1.0' -r requirements.txt"
        )


@pytest.mark.parametrize(
    ("pattern", "expected"),
    [
        ("main", "main"),
        ("*", "**"),
        ("release/*", "release/**"),
        ("feat-?", "feat-**"),
        ("a+b", "a\\+b"),
        ("!x", "\\!x"),
    ],
)
def test_branch_patterns_become_github_filters_that_match_at_least_as_much(
    pattern: str, expected: str
) -> None:
    assert branch_filter(pattern) == expected


def test_runs_are_shared_among_agents_without_idle_agents() -> None:
    assert [(s.index, s.of, s.count) for s in agent_slots(7, 3)] == [
        (1, 3, 3),
        (2, 3, 2),
        (3, 3, 2),
    ]
    assert [(s.index, s.of, s.count) for s in agent_slots(2, 5)] == [(1, 2, 1), (2, 2, 1)]


def test_this_repositorys_sweep_workflow_has_not_drifted() -> None:
    proc = sweepci("workflow", "check", cwd=REPO_ROOT)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "up to date" in proc.stdout


def test_check_prints_a_diff_and_exits_1_when_the_workflow_drifted(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "demo", files={"sweepci.yaml": "agents: 2\n"})
    sweepci("workflow", "render", cwd=repo, check=True)
    assert sweepci("workflow", "check", cwd=repo).returncode == 0
    (repo / "sweepci.yaml").write_text("agents: 3\n")

    proc = sweepci("workflow", "check", cwd=repo)

    assert proc.returncode == 1
    assert "-        default: 2\n+        default: 3\n" in proc.stdout
    assert proc.stdout.startswith("--- .github/workflows/sweep.yml (committed)")
    assert "drifted from sweepci.yaml; run `sweepci workflow render`" in proc.stderr


def test_check_without_a_workflow_says_how_to_make_one(tmp_path: Path) -> None:
    proc = sweepci("workflow", "check", cwd=make_repo(tmp_path / "demo"))
    assert proc.returncode == 2
    assert "sweepci workflow render" in proc.stderr


def test_render_writes_where_asked_or_to_stdout(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "demo")
    assert (
        sweepci("workflow", "render", "-o", "out/wf.yml", cwd=repo, check=True).stdout
        == "wrote out/wf.yml\n"
    )
    printed = sweepci("workflow", "render", "-o", "-", cwd=repo, check=True).stdout
    assert printed == (repo / "out" / "wf.yml").read_text()
    assert printed.startswith("# Generated by sweepci")


def test_init_scaffolds_a_project_whose_workflow_checks_clean(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "wine-quality")

    proc = sweepci("init", "--backend", "local", cwd=repo, check=True)

    for name in ("sweepci.yaml", ".github/workflows/sweep.yml", "sweeps/wine.yaml", "train.py"):
        assert f"created   {name}" in proc.stdout
    project = load_project(repo / "sweepci.yaml")
    assert (project.base, project.backend, project.sweep_file) == (
        "wine-quality",
        "local",
        "sweeps/wine.yaml",
    )
    assert sweepci("validate", "sweeps/wine.yaml", cwd=repo).returncode == 0
    assert sweepci("workflow", "check", cwd=repo).returncode == 0


def test_init_never_replaces_files_without_force_and_keeps_the_users_sweep(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "demo", files={"sweeps/wine.yaml": SWEEP})
    sweepci("init", cwd=repo, check=True)
    assert (repo / "sweeps/wine.yaml").read_text() == SWEEP
    assert not (repo / "train.py").exists(), "an existing sweep brings its own program"
    (repo / "sweepci.yaml").write_text("agents: 5\n")

    again = sweepci("init", cwd=repo)

    assert again.returncode == 2
    assert (
        "sweepci.yaml, .github/workflows/sweep.yml, .github/workflows/sweep-chatops.yml "
        "already exists; pass --force" in again.stderr
    )
    assert (repo / "sweepci.yaml").read_text() == "agents: 5\n"

    forced = sweepci("init", "--force", cwd=repo, check=True)
    assert (
        "replaced  sweepci.yaml" in forced.stdout and "kept      sweeps/wine.yaml" in forced.stdout
    )
    assert "agents: 1" in (repo / "sweepci.yaml").read_text()
    assert (repo / "sweeps/wine.yaml").read_text() == SWEEP


def _plan(repo: Path, *args: str, **env: str) -> subprocess.CompletedProcess:
    return sweepci("workflow", "plan", *args, cwd=repo, env=clean_env(**env))


@pytest.fixture
def plan_repo(tmp_path: Path) -> Path:
    return make_repo(
        tmp_path / "wine-quality",
        branch="feature/x",
        files={"sweeps/wine.yaml": SWEEP, "train.py": ""},
    )


def test_plan_writes_the_matrix_and_defaults_as_step_outputs(
    plan_repo: Path, tmp_path: Path
) -> None:
    out, summary = tmp_path / "output", tmp_path / "summary"
    actions = {
        "GITHUB_ACTIONS": "true",
        "GITHUB_REF": "refs/heads/feature/x",
        "GITHUB_REF_NAME": "feature/x",
        "GITHUB_EVENT_NAME": "workflow_dispatch",
        "GITHUB_SHA": "a" * 40,
        "GITHUB_RUN_ID": "77",
        "GITHUB_RUN_ATTEMPT": "2",
        "GITHUB_OUTPUT": str(out),
        "GITHUB_STEP_SUMMARY": str(summary),
    }

    proc = _plan(
        plan_repo,
        "--count",
        "7",
        "--agents",
        "3",
        "--dataset",
        "iris",
        "--sweep-file",
        "",
        "--backend",
        "",
        **actions,
    )

    assert proc.returncode == 0, proc.stderr
    text = out.read_text()
    assert re.search(
        r'matrix<<\S+\n\[\{"index":1,"shard":"1/3","count":3\},\{"index":2,"shard":"2/3","count":2\},'
        r'\{"index":3,"shard":"3/3","count":2\}\]\n',
        text,
    )
    for name, value in (
        ("sweep-file", "sweeps/wine.yaml"),
        ("dataset", "iris"),
        ("backend", "auto"),
        ("local-sweep-id", "gh-77-2"),
        ("count", "7"),
    ):
        assert re.search(rf"{name}<<\S+\n{re.escape(value)}\n", text), name
    assert "7 run(s), 3 agent(s)" in summary.read_text()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["--sweep-file", 'x"; touch /tmp/sweepci-pwned; echo "'],
            "no such file in the repository",
        ),
        (["--sweep-file", "../outside.yaml"], "points outside the repository"),
        (["--sweep-file", "/etc/passwd"], "must be relative to the repository root"),
        (["--count", "3; rm -rf ~"], "input count must be a whole number from 1 to 10000"),
        (["--count", "2.5"], "input count must be a whole number"),
        (["--agents", "300"], "input agents must be a whole number from 1 to 256"),
        (["--dataset", "$(id)"], "input dataset '$(id)'"),
        (["--backend", "gpu"], "input backend must be one of auto, local, wandb"),
    ],
)
def test_plan_refuses_bad_inputs_with_exit_2_and_an_annotation(
    plan_repo: Path, args: list[str], message: str
) -> None:
    proc = _plan(plan_repo, *args, GITHUB_ACTIONS="true")
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert message in proc.stderr
    assert proc.stdout.startswith("::error"), "GitHub shows the error on the run page"
    assert not Path("/tmp/sweepci-pwned").exists()


def test_plan_refuses_a_dataset_for_a_sweep_without_that_parameter(tmp_path: Path) -> None:
    repo = make_repo(
        tmp_path / "demo",
        files={"s.yaml": SWEEP.replace("  dataset: {values: [wine, iris]}\n", "")},
    )
    proc = _plan(repo, "--sweep-file", "s.yaml", "--dataset", "iris")
    assert proc.returncode == 2
    assert "dataset" in proc.stderr


@pytest.mark.parametrize(
    ("requested", "key", "code", "said"),
    [
        ("auto", "", 0, "backend local"),
        ("auto", "k" * 40, 0, "backend wandb"),
        ("local", "k" * 40, 0, "backend local"),
        ("wandb", "", 2, "backend wandb needs WANDB_API_KEY"),
    ],
)
def test_backend_is_chosen_once_from_the_environments_secret(
    tmp_path: Path, requested, key, code, said
) -> None:
    out = tmp_path / "output"
    env = {"GITHUB_OUTPUT": str(out)} | ({"WANDB_API_KEY": key} if key else {})
    proc = sweepci("workflow", "backend", requested, cwd=tmp_path, env=clean_env(**env))
    assert proc.returncode == code
    assert said in proc.stdout + proc.stderr
    if code == 0:
        assert re.search(r"backend<<\S+\n(local|wandb)\n", out.read_text())
    assert key == "" or key not in proc.stdout + proc.stderr


@pytest.mark.slow
def test_templates_ship_in_a_non_editable_install(tmp_path: Path) -> None:
    """`pip install .` into a fresh venv, then render from outside any source tree."""
    source = tmp_path / "src"
    for name in ("pyproject.toml", "README.md"):
        (source / name).parent.mkdir(parents=True, exist_ok=True)
        (source / name).write_text((REPO_ROOT / name).read_text())
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    for tree in ("orchestrator", "templates"):
        shutil.copytree(REPO_ROOT / tree, source / tree, ignore=ignore)
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    python = venv / "bin" / "python"
    env = clean_env()
    env.pop("PYTHONPATH")
    install = subprocess.run(
        [str(python), "-m", "pip", "install", "-q", "--no-deps", str(source)],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
    )
    assert install.returncode == 0, install.stderr
    # dependencies come from the environment running the tests; sweepci itself only from the new venv
    site = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    deps = subprocess.run(
        [sys.executable, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    Path(site, "zz_test_dependencies.pth").write_text(deps + "\n")
    outside = make_repo(tmp_path / "elsewhere", files={"sweepci.yaml": "agents: 3\n"})

    where = subprocess.run(
        [str(python), "-c", "import orchestrator; print(orchestrator.__file__)"],
        capture_output=True,
        text=True,
        env=env,
        cwd=outside,
        check=True,
    ).stdout
    rendered = subprocess.run(
        [str(venv / "bin" / "sweepci"), "workflow", "render", "-o", "-"],
        capture_output=True,
        text=True,
        env=env,
        cwd=outside,
    )

    assert where.startswith(site), where
    assert rendered.returncode == 0, rendered.stderr
    assert "default: 3" in rendered.stdout and PINS["checkout"].ref in rendered.stdout
    initialised = subprocess.run(
        [str(venv / "bin" / "sweepci"), "init", "--force"],
        capture_output=True,
        text=True,
        env=env,
        cwd=outside,
    )
    assert initialised.returncode == 0, initialised.stderr
    assert (outside / "train.py").is_file()
