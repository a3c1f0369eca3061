"""`sweepci runs --commit REV`: any git revision, resolved by git, safely; and "more rows"."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from orchestrator.ci.revision import commit_filter, is_full_sha
from orchestrator.errors import UsageError
from tests.conftest import git, make_repo, sweepci

PROGRAM = (
    "import json, os\n"
    "open(os.environ['SWEEPCI_METRICS_FILE'], 'a').write(json.dumps({'metrics': {'f1': 0.5}}) + '\\n')\n"
)
SWEEP = "method: grid\nprogram: p.py\nmetric: {name: f1, goal: maximize}\nparameters:\n  x: {values: [1, 2]}\n"


def _runs(repo: Path, store: Path, *args: str) -> list[dict]:
    proc = sweepci("runs", "--store", str(store), "--json", *args, cwd=repo)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


@pytest.fixture(scope="module")
def two_commits(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, str, str]:
    """A repository with a sweep of two runs at each of two commits; the first is tagged v1."""
    root = tmp_path_factory.mktemp("runs-commit")
    repo = make_repo(root / "proj", branch="feature/x", files={"p.py": PROGRAM, "s.yaml": SWEEP})
    store = root / "store.db"
    first = git(repo, "rev-parse", "HEAD")
    git(repo, "tag", "v1")
    assert sweepci("run", "s.yaml", "--store", str(store), cwd=repo).returncode == 0
    (repo / "p.py").write_text(PROGRAM.replace("0.5", "0.7"))
    git(repo, "commit", "-qam", "better")
    second = git(repo, "rev-parse", "HEAD")
    assert sweepci("run", "s.yaml", "--store", str(store), cwd=repo).returncode == 0
    return repo, store, first, second


def test_runs_commit_takes_any_revision_git_knows(two_commits) -> None:
    repo, store, first, second = two_commits
    for revision, sha in [
        ("HEAD", second),
        ("HEAD~1", first),
        ("feature/x~1", first),
        ("v1", first),
        ("feature/x", second),
        (first[:9], first),
        (second, second),
    ]:
        found = _runs(repo, store, "--commit", revision)
        assert len(found) == 2 and {r["sha"] for r in found} == {sha}, revision


def test_runs_commit_refuses_unknown_revisions_and_option_injection(two_commits) -> None:
    repo, store, _first, _second = two_commits
    for bad in ["nosuchbranch", "HEAD~99", "--output=pwned", "-h", "v1:../x", "a" * 41]:
        proc = sweepci("runs", "--store", str(store), f"--commit={bad}", cwd=repo)
        assert proc.returncode == 2, (bad, proc.stdout, proc.stderr)
        assert proc.stderr.count("\n") == 1 and "Traceback" not in proc.stderr, bad
    assert not (repo / "pwned").exists()
    assert git(repo, "status", "--porcelain") == ""


def test_a_full_or_prefix_sha_of_a_commit_this_clone_lacks_still_finds_nothing_quietly(
    two_commits,
) -> None:
    repo, store, _first, _second = two_commits
    assert _runs(repo, store, "--commit", "f" * 40) == []
    assert _runs(repo, store, "--commit", "ffff0000") == []


def test_runs_says_when_more_rows_exist_than_shown(two_commits) -> None:
    repo, store, _first, _second = two_commits
    proc = sweepci("runs", "--store", str(store), "--limit", "3", cwd=repo)
    assert proc.returncode == 0, proc.stderr
    assert "3 of 4 runs shown; raise --limit to see more" in proc.stdout
    everything = sweepci("runs", "--store", str(store), cwd=repo)
    assert "of 4 runs shown" not in everything.stdout and "4 run(s)" in everything.stdout
    as_json = sweepci("runs", "--store", str(store), "--limit", "1", "--json", cwd=repo)
    assert len(json.loads(as_json.stdout)) == 1 and "1 of 4 runs shown" in as_json.stderr


def test_commit_filter_outside_a_repository(tmp_path: Path) -> None:
    assert commit_filter("ABCD12", tmp_path) == "abcd12"  # a prefix needs no repository
    with pytest.raises(UsageError, match="not inside a git repository"):
        commit_filter("HEAD", tmp_path)


def test_only_full_lowercase_hex_is_a_sha() -> None:
    assert is_full_sha("a" * 40) and is_full_sha("0" * 64)
    for bad in ["A" * 40, "a" * 39, "a" * 41, "--output=x" + "a" * 30, "a" * 39 + "\n", None, 7]:
        assert not is_full_sha(bad)
