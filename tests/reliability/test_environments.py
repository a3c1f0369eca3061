"""Mixing environments: dev never reaches prod through a merge, a promotion or a dirty tree.

- `merge` refuses a source whose sweep id the output (or another source)
  holds with another env or project, and a source whose run's env is not
  its sweep's: one line naming the file, exit 2, the output untouched.
- `promote` refuses a prod sweep whose best run is a dev run.
- The prod guard counts untracked files (not ignored by git; sweepci's own
  `.sweepci/` aside) as changes, locally and in GitHub Actions, where
  `--allow-dirty` does not lift it: code that was never committed never
  sweeps prod under a sha that lacks it.
"""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

import pytest

from tests.conftest import clean_env, make_repo, sweepci
from tests.reliability.helpers import assert_one_line_error, changes, snapshot

PROGRAM = "import json, os\nopen(os.environ['SWEEPCI_METRICS_FILE'], 'a').write(json.dumps({'metrics': {'v': 1.0}}) + '\\n')\n"
SWEEP = "method: grid\nprogram: p.py\nmetric: {name: v}\nparameters:\n  x: {values: [1, 2]}\n"
STORE = ".sweepci/sweepci.db"


def _swept(root: Path, branch: str, sweep_id: str = "same") -> Path:
    repo = make_repo(root, branch=branch, files={"p.py": PROGRAM, "s.yaml": SWEEP})
    done = sweepci(
        "run", "s.yaml", "--backend", "local", "--sweep-id", sweep_id, "--quiet", cwd=repo
    )
    assert done.returncode == 0, done.stderr
    return repo


@pytest.fixture(scope="module")
def stores(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A prod sweep `same` (branch main) and a dev sweep with the same id (feature/x)."""
    root = tmp_path_factory.mktemp("envs")
    prod = _swept(root / "prod", "main")
    dev = _swept(root / "dev", "feature/x")
    return {"prod": prod / STORE, "dev": dev / STORE, "prod_repo": prod}


def _set(store: Path, sql: str) -> None:
    conn = sqlite3.connect(store)
    conn.execute(sql)
    conn.commit()
    conn.close()


def _case(stores: dict[str, Path], tmp_path: Path) -> Path:
    case = tmp_path / "case"
    case.mkdir()
    shutil.copy(stores["prod"], case / "prod.db")
    shutil.copy(stores["dev"], case / "dev.db")
    return case


MERGES = {
    # name: (tampering of the copies, merge argv)
    "dev_sweep_into_prod_sweep": (None, ["merge", "dev.db", "-o", "prod.db"]),
    "prod_sweep_into_dev_sweep": (None, ["merge", "prod.db", "-o", "dev.db"]),
    "two_sources_disagree": (None, ["merge", "prod.db", "dev.db", "-o", "new/merged.db"]),
    "same_env_other_project": (
        lambda c: _set(c / "dev.db", "UPDATE sweeps SET env = 'prod', project = 'elsewhere-prod'"),
        ["merge", "dev.db", "-o", "prod.db"],
    ),
    "dev_run_inside_a_prod_sweep": (
        lambda c: (
            _set(c / "dev.db", "UPDATE sweeps SET id = 'other', env = 'prod'"),
            _set(c / "dev.db", "UPDATE runs SET sweep_id = 'other'"),
        ),
        ["merge", "dev.db", "-o", "prod.db"],
    ),
    "dev_run_into_the_outputs_prod_sweep": (
        lambda c: (
            _set(c / "dev.db", "DELETE FROM sweeps"),
            _set(c / "dev.db", "UPDATE runs SET id = id || '-x'"),
        ),
        ["merge", "dev.db", "-o", "prod.db"],
    ),
}


@pytest.mark.parametrize("name", sorted(MERGES))
def test_merge_never_mixes_environments(
    name: str, stores: dict[str, Path], tmp_path: Path, cli, figures
) -> None:
    case = _case(stores, tmp_path)
    tamper, argv = MERGES[name]
    if tamper:
        tamper(case)
    before = snapshot(tmp_path)

    line = assert_one_line_error(cli.run(*argv, cwd=case))

    assert ".db" in line and ("environment" in line or "project" in line), line
    assert changes(before, snapshot(tmp_path)) == []
    figures(bad_inputs=1, bad_input_tracebacks=0, bad_input_writes=0)


def test_merge_of_one_environment_still_works(stores: dict[str, Path], tmp_path: Path, cli):
    case = _case(stores, tmp_path)
    done = cli.run("merge", "prod.db", "-o", "again.db", cwd=case)
    assert done.returncode == 0, done.stderr


def test_promote_refuses_a_dev_run_in_a_prod_sweep(
    stores: dict[str, Path], tmp_path: Path, cli, figures
) -> None:
    repo = tmp_path / "repo"
    shutil.copytree(stores["prod_repo"], repo, symlinks=True)
    _set(repo / STORE, "UPDATE runs SET env = 'dev'")
    before = snapshot(tmp_path)

    line = assert_one_line_error(cli.run("promote", "same", "--store", STORE, cwd=repo))

    assert "only runs of the prod environment" in line, line
    assert changes(before, snapshot(tmp_path)) == []
    figures(bad_inputs=1, bad_input_tracebacks=0, bad_input_writes=0)


def _actions(repo: Path, **extra: str) -> dict[str, str]:
    return clean_env(
        GITHUB_ACTIONS="true",
        GITHUB_EVENT_NAME="push",
        GITHUB_REF="refs/heads/main",
        GITHUB_REF_NAME="main",
        GITHUB_SHA="a" * 40,
        GITHUB_REPOSITORY="acme/wine-quality",
        GITHUB_WORKSPACE=str(repo),
        **extra,
    )


def _untracked_module(repo: Path) -> None:
    (repo / "helpers.py").write_text("LR = 0.1  # never committed\n")


def _changed_program(repo: Path) -> None:
    (repo / "p.py").write_text(PROGRAM + "# changed after the checkout\n")


def _untracked_dir(repo: Path) -> None:
    (repo / "data").mkdir()
    (repo / "data" / "train.csv").write_text("a,b\n")


DIRTY = {"untracked_module": _untracked_module, "changed_program": _changed_program,
         "untracked_directory": _untracked_dir}  # fmt: skip
WHERE = {
    "local": ([], lambda repo: None),
    "local_allow_dirty_is_recorded": (["--allow-dirty"], lambda repo: None),
    "actions": ([], _actions),
    "actions_allow_dirty": (["--allow-dirty"], _actions),
}
GUARD_PARAMS = [(d, w) for d in DIRTY for w in WHERE]


@pytest.mark.parametrize(
    ("dirty", "where"), GUARD_PARAMS, ids=[f"{d}-{w}" for d, w in GUARD_PARAMS]
)
def test_the_prod_guard_counts_untracked_files_locally_and_in_actions(
    dirty: str, where: str, tmp_path: Path, cli, figures
) -> None:
    repo = make_repo(
        tmp_path / "wine-quality", branch="main", files={"p.py": PROGRAM, "s.yaml": SWEEP}
    )
    DIRTY[dirty](repo)
    extra, env_of = WHERE[where]
    before = snapshot(tmp_path)

    done = cli.run("create", "s.yaml", "--backend", "local", *extra, cwd=repo, env=env_of(repo))

    if where == "local_allow_dirty_is_recorded":
        assert done.returncode == 0, done.stderr  # a laptop may, and it is recorded
        return
    line = assert_one_line_error(done, only_sweepci_lines=False)
    assert "refusing to write to prod" in line, line
    assert changes(before, snapshot(tmp_path)) == []
    figures(bad_inputs=1, bad_input_tracebacks=0, bad_input_writes=0)


def test_sweepcis_own_area_is_not_a_change(tmp_path: Path, cli) -> None:
    repo = make_repo(
        tmp_path / "wine-quality", branch="main", files={"p.py": PROGRAM, "s.yaml": SWEEP}
    )
    (repo / ".gitignore").write_text("wandb/\n")  # .sweepci/ not even ignored
    import subprocess

    subprocess.run(["git", "commit", "-qam", "no ignore"], cwd=repo, check=True, env=clean_env(
        GIT_AUTHOR_NAME="t", GIT_AUTHOR_EMAIL="t@e", GIT_COMMITTER_NAME="t", GIT_COMMITTER_EMAIL="t@e"))  # fmt: skip
    (repo / ".sweepci").mkdir()
    (repo / ".sweepci" / "baseline.db").write_text("x")
    for env in (None, _actions(repo)):
        done = cli.run("create", "s.yaml", "--backend", "local", cwd=repo, env=env)
        assert done.returncode == 0, done.stderr
