"""Artifacts end to end: real offline wandb runs under the real agent, captured into the store,
then listed, shown, fetched and promoted through the real CLI in a real git repository."""

from __future__ import annotations

import json
import shutil
import sqlite3
import textwrap
from pathlib import Path

import pytest

from tests.conftest import clean_env, git, make_repo, sweepci

# A small W&B script: a dataset artifact (the same bytes in every run) as input, a model
# artifact whose bytes depend on `quality` as output, and f1 = quality.
TRAIN = textwrap.dedent(
    """
    import json, os, pathlib, shutil, tempfile
    import wandb

    run = wandb.init()
    cfg = wandb.config
    tmp = pathlib.Path(tempfile.mkdtemp())
    (tmp / "data.csv").write_text("x,y\\n1,0\\n2,1\\n")
    data = wandb.Artifact("wine-data", type="dataset", metadata={"sha256": "d" * 64})
    data.add_file(str(tmp / "data.csv"))
    run.log_artifact(data)  # offline wandb refuses use_artifact
    run.log({"f1": cfg.quality})
    if cfg.get("save_model", True):
        (tmp / "model.json").write_text(json.dumps({"weights": cfg.quality}))
        model = wandb.Artifact("wine-model", type="model", metadata={"metrics": {"f1": cfg.quality}})
        model.add_file(str(tmp / "model.json"))
        run.log_artifact(model)
    run.finish()
    if cfg.get("wipe_staging", False):  # what a cleaned cache leaves: records without their files
        shutil.rmtree(pathlib.Path(os.environ["WANDB_DATA_DIR"]) / "artifacts" / "staging")
    """
)


def _sweep_file(repo: Path, name: str, qualities: list[float], **fixed: object) -> str:
    params = {"quality": {"values": qualities}, **{k: {"value": v} for k, v in fixed.items()}}
    body = {
        "program": "train.py",
        "method": "grid",
        "metric": {"name": "f1", "goal": "maximize"},
        "parameters": params,
    }
    (repo / "sweeps").mkdir(exist_ok=True)
    (repo / "sweeps" / f"{name}.yaml").write_text(json.dumps(body))
    return f"sweeps/{name}.yaml"


def _rows(store: Path, sql: str, params: tuple = ()) -> list[sqlite3.Row]:
    conn = sqlite3.connect(store)
    conn.row_factory = sqlite3.Row
    try:
        return conn.execute(sql, params).fetchall()
    finally:
        conn.close()


@pytest.fixture(scope="module")
def swept(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """A prod repository on main with five sweeps of the small script, run by the real agent."""
    root = tmp_path_factory.mktemp("artifacts")
    repo = make_repo(root / "wine-quality", branch="main", files={"train.py": TRAIN})
    files = {
        "first": _sweep_file(repo, "first", [0.6, 0.9, 0.75]),
        "same": _sweep_file(repo, "same", [0.9]),  # the same model bytes as the best of "first"
        "worse": _sweep_file(repo, "worse", [0.5]),
        "nomodel": _sweep_file(repo, "nomodel", [0.99], save_model=False),
        "wiped": _sweep_file(repo, "wiped", [0.4], wipe_staging=True),
    }
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "sweeps")
    env = clean_env(WANDB_DATA_DIR=str(root / "wandb-data"), GITHUB_ACTOR="octocat")
    sweeps, stderr = {}, {}
    for key, file in files.items():
        proc = sweepci("run", file, "--json", "--quiet", cwd=repo, env=env, timeout=300, check=True)
        sweeps[key], stderr[key] = json.loads(proc.stdout)["sweep"]["id"], proc.stderr
    return {
        "repo": repo,
        "env": env,
        "sweeps": sweeps,
        "stderr": stderr,
        "sha": git(repo, "rev-parse", "HEAD"),
    }


@pytest.fixture
def store(swept: dict, tmp_path: Path) -> Path:
    """A private copy of the swept store (blobs included), so each test promotes from the same start."""
    shutil.copytree(swept["repo"] / ".sweepci", tmp_path / "store")
    return tmp_path / "store" / "sweepci.db"


def _cli(swept: dict, store: Path, *args: str, env: dict[str, str] | None = None):
    return sweepci(
        *args, "--store", str(store), cwd=swept["repo"], env=env or swept["env"], timeout=120
    )


def _run_of(store: Path, sweep_id: str, quality: float) -> str:
    rows = _rows(store, "SELECT id, config_json FROM runs WHERE sweep_id = ?", (sweep_id,))
    return next(r["id"] for r in rows if json.loads(r["config_json"])["quality"] == quality)


def test_runs_logging_artifacts_are_captured_with_versions_and_lineage(
    swept: dict, store: Path
) -> None:
    listing = json.loads(_cli(swept, store, "artifacts", "list", "--json").stdout)
    models = {a["version"]: a for a in listing if a["name"] == "wine-model"}
    data = [a for a in listing if a["name"] == "wine-data"]
    # three different models in the first sweep; the "same" sweep's model has v1's bytes: no v3
    assert sorted(models) == ["v0", "v1", "v2", "v3"]  # v3: the "worse" sweep's model
    assert [m["metadata"]["metrics"]["f1"] for _, m in sorted(models.items())] == [
        0.6,
        0.9,
        0.75,
        0.5,
    ]
    first = swept["sweeps"]["first"]
    assert models["v1"]["run_id"] == _run_of(store, first, 0.9)
    assert models["v1"]["logged_by"] == [
        _run_of(store, first, 0.9),
        _run_of(store, swept["sweeps"]["same"], 0.9),
    ]
    assert "latest" in models["v3"]["aliases"]
    # every run read the same data: one dataset version, used by all of them
    assert [a["version"] for a in data] == ["v0"]
    users = _rows(
        store, "SELECT run_id FROM artifact_usage WHERE artifact_id = ?", (data[0]["id"],)
    )
    assert len(users) == 6  # 3 + 1 + 1 + 1 runs; the "wiped" run's files were gone (see below)


def test_identical_files_are_stored_once(swept: dict, store: Path) -> None:
    blobs = [p for p in (store.parent / "artifacts" / "blobs").rglob("*") if p.is_file()]
    listing = json.loads(_cli(swept, store, "artifacts", "list", "--json").stdout)
    contents = {f["sha256"] for a in listing for f in a["files"]}
    assert len(blobs) == len(contents) == 5  # one data.csv for 6 runs, four distinct models
    for blob in blobs:
        assert blob.name.startswith(blob.parent.name) and len(blob.name) == 64


def test_a_failed_capture_costs_a_warning_not_the_run(swept: dict, store: Path) -> None:
    assert "artifacts not captured" in swept["stderr"]["wiped"]
    (run,) = _rows(
        store,
        "SELECT state, metric_value FROM runs WHERE sweep_id = ?",
        (swept["sweeps"]["wiped"],),
    )
    assert (run["state"], run["metric_value"]) == ("finished", 0.4)


def test_promote_then_show_names_run_commit_and_dataset(
    swept: dict, store: Path, tmp_path: Path
) -> None:
    first = swept["sweeps"]["first"]
    proc = _cli(swept, store, "promote", first)
    assert proc.returncode == 0, proc.stderr
    assert "promoted wine-model:v1 to production" in proc.stdout
    show = _cli(swept, store, "artifacts", "show", "wine-model:production")
    best = _run_of(store, first, 0.9)
    assert f"run        {best} of sweep {first}" in show.stdout
    assert f"commit     {swept['sha']}" in show.stdout
    assert "dataset    wine-data:v0" in show.stdout
    assert "promoted   production by octocat" in show.stdout
    info = json.loads(
        _cli(swept, store, "artifacts", "show", "wine-model:production", "--json").stdout
    )
    assert (info["run"]["id"], info["commit"], info["used"][0]["label"]) == (
        best,
        swept["sha"],
        "wine-data:v0",
    )
    got = _cli(
        swept, store, "artifacts", "get", "wine-model:production", "-o", str(tmp_path / "out")
    )
    assert got.returncode == 0 and json.loads((tmp_path / "out" / "model.json").read_text()) == {
        "weights": 0.9
    }
    (promotion,) = _rows(store, "SELECT actor, sha, forced, alias FROM promotions")
    assert tuple(promotion) == ("octocat", swept["sha"], 0, "production")


def test_promoting_the_holder_again_is_a_no_op(swept: dict, store: Path) -> None:
    assert _cli(swept, store, "promote", swept["sweeps"]["first"]).returncode == 0
    again = _cli(
        swept, store, "promote", swept["sweeps"]["same"]
    )  # its best run logged the same bytes
    assert again.returncode == 0 and "wine-model:v1 is already production" in again.stdout
    assert len(_rows(store, "SELECT * FROM promotions")) == 1


def test_a_worse_candidate_is_refused_unless_forced(swept: dict, store: Path) -> None:
    assert _cli(swept, store, "promote", swept["sweeps"]["first"]).returncode == 0
    refused = _cli(swept, store, "promote", swept["sweeps"]["worse"])
    assert refused.returncode == 2
    (line,) = refused.stderr.strip().splitlines()
    assert "wine-model:v3" in line and "worse than the current production wine-model:v1" in line
    assert "0.5 vs 0.9" in line and "--force" in line
    assert (
        "wine-model:v1" in _cli(swept, store, "artifacts", "show", "wine-model:production").stdout
    )
    forced = _cli(swept, store, "promote", swept["sweeps"]["worse"], "--force", "--json")
    assert forced.returncode == 0
    result = json.loads(forced.stdout)
    assert (result["forced"], result["artifact"], result["previous"]) == (
        True,
        "wine-model:v3",
        "wine-model:v1",
    )
    assert (result["value"], result["previous_value"]) == (0.5, 0.9)
    assert [tuple(r) for r in _rows(store, "SELECT forced, note FROM promotions ORDER BY id")] == [
        (0, None),
        (1, "forced"),
    ]


def test_a_best_run_without_a_model_is_refused(swept: dict, store: Path) -> None:
    proc = _cli(swept, store, "promote", swept["sweeps"]["nomodel"])
    assert proc.returncode == 2
    assert "logged no model artifact" in proc.stderr and len(proc.stderr.strip().splitlines()) == 1


def test_a_dev_sweep_is_refused(swept: dict, store: Path) -> None:
    dev = sweepci(
        "create",
        "sweeps/first.yaml",
        "--env",
        "dev",
        "--store",
        str(store),
        cwd=swept["repo"],
        env=swept["env"],
        check=True,
    ).stdout.strip()
    proc = _cli(swept, store, "promote", dev)
    assert (
        proc.returncode == 2
        and f"sweep {dev} is a dev sweep; only prod sweeps are promoted" in proc.stderr
    )


def test_the_prod_guard_refuses_a_dirty_tree_and_a_dev_branch(swept: dict, store: Path) -> None:
    repo, first = swept["repo"], swept["sweeps"]["first"]
    train = repo / "train.py"
    original = train.read_text()
    train.write_text(original + "# local edit\n")
    try:
        dirty = _cli(swept, store, "promote", first)
    finally:
        train.write_text(original)
    assert dirty.returncode == 2 and "uncommitted changes" in dirty.stderr
    git(repo, "checkout", "-q", "-b", "feature/try")
    try:
        branch = _cli(swept, store, "promote", first)
    finally:
        git(repo, "checkout", "-q", "main")
        git(repo, "branch", "-q", "-D", "feature/try")
    assert branch.returncode == 2 and "routes to dev" in branch.stderr
    assert _rows(store, "SELECT * FROM promotions") == []


def test_promoting_a_wandb_sweep_sets_the_alias_and_the_registry_link_through_the_api(
    tmp_path: Path,
) -> None:
    from tests.servers.wandb_api import CANARY_KEY, WandbStandIn, make_sdk_env
    from tests.servers.wandb_graphql import add_artifact, add_finished_run, upsert_sweep

    server = WandbStandIn(CANARY_KEY).start()
    try:
        repo = make_repo(tmp_path / "wine-quality", branch="main")
        env = clean_env(**make_sdk_env(tmp_path / "sdk", server), GITHUB_ACTOR="octocat")

        def sweep_with(*f1s: float) -> str:
            config = (
                "method: grid\nmetric: {name: f1, goal: maximize}\nparameters: {q: {values: [1]}}\n"
            )
            made = upsert_sweep(
                server,
                {"config": config, "entityName": "team-a", "projectName": "wine-quality-prod"},
                "",
            )
            sweep_id = made["upsertSweep"]["sweep"]["name"]
            for f1 in f1s:
                add_artifact(
                    server,
                    run_id=add_finished_run(server, sweep_id, {"f1": f1}),
                    name="wine-model",
                    type="model",
                    metadata={"metrics": {"f1": f1}},
                )
            return f"team-a/wine-quality-prod/{sweep_id}"

        dev = sweepci("promote", "team-a/wine-quality-dev/sw9", cwd=repo, env=env)
        assert dev.returncode == 2 and "is a dev sweep; only prod sweeps are promoted" in dev.stderr
        good, worse = sweep_with(0.7, 0.9), sweep_with(0.8)
        store = str(tmp_path / "store" / "sweepci.db")
        proc = sweepci(
            "promote",
            good,
            "--to",
            "wandb-registry-model/wine",
            "--store",
            store,
            cwd=repo,
            env=env,
        )
        assert proc.returncode == 0, proc.stderr
        assert "promoted wine-model:v1 to production" in proc.stdout
        holders = {a["version"]: a["aliases"] for a in vars(server.state)["artifacts"].values()}
        assert holders == {0: [], 1: ["production"], 2: ["latest"]}
        (link,) = vars(server.state)["artifact_links"]
        assert (link["projectName"], link["artifactPortfolioName"]) == (
            "wandb-registry-model",
            "wine",
        )
        assert [a["alias"] for a in link["aliases"]] == ["production"]
        again = sweepci("promote", good, "--store", store, cwd=repo, env=env)
        assert again.returncode == 0 and "already production" in again.stdout
        refused = sweepci("promote", worse, "--store", store, cwd=repo, env=env)
        assert refused.returncode == 2 and "0.8 vs 0.9" in refused.stderr
        assert CANARY_KEY not in proc.stdout + proc.stderr + refused.stderr
        (row,) = _rows(Path(store), "SELECT actor, note FROM promotions")
        assert tuple(row) == (
            "octocat",
            "wandb:team-a/wine-quality-prod/wine-model:v1,wandb-registry-model/wine",
        )
        assert server.handler_errors == []
    finally:
        server.stop()


def test_the_report_shows_the_best_runs_lineage_and_the_production_model(
    swept: dict, store: Path
) -> None:
    first, worse = swept["sweeps"]["first"], swept["sweeps"]["worse"]
    before = json.loads(_cli(swept, store, "report", first, "--format", "json").stdout)["lineage"]
    assert before["datasets"] == ["wine-data:v0"] and before["production"] is None
    assert _cli(swept, store, "promote", first).returncode == 0
    md = _cli(swept, store, "report", worse, "--format", "md").stdout
    assert "### Lineage of the best run" in md
    assert f"commit {swept['sha'][:12]}" in md and "dataset wine-data\\:v0" in md
    # the later, worse sweep's report names the model that holds production and its metric
    best = _run_of(store, first, 0.9)
    assert f"production model wine-model\\:v1 (run {best}" in md
    page = store.parent / "report.html"
    assert _cli(swept, store, "report", worse, "--format", "html", "-o", str(page)).returncode == 0
    html = page.read_text()
    assert 'id="lineage"' in html and "wine-model:v1" in html and best in html
