"""`sweepci baseline fetch`: the real CLI, a real store made by `sweepci run` on main, zipped
as the workflow uploads it, served by the GitHub stand-in; then `sweepci report --baseline`."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT, clean_env, git, make_repo, sweepci
from tests.servers.github_api import GitHubStandIn
from tests.servers.github_fixtures import CANARY_TOKEN

# f1 is highest at lr = 0.1; the baseline sweep never tries it
TRAIN = """\
import json, os, sys
args = dict(a[2:].split("=", 1) for a in sys.argv[1:] if a.startswith("--") and "=" in a)
f1 = 1.0 / (1.0 + abs(float(args["lr"]) - 0.1))
with open(os.environ["SWEEPCI_METRICS_FILE"], "a") as fh:
    fh.write(json.dumps({"step": 0, "metrics": {"f1": f1}}) + "\\n")
"""
SWEEP = """\
name: tiny
program: train.py
method: grid
metric: {name: f1, goal: maximize}
parameters:
  lr: {values: [0.2, 0.3]}
"""
PREVIOUS_RUN = 501


def _zip(files: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def _zip_dir(root: Path) -> bytes:
    """A directory's contents as upload-artifact stores them: paths relative to it."""
    return _zip({str(p.relative_to(root)): p.read_bytes() for p in root.rglob("*") if p.is_file()})


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """acme/wine-quality on main (prod), after one tiny prod sweep with the local backend."""
    repo = make_repo(
        tmp_path / "wine-quality",
        branch="main",
        files={
            "sweepci.yaml": (REPO_ROOT / "sweepci.yaml").read_text(),
            "sweeps/tiny.yaml": SWEEP,
            "train.py": TRAIN,
        },
    )
    sweepci("run", "sweeps/tiny.yaml", "--backend", "local", cwd=repo, check=True)
    return repo


def fetch(repo: Path, api: GitHubStandIn, *args: str, token: str | None = CANARY_TOKEN, **env: str):
    extra = {"GITHUB_API_URL": api.url, **env}
    if token:
        extra["GITHUB_TOKEN"] = token
    done = sweepci("baseline", "fetch", *args, cwd=repo, env=clean_env(**extra))
    assert CANARY_TOKEN not in done.stdout + done.stderr
    return done


@pytest.mark.parametrize(("lr", "direction"), [("0.1", "better"), ("0.5", "worse")])
def test_fetched_store_is_the_baseline_of_the_next_report(
    project: Path, github_api: GitHubStandIn, lr: str, direction: str
) -> None:
    report_zip = _zip_dir(project / ".sweepci")
    github_api.add_past_run(PREVIOUS_RUN, age_hours=5, artifacts={"sweepci-report": report_zip})
    # newer, but not the baseline: a failed run, another branch, and the run doing the fetch
    github_api.add_past_run(
        600, conclusion="failure", age_hours=3, artifacts={"sweepci-report": b"x"}
    )
    github_api.add_past_run(
        601, branch="feature/x", age_hours=2, artifacts={"sweepci-report": b"x"}
    )
    github_api.add_past_run(700, age_hours=1, artifacts={"sweepci-report": b"x"})

    done = fetch(project, github_api, "-o", "prev", GITHUB_RUN_ID="700")

    assert done.returncode == 0, done.stderr
    assert f"run {PREVIOUS_RUN}" in done.stdout and "prev/sweepci.db" in done.stdout
    [runs] = github_api.calls("runs_list")
    assert runs.path == "/repos/acme/wine-quality/actions/workflows/sweep.yml/runs"
    assert (runs.query["branch"], runs.query["status"]) == ("main", "success")
    assert (project / "prev" / "sweepci.db").is_file()

    # this checkout's next sweep, on a feature branch, compared with main's
    git(project, "checkout", "-q", "-b", "feature/lr")
    sweepci(
        "run", "sweeps/tiny.yaml", "--backend", "local", "--set", f"lr={lr}",
        "--store", "next.db", cwd=project, check=True,
    )  # fmt: skip
    md = sweepci("report", "--store", "next.db", "--baseline", "prev", cwd=project, check=True)
    assert "### Baseline: latest prod sweep of main" in md.stdout
    assert f"**{direction}**" in md.stdout
    data = json.loads(
        sweepci(
            "report", "--store", "next.db", "--baseline", "prev", "--format", "json",
            cwd=project, check=True,
        ).stdout
    )  # fmt: skip
    assert data["baseline"]["found"] and data["baseline"]["direction"] == direction
    assert data["baseline"]["baseline"]["value"] == pytest.approx(1 / 1.1)


def test_expired_artifacts_are_passed_over_for_an_older_run(
    project: Path, github_api: GitHubStandIn
) -> None:
    github_api.add_past_run(
        PREVIOUS_RUN, age_hours=5, artifacts={"sweepci-report": _zip_dir(project / ".sweepci")}
    )
    github_api.add_past_run(502, age_hours=1, artifacts={"sweepci-report": None})

    done = fetch(project, github_api, "--json")

    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["found"] and result["run_id"] == PREVIOUS_RUN
    assert result["store"] == ".sweepci/baseline/sweepci.db"
    assert (project / ".sweepci" / "baseline" / "sweepci.db").is_file()


def test_nothing_to_fetch_is_said_plainly_and_the_report_says_no_baseline(
    project: Path, github_api: GitHubStandIn
) -> None:
    github_api.add_past_run(600, conclusion="failure", artifacts={"sweepci-report": b"x"})
    outputs = project / "outputs.txt"

    done = fetch(project, github_api, "-o", "prev", GITHUB_OUTPUT=str(outputs))

    assert done.returncode == 0 and done.stderr == ""
    assert done.stdout.strip() == (
        "no baseline: no trusted successful run of sweep.yml on main in acme/wine-quality"
    )
    assert not (project / "prev").exists()
    assert "store<<" in outputs.read_text()  # set, and empty: the next step skips the merge
    md = sweepci("report", "--baseline", "prev", cwd=project, check=True)
    assert "No baseline" in md.stdout or "no baseline" in md.stdout


def test_an_archive_with_a_path_out_of_the_directory_is_refused(
    project: Path, github_api: GitHubStandIn, tmp_path: Path
) -> None:
    evil = _zip({"sweepci.db": b"not really", "../evil": b"owned"})
    github_api.add_past_run(PREVIOUS_RUN, artifacts={"sweepci-report": evil})
    target = project / "deep" / "prev"

    done = fetch(project, github_api, "-o", str(target))

    assert done.returncode == 3
    [line] = done.stderr.strip().splitlines()
    assert line.startswith("sweepci: error: ") and "'../evil'" in line
    assert not (project / "deep" / "evil").exists() and not target.exists()


def test_missing_token_is_one_line_and_exit_2(project: Path, github_api: GitHubStandIn) -> None:
    done = fetch(project, github_api, token=None)

    assert done.returncode == 2
    [line] = done.stderr.strip().splitlines()
    assert line.startswith("sweepci: error: no GitHub token")
    assert github_api.requests == []


def test_unreachable_github_is_a_warning_in_actions_and_exit_0(
    project: Path, github_api: GitHubStandIn
) -> None:
    closed = GitHubStandIn(token=CANARY_TOKEN).start()
    url = closed.url
    closed.stop()  # nothing listens on its port any more

    done = fetch(project, github_api, "-o", "prev", GITHUB_API_URL=url, GITHUB_ACTIONS="true")

    assert done.returncode == 0
    assert done.stderr.startswith("::warning title=No baseline::no baseline: cannot reach")
    assert not (project / "prev").exists()


def test_older_runs_are_looked_through_past_a_page_of_fork_runs(
    project: Path, github_api: GitHubStandIn
) -> None:
    github_api.add_past_run(
        PREVIOUS_RUN, age_hours=300, artifacts={"sweepci-report": _zip_dir(project / ".sweepci")}
    )
    # a busy repository: a full page of newer fork pull-request runs, then an expired one of ours
    for i in range(100):
        github_api.add_past_run(2000 + i, age_hours=1 + i / 100, event="pull_request",
                                head_repository="mallory/wine-quality")  # fmt: skip
    github_api.add_past_run(700, age_hours=200, artifacts={"sweepci-report": None})

    done = fetch(project, github_api, "--json")

    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["run_id"] == PREVIOUS_RUN
    assert {c.query.get("page") for c in github_api.calls("runs_list")} == {"1", "2"}


def test_when_every_artifact_expired_the_warning_names_the_retention(
    project: Path, github_api: GitHubStandIn
) -> None:
    for i, run_id in enumerate((801, 802, 803)):
        github_api.add_past_run(run_id, age_hours=24 * (91 + i), artifacts={"sweepci-report": None})

    done = fetch(project, github_api, "--json", GITHUB_ACTIONS="true")

    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert not result["found"] and result["expired"] == 3
    assert "::warning title=Baseline expired::" in done.stderr
    assert "keeps artifacts 90 days" in done.stderr and "production model" in done.stderr
