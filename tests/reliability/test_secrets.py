"""Secrets: canary values in WANDB_API_KEY and GITHUB_TOKEN never appear in any output, file,
store, report, tag or step output, through a local sweep (in GitHub Actions mode, with a
run that prints its environment and fails), a report in every format, a W&B sweep against
the stand-in server, and a dispatch against the GitHub stand-in.

Every file under the test's temporary directory is searched, HOME, TMPDIR, the store's
bytes, the run folders, GITHUB_OUTPUT and GITHUB_STEP_SUMMARY included.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import clean_env, make_repo, sweepci
from tests.servers.github_api import GitHubStandIn
from tests.servers.github_fixtures import CANARY_TOKEN
from tests.servers.wandb_api import CANARY_KEY, WandbStandIn, files_containing, make_sdk_env

pytest_plugins = ["tests.servers.wandb_fixtures"]
CANARIES = (CANARY_KEY, CANARY_TOKEN)
LEAKY = """\
import json, os, sys
x = int(sys.argv[-1].split("=")[1])
print(dict(os.environ))
print(dict(os.environ), file=sys.stderr)
print("argv", sys.argv, file=sys.stderr)
if x == 1:
    sys.exit(4)
open(os.environ["SWEEPCI_METRICS_FILE"], "a").write(json.dumps({"metrics": {"v": float(x)}}) + "\\n")
"""
SWEEP = "method: grid\nprogram: leaky.py\nmetric: {name: v, goal: maximize}\nparameters:\n  x: {values: [0, 1, 2, 3]}\n"


def _searched(tmp_path: Path, texts: list[str]) -> int:
    """Assert no canary in `texts` or any file under tmp_path; return how many places were searched."""
    for canary in CANARIES:
        for text in texts:
            assert canary not in text
        assert files_containing(tmp_path, canary) == []
    return len(texts) + sum(1 for p in tmp_path.rglob("*") if p.is_file())


def _actions_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    gh = tmp_path / "gh"
    gh.mkdir(exist_ok=True)
    event = gh / "event.json"
    event.write_text(
        json.dumps(
            {"ref": "refs/heads/feature/x", "repository": {"full_name": "acme/wine-quality"}}
        )
    )
    home = tmp_path / "home"
    home.mkdir(exist_ok=True)
    return clean_env(
        HOME=str(home),
        TMPDIR=str(gh),
        WANDB_API_KEY=CANARY_KEY,
        GITHUB_TOKEN=CANARY_TOKEN,
        GH_TOKEN=CANARY_TOKEN,
        GITHUB_ACTIONS="true",
        GITHUB_EVENT_NAME="push",
        GITHUB_EVENT_PATH=str(event),
        GITHUB_REF="refs/heads/feature/x",
        GITHUB_REF_NAME="feature/x",
        GITHUB_SHA="b" * 40,
        GITHUB_REPOSITORY="acme/wine-quality",
        GITHUB_RUN_ID="77",
        GITHUB_OUTPUT=str(gh / "output"),
        GITHUB_STEP_SUMMARY=str(gh / "summary.md"),
        **extra,
    )


def test_a_local_sweep_and_its_reports_leak_no_secret(tmp_path: Path, figures) -> None:
    repo = make_repo(
        tmp_path / "wine-quality", branch="feature/x", files={"leaky.py": LEAKY, "s.yaml": SWEEP}
    )
    env = _actions_env(tmp_path)
    texts: list[str] = []
    runs = [
        (
            "run",
            "s.yaml",
            "--backend",
            "local",
            "--max-failures",
            "0",
            "--json",
            "--tag",
            "canary-check",
        ),
        ("show",),
        ("show", "--json"),
        ("leaderboard",),
        ("sweeps", "--json"),
        ("runs", "--json"),
        ("context", "--json"),
    ]
    runs += [("report", "--format", fmt, "-o", f"report.{fmt}") for fmt in ("md", "html", "json")]
    runs.append(("report", "--job-summary"))
    for argv in runs:
        proc = sweepci(*argv, cwd=repo, env=env, timeout=180)
        assert proc.returncode == 0, (argv, proc.stderr)
        texts += [proc.stdout, proc.stderr]
    store = repo / ".sweepci/sweepci.db"
    assert store.exists() and (tmp_path / "gh" / "output").exists()
    failed = [r for r in json.loads(texts[0])["runs"] if r["state"] == "failed"]
    assert failed and "argv" in failed[0]["stderr_tail"]  # the failing run's stderr was kept
    figures(secret_places=_searched(tmp_path, texts), leaks=0)


@pytest.mark.slow
def test_a_wandb_sweep_leaks_no_secret(tmp_path: Path, wandb_server: WandbStandIn, figures) -> None:
    program = (
        "import wandb\nrun = wandb.init()\nwandb.log({'v': float(run.config['x'])})\nrun.finish()\n"
    )
    repo = make_repo(
        tmp_path / "wine-quality",
        branch="feature/x",
        files={
            "p.py": program,
            "s.yaml": "method: grid\nprogram: p.py\nmetric: {name: v}\nparameters:\n  x: {values: [1, 2]}\n",
        },
    )
    sdk = make_sdk_env(tmp_path / "sdk", wandb_server)
    # in GitHub Actions mode: the backend must not print a masking command holding the key
    actions = {
        k: v
        for k, v in _actions_env(tmp_path).items()
        if k.startswith("GITHUB_") and k != "GITHUB_EVENT_PATH"
    }
    env = clean_env(**sdk, **actions, SWEEPCI_WANDB_POLL="0.2")
    texts = []
    proc = sweepci(
        "run",
        "s.yaml",
        "--backend",
        "wandb",
        "--count",
        "2",
        "--json",
        cwd=repo,
        env=env,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    texts += [proc.stdout, proc.stderr]
    path = json.loads(proc.stdout)["sweep"]["path"]
    shown = sweepci("show", path, cwd=repo, env=env, timeout=120)
    texts += [shown.stdout, shown.stderr]
    tags = [t for run in wandb_server.state.runs.values() for t in run["tags"]]
    assert tags
    texts += tags
    figures(secret_places=_searched(tmp_path, texts), leaks=0)


WORKFLOW = """\
name: sweep
on:
  workflow_dispatch:
    inputs:
      count: {type: number, default: 20}
      dataset: {type: choice, options: [wine, iris], default: wine}
jobs:
  sweep:
    runs-on: ubuntu-latest
    steps:
      - run: echo sweep
"""


def test_a_dispatch_leaks_no_token(tmp_path: Path, github_api: GitHubStandIn, figures) -> None:
    repo = make_repo(
        tmp_path / "wine-quality", branch="tune", files={".github/workflows/sweep.yml": WORKFLOW}
    )
    env = clean_env(
        HOME=str(tmp_path / "home"),
        GITHUB_API_URL=github_api.url,
        GITHUB_TOKEN=CANARY_TOKEN,
        WANDB_API_KEY=CANARY_KEY,
    )
    (tmp_path / "home").mkdir()
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "orchestrator",
            "dispatch",
            "--count",
            "3",
            "--watch",
            "--json",
            "--poll-interval",
            "0.05",
        ],
        cwd=repo,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["conclusion"] == "success"
    sent = [json.dumps(c.body) for c in github_api.calls("dispatch")]
    assert all(CANARY_KEY not in s for s in sent)
    figures(secret_places=_searched(tmp_path, [proc.stdout, proc.stderr]), leaks=0)


def test_actions_mode_does_not_echo_secrets_to_stdout(tmp_path: Path) -> None:
    """`sweepci run --json > result.json` in a workflow: the file is JSON and holds no key."""
    repo = make_repo(
        tmp_path / "wine-quality", branch="feature/x", files={"leaky.py": LEAKY, "s.yaml": SWEEP}
    )
    env = _actions_env(tmp_path)
    proc = sweepci("create", "s.yaml", "--backend", "local", "--json", cwd=repo, env=env)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["backend"] == "local"
    assert os.environ.get("WANDB_API_KEY") != CANARY_KEY
    assert CANARY_KEY not in proc.stdout


def test_the_wandb_backend_writes_no_masking_command_for_the_key(tmp_path: Path, figures) -> None:
    """A secret sweepci did not create is never written, not even as `::add-mask::KEY`: any
    captured stderr (a log file, `2>&1 | tee`) would hold it in clear. The W&B server here
    is unreachable, so the sweep fails fast after the backend has read the key."""
    repo = make_repo(
        tmp_path / "wine-quality", branch="feature/x", files={"leaky.py": LEAKY, "s.yaml": SWEEP}
    )
    env = _actions_env(
        tmp_path,
        WANDB_BASE_URL="http://127.0.0.1:9",
        WANDB_HTTP_TIMEOUT="2",
        WANDB_MODE="online",
        WANDB_CONFIG_DIR=str(tmp_path / "home" / "wandb"),
    )
    texts = []
    for argv in (
        ("create", "s.yaml", "--backend", "wandb"),
        ("run", "s.yaml", "--backend", "wandb", "--count", "1"),
    ):
        proc = sweepci(*argv, cwd=repo, env=env, timeout=180)
        assert proc.returncode != 0  # no W&B server
        assert "Traceback" not in proc.stderr
        assert "::add-mask::" not in proc.stdout + proc.stderr
        texts += [proc.stdout, proc.stderr]
    figures(secret_places=_searched(tmp_path, texts), leaks=0)


def test_no_module_writes_a_masking_command() -> None:
    """The class, not the one call: no string the package's code builds holds `add-mask`
    (docstrings and comments may name the command; code may not write it)."""
    import ast

    from tests.conftest import REPO_ROOT

    offenders = []
    for path in (REPO_ROOT / "orchestrator").rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        docstrings = {
            id(node.body[0].value)
            for node in ast.walk(tree)
            if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef))
            and node.body
            and isinstance(node.body[0], ast.Expr)
            and isinstance(node.body[0].value, ast.Constant)
        }
        offenders += [
            f"{path.relative_to(REPO_ROOT)}:{node.lineno}"
            for node in ast.walk(tree)
            if isinstance(node, ast.Constant)
            and isinstance(node.value, str)
            and id(node) not in docstrings
            and "add-mask" in node.value.lower()
        ]
    assert offenders == []
