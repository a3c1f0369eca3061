"""`sweepci init` in a repository that is not sweepci's: routing, .gitignore, the team's
own files, the install spec of sweepci.yaml, and the dispatch inputs from the sweep."""

from __future__ import annotations

import json
import shlex
from pathlib import Path

import pytest
import yaml

from orchestrator.config.install import split_install
from orchestrator.config.project import load_project
from tests.conftest import clean_env, git, make_repo, sweepci

DIGITS_SWEEP = """\
program: src/fit.py
method: random
metric: {name: val/f1, goal: maximize}
parameters:
  C: {distribution: log_uniform_values, min: 0.01, max: 10.0}
"""
FIT = "import wandb\nrun = wandb.init()\n"


def team_repo(path: Path, **files: str) -> Path:
    """A team's repository on main with its own sweep and script, origin acme/digits-lab."""
    content = {"sweeps/digits.yaml": DIGITS_SWEEP, "src/fit.py": FIT, **files}
    repo = make_repo(path, branch="main", files=content, remote=None)
    (repo / ".gitignore").unlink()  # a team that has never heard of sweepci
    git(repo, "commit", "-qam", "no ignores")
    git(repo, "remote", "add", "origin", "git@github.com:acme/digits-lab.git")
    return repo


def _context(repo: Path) -> dict:
    return json.loads(sweepci("context", "--json", cwd=repo, check=True).stdout)


def _workflow(repo: Path) -> dict:
    return yaml.safe_load((repo / ".github/workflows/sweep.yml").read_text())


def test_init_routes_main_to_prod_and_other_branches_to_dev(tmp_path: Path) -> None:
    repo = team_repo(tmp_path / "checkout")

    init = sweepci("init", cwd=repo, check=True)
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "adopt sweepci")

    assert (_context(repo)["env"], _context(repo)["project"]) == ("prod", "digits-lab-prod")
    assert load_project(repo / "sweepci.yaml").environments[0].branches == ["main"]
    git(repo, "checkout", "-qb", "feature/lr")
    assert (_context(repo)["env"], _context(repo)["project"]) == ("dev", "digits-lab-dev")
    # base is the origin remote's name, not the checkout directory's
    assert "checkout" not in (repo / "sweepci.yaml").read_text()
    assert "created   .gitignore" in init.stdout


def test_init_keeps_the_teams_sweep_and_script_and_ignores_the_store(tmp_path: Path) -> None:
    repo = team_repo(tmp_path / "digits-lab")

    init = sweepci("init", cwd=repo, check=True)

    assert "kept      sweeps/digits.yaml" in init.stdout and "kept      src/fit.py" in init.stdout
    assert (repo / "sweeps/digits.yaml").read_text() == DIGITS_SWEEP
    assert not (repo / "train.py").exists() and not (repo / "sweeps/wine.yaml").exists()
    assert load_project(repo / "sweepci.yaml").sweep_file == "sweeps/digits.yaml"
    for ignored in (".sweepci/sweepci.db", "wandb/run-1"):
        git(repo, "check-ignore", "-q", ignored)  # raises when not ignored
    git(repo, "add", "-A")
    (repo / ".sweepci").mkdir()
    (repo / ".sweepci" / "sweepci.db").write_bytes(b"x")
    assert ".sweepci" not in git(repo, "status", "--porcelain")
    assert sweepci("workflow", "check", cwd=repo).returncode == 0


def test_init_appends_to_an_existing_gitignore_and_never_overwrites_without_force(
    tmp_path: Path,
) -> None:
    repo = team_repo(tmp_path / "digits-lab")
    (repo / ".gitignore").write_text("*.ckpt")
    sweepci("init", cwd=repo, check=True)
    assert (repo / ".gitignore").read_text().startswith("*.ckpt\n")
    (repo / "sweepci.yaml").write_text("agents: 3\n")

    again = sweepci("init", cwd=repo)

    assert again.returncode == 2 and "pass --force" in again.stderr
    assert (repo / "sweepci.yaml").read_text() == "agents: 3\n"
    forced = sweepci("init", "--force", cwd=repo, check=True)
    assert "replaced  sweepci.yaml" in forced.stdout and ".gitignore" not in forced.stdout
    assert (repo / "sweeps/digits.yaml").read_text() == DIGITS_SWEEP


def test_init_without_a_sweep_writes_one_for_the_teams_script(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "lab", files={"model/train_net.py": FIT}, remote=None)

    init = sweepci("init", cwd=repo, check=True)

    assert (
        "created   sweeps/wine.yaml" in init.stdout
        and "kept      model/train_net.py" in init.stdout
    )
    assert "program: model/train_net.py" in (repo / "sweeps/wine.yaml").read_text()
    assert not (repo / "train.py").exists()


def test_a_sweep_without_a_dataset_parameter_gets_no_dataset_input_and_no_pin(
    tmp_path: Path,
) -> None:
    repo = team_repo(tmp_path / "digits-lab")
    sweepci("init", cwd=repo, check=True)

    wf = _workflow(repo)

    assert "dataset" not in wf[True]["workflow_dispatch"]["inputs"]
    plan = next(s for s in wf["jobs"]["plan"]["steps"] if s.get("id") == "plan")
    assert "DATASET" not in plan["env"] and "--dataset" not in plan["run"]
    assert "dataset" not in wf["jobs"]["plan"]["outputs"]
    assert "dataset" not in (repo / ".github/workflows/sweep.yml").read_text().lower()
    refused = sweepci("workflow", "plan", "--dataset", "wine", cwd=repo, env=clean_env())
    assert refused.returncode == 2
    assert "sweeps/digits.yaml has no `dataset` parameter" in refused.stderr


def test_the_dataset_choices_are_the_sweeps_own_values_or_the_projects_list(
    tmp_path: Path,
) -> None:
    sweep = DIGITS_SWEEP + "  dataset: {values: [digits, breast]}\n"
    repo = team_repo(tmp_path / "digits-lab", **{"sweeps/digits.yaml": sweep})
    sweepci("init", cwd=repo, check=True)
    dataset = _workflow(repo)[True]["workflow_dispatch"]["inputs"]["dataset"]
    assert (dataset["options"], dataset["default"]) == (["digits", "breast"], "digits")
    env = clean_env()
    git(repo, "checkout", "-qb", "feature/x")
    assert sweepci("workflow", "plan", "--dataset", "breast", cwd=repo, env=env).returncode == 0
    wine = sweepci("workflow", "plan", "--dataset", "wine", cwd=repo, env=env)
    assert wine.returncode == 2
    assert "input dataset 'wine' is not one of digits, breast (sweeps/digits.yaml)" in wine.stderr

    with (repo / "sweepci.yaml").open("a") as fh:
        fh.write("datasets: [breast]\n")
    assert sweepci("workflow", "check", cwd=repo).returncode == 1, "the choices changed"
    sweepci("workflow", "render", cwd=repo, check=True)
    assert _workflow(repo)[True]["workflow_dispatch"]["inputs"]["dataset"]["options"] == ["breast"]
    refused = sweepci("workflow", "plan", "--dataset", "digits", cwd=repo, env=env)
    assert "is not one of breast (`datasets` of sweepci.yaml)" in refused.stderr


def _install_lines(wf: dict) -> list[str]:
    return [
        step["run"]
        for job in wf["jobs"].values()
        for step in job["steps"]
        if step.get("name") == "Install sweepci"
    ]


GIT_REF = "sweepci[wandb] @ git+https://github.com/acme/sweepci@" + "a" * 40


def test_install_of_sweepci_yaml_reaches_every_job_and_check_respects_it(tmp_path: Path) -> None:
    repo = team_repo(tmp_path / "digits-lab")
    sweepci("init", "--install", GIT_REF, cwd=repo, check=True)

    assert load_project(repo / "sweepci.yaml").install == [GIT_REF]
    wf = _workflow(repo)
    lines = _install_lines(wf)
    assert len(lines) == len(wf["jobs"]) == 5  # plan, create, agents, report, comment
    for line in lines:
        assert shlex.split(line) == ["python", "-m", "pip", "install", GIT_REF]
    assert sweepci("workflow", "check", cwd=repo).returncode == 0
    sweepci("workflow", "render", cwd=repo, check=True)
    assert _install_lines(_workflow(repo)) == lines, "render writes the same install back"


def test_the_default_install_is_the_released_version(tmp_path: Path) -> None:
    from orchestrator import __version__

    repo = team_repo(tmp_path / "digits-lab", **{"requirements.txt": "scikit-learn\n"})
    sweepci("init", cwd=repo, check=True)

    for line in _install_lines(_workflow(repo)):
        assert shlex.split(line)[4:] == [f"sweepci[wandb]=={__version__}", "-r", "requirements.txt"]


@pytest.mark.parametrize(
    ("text", "args"),
    [
        (GIT_REF, [GIT_REF]),
        (
            "sweepci[wandb]@ git+https://x/y@v1 -r req.txt",
            ["sweepci[wandb] @ git+https://x/y@v1", "-r", "req.txt"],
        ),
        ("sweepci @git+https://x/y", ["sweepci @ git+https://x/y"]),
        (
            "'sweepci[wandb]>=0.1' -c constraints.txt",
            ["sweepci[wandb]>=0.1", "-c", "constraints.txt"],
        ),
        ("sweepci[wandb]@git+https://x/y@v1", ["sweepci[wandb]@git+https://x/y@v1"]),
    ],
)
def test_a_pep508_direct_reference_stays_one_pip_argument(text: str, args: list[str]) -> None:
    assert split_install(text) == args


@pytest.mark.parametrize(
    ("value", "said"),
    [
        ("install: []\n", "needs at least one pip argument"),
        ("install: {a: 1}\n", "must be pip arguments"),
        ('install: ["sweepci ${{ github.event.issue.title }}"]\n', "`${{`"),
        ("datasets: [wine, 'a b']\n", "a dataset name is letters"),
    ],
)
def test_bad_install_or_datasets_is_one_line_naming_the_key(
    tmp_path: Path, value: str, said: str
) -> None:
    repo = make_repo(tmp_path / "demo", files={"sweepci.yaml": value})
    proc = sweepci("workflow", "render", cwd=repo)
    assert proc.returncode == 2
    assert proc.stderr.startswith("sweepci: error: ") and "sweepci.yaml:1:" in proc.stderr
    assert proc.stderr.count("\n") == 1
    assert said in proc.stderr and "Traceback" not in proc.stderr
    assert not (repo / ".github").exists()


def test_the_dirty_tree_refusal_names_the_paths_and_the_store_never_counts(
    tmp_path: Path,
) -> None:
    repo = team_repo(tmp_path / "digits-lab")
    sweepci("init", cwd=repo, check=True)
    # a team that committed the store before it was ignored
    (repo / ".sweepci").mkdir()
    (repo / ".sweepci" / "sweepci.db").write_bytes(b"old")
    git(repo, "add", "-A")
    git(repo, "add", "-f", ".sweepci/sweepci.db")
    git(repo, "commit", "-qm", "adopt sweepci")
    (repo / ".sweepci" / "sweepci.db").write_bytes(b"changed by a run")
    assert _context(repo)["dirty"] is False, "the store is never a change to the code"

    (repo / "src" / "fit.py").write_text(FIT + "# tweak\n")
    (repo / "notes.txt").write_text("try C=3\n")
    proc = sweepci("run", "sweeps/digits.yaml", "--count", "1", cwd=repo)

    assert proc.returncode == 2
    line = proc.stderr.strip()
    assert "refusing to write to prod (digits-lab-prod)" in line
    assert "uncommitted changes or untracked files (src/fit.py, notes.txt)" in line


def test_dispatch_checks_the_dataset_against_the_same_choices(tmp_path: Path) -> None:
    from orchestrator.errors import UsageError
    from orchestrator.github.dispatch import load_dispatch_inputs, validate_inputs

    sweep = DIGITS_SWEEP + "  dataset: {values: [digits, breast]}\n"
    with_datasets = team_repo(tmp_path / "a", **{"sweeps/digits.yaml": sweep})
    without = team_repo(tmp_path / "b")
    for repo in (with_datasets, without):
        sweepci("init", cwd=repo, check=True)

    declared = load_dispatch_inputs(with_datasets / ".github/workflows/sweep.yml")
    assert validate_inputs({"dataset": "breast"}, declared, "sweep.yml") == {"dataset": "breast"}
    with pytest.raises(UsageError, match="must be one of digits, breast; got 'wine'"):
        validate_inputs({"dataset": "wine"}, declared, "sweep.yml")
    declared = load_dispatch_inputs(without / ".github/workflows/sweep.yml")
    with pytest.raises(UsageError, match="declares no input 'dataset'"):
        validate_inputs({"dataset": "digits"}, declared, "sweep.yml")
