"""CI context, routing, tags and the prod guard, from real git repositories and event payloads."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import clean_env, git, make_repo, sweepci

HEAD_SHA = "a" * 40
MERGE_SHA = "b" * 40


def _context(cwd: Path, env: dict[str, str] | None = None, *args: str) -> dict:
    proc = sweepci("context", "--json", *args, cwd=cwd, env=env or clean_env())
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def _actions_env(tmp_path: Path, event: str, payload: dict, **extra: str) -> dict[str, str]:
    path = tmp_path / f"{event}.json"
    path.write_text(json.dumps(payload))
    base = dict(
        GITHUB_ACTIONS="true",
        GITHUB_EVENT_NAME=event,
        GITHUB_EVENT_PATH=str(path),
        GITHUB_REPOSITORY="acme/wine-quality",
        GITHUB_RUN_ID="4242",
        GITHUB_RUN_ATTEMPT="1",
        GITHUB_SERVER_URL="https://github.com",
        GITHUB_ACTOR="octo",
        GITHUB_SHA=MERGE_SHA,
    )
    base.update(extra)
    return clean_env(**base)


def test_feature_branch_routes_to_dev_with_tags(repo: Path) -> None:
    data = _context(repo)
    sha = git(repo, "rev-parse", "HEAD")
    assert data["branch"] == "feature/x" and data["sha"] == sha
    assert data["env"] == "dev" and data["project"] == "wine-quality-dev"
    assert data["tags"] == ["branch:feature/x", f"sha:{sha}", "env:dev", "trigger:local"]
    assert "feature/x" in data["why"] and "dev" in data["why"]


def test_main_routes_to_prod_and_guard_allows_clean_tree(tmp_path: Path) -> None:
    r = make_repo(tmp_path / "wine-quality", branch="main")
    data = _context(r)
    assert data["env"] == "prod" and data["project"] == "wine-quality-prod"
    assert data["guard"]["allowed"] is True


def test_dirty_tree_is_refused_for_prod_unless_allow_dirty(tmp_path: Path) -> None:
    r = make_repo(tmp_path / "wine-quality", branch="main")
    (r / "README.md").write_text("changed\n")
    data = _context(r)
    assert data["dirty"] is True and data["guard"]["allowed"] is False
    assert "uncommitted" in data["guard"]["reason"]
    assert _context(r, None, "--allow-dirty")["guard"]["allowed"] is True


def test_detached_head_and_no_commits_give_clear_answers(tmp_path: Path) -> None:
    r = make_repo(tmp_path / "wine-quality", branch="main")
    sha = git(r, "rev-parse", "HEAD")
    git(r, "checkout", "-q", "--detach")
    data = _context(r)
    assert data["detached"] is True and data["branch"] is None and data["sha"] == sha
    assert data["env"] == "dev"  # no branch: falls to the catch-all environment
    empty = tmp_path / "empty"
    empty.mkdir()
    git(empty, "init", "-q", "-b", "main")
    data = _context(empty)
    assert data["sha"] is None and "no commits" in data["note"]
    outside = tmp_path / "plain"
    outside.mkdir()
    assert _context(outside)["source"] == "none"


def test_push_event_in_actions(tmp_path: Path) -> None:
    env = _actions_env(
        tmp_path,
        "push",
        {"ref": "refs/heads/main", "repository": {"full_name": "acme/wine-quality", "fork": False}},
        GITHUB_REF="refs/heads/main",
        GITHUB_REF_NAME="main",
        GITHUB_REF_TYPE="branch",
        GITHUB_SHA=HEAD_SHA,
    )
    data = _context(tmp_path, env)
    assert data["source"] == "github-actions" and data["event"] == "push"
    assert data["branch"] == "main" and data["sha"] == HEAD_SHA and data["env"] == "prod"
    assert data["run_url"] == "https://github.com/acme/wine-quality/actions/runs/4242"
    assert "trigger:push" in data["tags"] and data["guard"]["allowed"] is True


def test_workflow_dispatch_on_feature_branch(tmp_path: Path) -> None:
    env = _actions_env(
        tmp_path,
        "workflow_dispatch",
        {"inputs": {"count": "3"}, "ref": "refs/heads/exp/lr"},
        GITHUB_REF="refs/heads/exp/lr",
        GITHUB_REF_NAME="exp/lr",
        GITHUB_REF_TYPE="branch",
        GITHUB_SHA=HEAD_SHA,
    )
    data = _context(tmp_path, env)
    assert (
        data["branch"] == "exp/lr"
        and data["env"] == "dev"
        and data["project"] == "wine-quality-dev"
    )
    assert "trigger:workflow_dispatch" in data["tags"]


def _pr_payload(head_repo: str) -> dict:
    return {
        "pull_request": {
            "head": {
                "sha": HEAD_SHA,
                "ref": "feature/y",
                "repo": {"full_name": head_repo, "fork": head_repo != "acme/wine-quality"},
            },
            "base": {"ref": "main", "repo": {"full_name": "acme/wine-quality"}},
        }
    }


@pytest.mark.parametrize(
    "head_repo,fork", [("acme/wine-quality", False), ("mallory/wine-quality", True)]
)
def test_pull_request_uses_head_sha_and_branch(tmp_path: Path, head_repo: str, fork: bool) -> None:
    env = _actions_env(
        tmp_path,
        "pull_request",
        _pr_payload(head_repo),
        GITHUB_REF="refs/pull/7/merge",
        GITHUB_REF_NAME="7/merge",
        GITHUB_HEAD_REF="feature/y",
    )
    data = _context(tmp_path, env)
    assert data["sha"] == HEAD_SHA  # not the merge commit in GITHUB_SHA
    assert data["branch"] == "feature/y" and data["env"] == "dev" and data["is_fork"] is fork
    prod = _context(tmp_path, env, "--env", "prod")
    assert prod["guard"]["allowed"] is False
    assert ("fork" if fork else "pull_request") in prod["guard"][
        "reason"
    ] or "pull request" in prod["guard"]["reason"]


def test_tag_push_routes_by_tag_rules(tmp_path: Path) -> None:
    (tmp_path / "sweepci.yaml").write_text(
        "base: wine-quality\nenvironments:\n  prod:\n    branches: [main]\n    tags: ['v*']\n  dev:\n    branches: ['*']\n"
    )
    env = _actions_env(
        tmp_path,
        "push",
        {"ref": "refs/tags/v1.2"},
        GITHUB_REF="refs/tags/v1.2",
        GITHUB_REF_NAME="v1.2",
        GITHUB_REF_TYPE="tag",
        GITHUB_SHA=HEAD_SHA,
    )
    data = _context(tmp_path, env)
    assert data["tag"] == "v1.2" and data["branch"] is None and data["env"] == "prod"
    assert "tag:v1.2" in data["tags"]


def test_long_branch_tag_is_shortened_with_a_stable_hash(tmp_path: Path) -> None:
    branch = "feature/" + "very-long-name-" * 6
    r = make_repo(tmp_path / "wine-quality", branch=branch)
    tags = _context(r)["tags"]
    (btag,) = [t for t in tags if t.startswith("branch:")]
    assert len(btag) <= 64 and btag == _context(r)["tags"][0]
    assert all(len(t) <= 64 for t in tags)


def test_env_override_to_prod_from_feature_branch_is_refused_before_any_run(repo: Path) -> None:
    (repo / "s.yaml").write_text("method: grid\nprogram: p.py\nparameters:\n  x: {values: [1]}\n")
    proc = sweepci("run", "s.yaml", "--env", "prod", cwd=repo)
    assert proc.returncode == 2
    assert "refusing to write to prod" in proc.stderr and "feature/x" in proc.stderr
    assert not (repo / ".sweepci").exists()  # nothing written


def test_bad_project_file_names_file_line_and_key(repo: Path) -> None:
    (repo / "sweepci.yaml").write_text("base: wine\nenviroments:\n  prod: {branches: [main]}\n")
    proc = sweepci("context", cwd=repo)
    assert proc.returncode == 2
    assert proc.stderr.strip().count("\n") == 0
    assert "sweepci.yaml:2:1" in proc.stderr and "did you mean 'environments'" in proc.stderr


def test_bad_event_payload_is_one_line(tmp_path: Path) -> None:
    path = tmp_path / "event.json"
    path.write_text("{not json")
    env = clean_env(GITHUB_ACTIONS="true", GITHUB_EVENT_NAME="push", GITHUB_EVENT_PATH=str(path))
    proc = sweepci("context", cwd=tmp_path, env=env)
    assert (
        proc.returncode == 2 and "event.json:1:2" in proc.stderr and "Traceback" not in proc.stderr
    )


FAST = "import json, os\nopen(os.environ['SWEEPCI_METRICS_FILE'],'a').write(json.dumps({'metrics': {'f1': 0.5}})+'\\n')\n"


def test_sweeps_land_in_their_projects_and_runs_trace_to_commits(tmp_path: Path) -> None:
    r = make_repo(
        tmp_path / "wine-quality",
        branch="main",
        files={
            "p.py": FAST,
            "s.yaml": "method: grid\nprogram: p.py\nmetric: {name: f1, goal: maximize}\nparameters:\n  x: {values: [1, 2]}\n",
        },
    )
    main_sha = git(r, "rev-parse", "HEAD")
    store = tmp_path / "store.db"
    assert sweepci("run", "s.yaml", "--store", str(store), cwd=r).returncode == 0
    git(r, "checkout", "-q", "-b", "feature/x")
    (r / "p.py").write_text(FAST.replace("0.5", "0.7"))
    git(r, "commit", "-qam", "better")
    feature_sha = git(r, "rev-parse", "HEAD")
    assert sweepci("run", "s.yaml", "--store", str(store), cwd=r).returncode == 0
    prod = json.loads(
        sweepci("runs", "--commit", main_sha[:10], "--json", "--store", str(store), cwd=r).stdout
    )
    dev = json.loads(
        sweepci("runs", "--commit", feature_sha, "--json", "--store", str(store), cwd=r).stdout
    )
    assert len(prod) == 2 and all(x["env"] == "prod" and x["sha"] == main_sha for x in prod)
    assert len(dev) == 2 and all(x["env"] == "dev" and x["branch"] == "feature/x" for x in dev)
    assert all(f"sha:{feature_sha}" in x["tags"] and "branch:feature/x" in x["tags"] for x in dev)
    sweeps = json.loads(sweepci("sweeps", "--json", "--store", str(store), cwd=r).stdout)
    assert {s["project"] for s in sweeps} == {"wine-quality-prod", "wine-quality-dev"}
