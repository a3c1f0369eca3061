"""The SQLite store: schema versions, bad files, atomic claims, merges."""

from __future__ import annotations

import json
import shutil
import sqlite3
import threading
from pathlib import Path

import pytest

from orchestrator.errors import StoreError
from orchestrator.store import SCHEMA_VERSION, claims, open_store
from orchestrator.store import runs as R
from orchestrator.store.artifacts import list_artifacts
from orchestrator.store.merge import merge_stores
from orchestrator.store.promotions import promotions
from orchestrator.store.queries import (
    best_run,
    find_run,
    find_runs,
    leaderboard,
    reproductions_of,
)
from tests.conftest import sweepci

ASSETS = Path(__file__).parent / "assets"
CONFIG = {"method": "grid", "program": "p.py", "parameters": {"x": {"values": list(range(20))}}}


def _sweep(
    store, sweep_id: str | None = None, shard: tuple[int, int] = (0, 1), flags: dict | None = None
):
    return R.create_sweep(
        store,
        project="p-dev",
        method="grid",
        config=CONFIG,
        metric_name="f1",
        metric_goal="maximize",
        env="dev",
        sweep_id=sweep_id,
        shard_index=shard[0],
        shard_count=shard[1],
        flags=flags,
    )


def _grid_suggest(trials, sweep):
    taken = {t.config["x"] for t in trials}
    free = [x for x in range(20) if x not in taken and x % sweep.shard_count == sweep.shard_index]
    return {"x": free[0]} if free else None


def _finish(store, run, value: float) -> None:
    R.finish_run(
        store,
        run.id,
        state="finished",
        exit_code=0,
        reason=None,
        stderr_tail=None,
        summary={"f1": value},
        metric_value=value,
        history=[{"_step": 0, "f1": value}],
    )


@pytest.mark.parametrize("version_file", sorted(ASSETS.glob("store-v*.db")))
def test_every_saved_schema_version_upgrades_and_reads(tmp_path: Path, version_file: Path) -> None:
    copy = tmp_path / version_file.name
    shutil.copy(version_file, copy)
    with open_store(copy) as store:
        version = store.query("SELECT value FROM meta WHERE key = 'schema_version'")[0][0]
        assert int(version) == SCHEMA_VERSION
        sweep = R.get_sweep(store, "v1sweep")
        board = leaderboard(store, sweep)
        assert [r.config["x"] for r in board] == [3, 2, 1]
        assert best_run(store, sweep).metric_value == pytest.approx(0.3)


def test_bad_store_files_are_one_line_errors(tmp_path: Path) -> None:
    text = tmp_path / "notes.db"
    text.write_text("hello, not sqlite")
    with pytest.raises(StoreError, match="not a SQLite file"):
        open_store(text)
    truncated = tmp_path / "trunc.db"
    truncated.write_bytes((ASSETS / "store-v1.db").read_bytes()[:3000])
    with pytest.raises(StoreError):
        with open_store(truncated) as s:
            s.query("SELECT * FROM runs")
    other = tmp_path / "other.db"
    sqlite3.connect(other).execute("CREATE TABLE t (x)").connection.commit()
    with pytest.raises(StoreError, match="not a sweepci store"):
        open_store(other)
    future = tmp_path / "future.db"
    shutil.copy(ASSETS / "store-v1.db", future)
    conn = sqlite3.connect(future)
    conn.execute("UPDATE meta SET value = '99' WHERE key = 'schema_version'")
    conn.commit()
    conn.close()
    with pytest.raises(StoreError, match="newer sweepci"):
        open_store(future)
    before = future.read_bytes()
    proc = sweepci("show", "--store", str(future), cwd=tmp_path)
    assert proc.returncode == 2 and proc.stderr.count("\n") == 1 and "future.db" in proc.stderr
    assert future.read_bytes() == before  # nothing changed


def test_parallel_claims_never_hand_out_a_point_twice(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    with open_store(path) as store:
        sweep = _sweep(store)
    claimed: list[int] = []
    lock = threading.Lock()

    def agent() -> None:
        with open_store(path) as store:
            while True:
                run = claims.claim_next_run(
                    store, sweep.id, threading.current_thread().name, _grid_suggest
                )
                if run is None:
                    return
                with lock:
                    claimed.append(run.config["x"])
                _finish(store, run, 0.5)

    threads = [threading.Thread(target=agent) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(claimed) == list(range(20))
    with open_store(path) as store:
        assert R.get_sweep(store, sweep.id).status == "finished"


def test_run_cap_and_target_stop_claims(tmp_path: Path) -> None:
    with open_store(tmp_path / "s.db") as store:
        sweep = _sweep(store)
        for _ in range(3):
            _finish(
                store, claims.claim_next_run(store, sweep.id, "a", _grid_suggest, run_cap=3), 0.1
            )
        assert claims.claim_next_run(store, sweep.id, "a", _grid_suggest, run_cap=3) is None
        sweep2 = _sweep(store)
        run = claims.claim_next_run(store, sweep2.id, "a", _grid_suggest)
        _finish(store, run, 0.99)
        reached = claims.claim_next_run(
            store,
            sweep2.id,
            "a",
            _grid_suggest,
            target_reached=lambda trials: any(t.value and t.value >= 0.9 for t in trials),
        )
        assert reached is None
        assert R.get_sweep(store, sweep2.id).status_reason == "metric target reached"


def test_merge_of_shards_is_complete_and_idempotent(tmp_path: Path) -> None:
    shards = []
    for k in range(3):
        path = tmp_path / f"shard{k}.db"
        with open_store(path) as store:
            sweep = _sweep(store, sweep_id="matrix1", shard=(k, 3))
            while (
                run := claims.claim_next_run(store, sweep.id, f"a{k}", _grid_suggest)
            ) is not None:
                _finish(store, run, run.config["x"] / 100)
        shards.append(path)
    out = tmp_path / "merged.db"
    first = merge_stores(shards, out)
    assert first.runs_added == 20 and first.sweeps_added == 1
    again = merge_stores(shards, out)
    assert again.runs_added == 0 and again.runs_skipped == 20
    with open_store(out) as store:
        sweep = R.get_sweep(store, "matrix1")
        board = leaderboard(store, sweep)
        assert sorted(r.config["x"] for r in board) == list(range(20))
        assert len({r.seq for r in board}) == 20
        assert best_run(store, sweep).config == {"x": 19}
        assert store.query("SELECT COUNT(*) FROM history")[0][0] == 20


def test_merge_cli_rejects_a_bad_source_before_writing(tmp_path: Path) -> None:
    good = tmp_path / "good.db"
    with open_store(good) as store:
        _sweep(store)
    bad = tmp_path / "bad.db"
    bad.write_text("nope")
    proc = sweepci("merge", str(good), str(bad), "-o", str(tmp_path / "out.db"), cwd=tmp_path)
    assert proc.returncode == 2 and "bad.db" in proc.stderr and not (tmp_path / "out.db").exists()


def _shard_with_artifacts(path: Path, shard: int, model_bytes: list[bytes]) -> list[str]:
    """A matrix shard's store: each run uses the same dataset and logs its own model; its run ids."""
    from orchestrator.store.artifacts import record_artifact
    from orchestrator.store.blobs import FileEntry, add_blob

    path.parent.mkdir(parents=True)
    run_ids = []
    with open_store(path) as store:
        sweep = _sweep(store, sweep_id="matrix1", shard=(shard, 2))
        for content in model_bytes:
            run = claims.claim_next_run(store, sweep.id, f"a{shard}", _grid_suggest)
            _finish(store, run, run.config["x"] / 100)
            for name, type_, data in (
                ("wine-data", "dataset", b"the same rows"),
                ("wine-model", "model", content),
            ):
                file = path.parent / "staging" / name
                file.parent.mkdir(exist_ok=True)
                file.write_bytes(data)
                sha, size = add_blob(store, file)
                record_artifact(
                    store,
                    name=name,
                    type=type_,
                    files=[FileEntry(path=f"{name}.bin", size=size, sha256=sha)],
                    run_id=run.id,
                    sweep_id=sweep.id,
                    used=type_ == "dataset",
                )
            run_ids.append(run.id)
    return run_ids


def test_merging_shards_merges_their_artifacts_by_content(tmp_path: Path) -> None:
    from orchestrator.backends.wandb_sync import _record_synced
    from orchestrator.store.artifacts import resolve, set_alias
    from orchestrator.store.promotions import record_promotion

    shards = tmp_path / "shards"
    # shard 1 retrains one model to the very bytes shard 0 got: one version, two runs
    runs0 = _shard_with_artifacts(shards / "shard-0" / "sweepci.db", 0, [b"model A", b"model B"])
    runs1 = _shard_with_artifacts(shards / "shard-1" / "sweepci.db", 1, [b"model A", b"model C"])
    with open_store(shards / "shard-0" / "sweepci.db") as store:
        set_alias(store, "wine-model", "candidate", resolve(store, "wine-model:v1").id)  # B
    with open_store(shards / "shard-1" / "sweepci.db") as store:
        set_alias(store, "wine-model", "candidate", resolve(store, "wine-model:v1").id)  # C
        set_alias(store, "wine-model", "reviewed", resolve(store, "wine-model:v0").id)  # A
        c = resolve(store, "wine-model:v1")
        record_promotion(
            store,
            c,
            "production",
            sweep_id="matrix1",
            run_id=runs1[1],
            forced=False,
            actor="octocat",
            sha="ab" * 20,
        )
        _record_synced(store, runs1[0], "team/wine-quality-dev/" + runs1[0])
    out = tmp_path / "merged" / "sweepci.db"

    proc = sweepci("merge", str(shards), "-o", str(out), "--json", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    merged = json.loads(proc.stdout)
    assert (merged["runs_added"], merged["artifacts_added"], merged["blobs_copied"]) == (4, 4, 4)
    assert merged["conflicts"] == [
        f"wine-model:candidate is v1 here and v2 in {shards / 'shard-1' / 'sweepci.db'}: kept v1"
    ]
    assert "wine-model:candidate is v1 here and v2" in proc.stderr  # a warning in text mode too
    with open_store(out) as store:
        versions = {a.version: a for a in list_artifacts(store, name="wine-model")}
        assert sorted(versions) == [0, 1, 2]
        assert sorted(versions[0].logged_by) == sorted([runs0[0], runs1[0]])
        assert versions[1].aliases == ["candidate"] and versions[1].run_id == runs0[1]
        assert versions[2].aliases == ["latest", "production"] and versions[2].run_id == runs1[1]
        assert "reviewed" in versions[0].aliases
        (dataset,) = list_artifacts(store, name="wine-data")
        assert dataset.version == 0 and dataset.aliases == ["latest"]
        assert sorted(r[0] for r in store.query("SELECT run_id FROM artifact_usage")) == sorted(
            runs0 + runs1
        )
        (promotion,) = promotions(store, "wine-model")
        assert (promotion["version"], promotion["actor"]) == (2, "octocat")
        assert [r[0] for r in store.query("SELECT run_id FROM synced_runs")] == [runs1[0]]
        assert store.query("SELECT COUNT(*) FROM blobs")[0][0] == 4
    # the files came along: a version shard 1 made is readable from the merged store
    got = sweepci(
        "artifacts",
        "get",
        "wine-model:production",
        "-o",
        str(tmp_path / "c"),
        "--store",
        str(out),
        cwd=tmp_path,
    )
    assert got.returncode == 0, got.stderr
    assert (tmp_path / "c" / "wine-model.bin").read_bytes() == b"model C"

    again = sweepci("merge", str(shards), "-o", str(out), "--json", cwd=tmp_path)
    assert again.returncode == 0, again.stderr
    second = json.loads(again.stdout)
    added = (
        "runs_added",
        "artifacts_added",
        "aliases_added",
        "usage_added",
        "promotions_added",
        "blobs_copied",
    )
    assert [second[k] for k in added] == [0] * len(added)
    with open_store(out) as store:
        counts = [
            store.query(f"SELECT COUNT(*) FROM {t}")[0][0]
            for t in ("artifacts", "artifact_aliases", "artifact_usage", "promotions", "blobs")
        ]
        assert counts == [4, 5, 4, 1, 4]


def test_find_runs_by_commit_prefix(tmp_path: Path) -> None:
    with open_store(tmp_path / "s.db") as store:
        sweep = _sweep(store)
        for i, sha in enumerate(["ab" * 20, "ac" * 20, "ab" * 20]):
            run = claims.claim_next_run(
                store, sweep.id, "a", _grid_suggest, context={"branch": "b", "sha": sha}
            )
            _finish(store, run, float(i))
        assert len(find_runs(store, commit="abab")) == 2
        assert len(find_runs(store, commit="ac" * 20)) == 1
        assert find_runs(store, commit="ffff") == []
        assert {r.sha for r in find_runs(store, commit="a")} == {"ab" * 20, "ac" * 20}


def test_reading_commands_upgrade_an_older_store(tmp_path: Path) -> None:
    old = tmp_path / "old.db"
    shutil.copy(ASSETS / "store-v1.db", old)
    proc = sweepci("report", "v1sweep", "--format", "json", "--store", str(old), cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["best"]["metric_value"] == pytest.approx(0.3)
    with sqlite3.connect(old) as conn:
        assert conn.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()[
            0
        ] == str(SCHEMA_VERSION)


def test_a_v3_store_upgrades_and_then_links_a_reproduction_to_its_run(tmp_path: Path) -> None:
    old = tmp_path / "v3.db"
    shutil.copy(ASSETS / "store-v3.db", old)
    with sqlite3.connect(old) as conn:
        assert (
            conn.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()[0] == "3"
        )
        assert "reproduces" not in {r[1] for r in conn.execute("PRAGMA table_info(runs)")}
    with open_store(old) as store:
        original = leaderboard(store, R.get_sweep(store, "v1sweep"))[0]
        assert original.reproduces is None  # runs written before v4 reproduce nothing
        again = R.create_sweep(
            store,
            project="p-dev",
            method="grid",
            config=CONFIG,
            metric_name="f1",
            metric_goal="maximize",
            flags={"reproduces": original.id},
        )
        run = claims.claim_next_run(
            store, again.id, "a", lambda trials, sweep: dict(original.config)
        )
        assert run.reproduces == original.id
        assert [r.id for r in reproductions_of(store, original.id)] == [run.id]
        assert find_run(store, run.id[:5]).reproduces == original.id
        assert find_run(store, "nosuchrun") is None


def test_latest_is_the_last_sweep_that_is_not_a_reproduction(tmp_path: Path) -> None:
    store = open_store(tmp_path / "s.db")
    first = _sweep(store)
    rerun = _sweep(store, flags={"reproduces": "r0", "target_total": 1})
    # `sweepci report` after `sweepci reproduce` still means the sweep the team ran
    assert R.get_sweep(store, "latest").id == first.id
    assert R.get_sweep(store, rerun.id).id == rerun.id
    # a store holding only reproductions still has a latest sweep
    only = open_store(tmp_path / "only.db")
    alone = _sweep(only, flags={"reproduces": "r0"})
    assert R.get_sweep(only, "latest").id == alone.id
