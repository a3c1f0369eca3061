"""The SQLite store: schema versions, bad files, atomic claims, merges."""

from __future__ import annotations

import shutil
import sqlite3
import threading
from pathlib import Path

import pytest

from orchestrator.errors import StoreError
from orchestrator.store import SCHEMA_VERSION, open_store
from orchestrator.store import runs as R
from orchestrator.store.merge import merge_stores
from orchestrator.store.queries import best_run, find_runs, leaderboard
from tests.conftest import sweepci

ASSETS = Path(__file__).parent / "assets"
CONFIG = {"method": "grid", "program": "p.py", "parameters": {"x": {"values": list(range(20))}}}


def _sweep(store, sweep_id: str | None = None, shard: tuple[int, int] = (0, 1)):
    return R.create_sweep(store, project="p-dev", method="grid", config=CONFIG, metric_name="f1",
                          metric_goal="maximize", env="dev", sweep_id=sweep_id, shard_index=shard[0], shard_count=shard[1])


def _grid_suggest(trials, sweep):
    taken = {t.config["x"] for t in trials}
    free = [x for x in range(20) if x not in taken and x % sweep.shard_count == sweep.shard_index]
    return {"x": free[0]} if free else None


def _finish(store, run, value: float) -> None:
    R.finish_run(store, run.id, state="finished", exit_code=0, reason=None, stderr_tail=None,
                 summary={"f1": value}, metric_value=value, history=[{"_step": 0, "f1": value}])


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
                run = R.claim_next_run(store, sweep.id, threading.current_thread().name, _grid_suggest)
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
            _finish(store, R.claim_next_run(store, sweep.id, "a", _grid_suggest, run_cap=3), 0.1)
        assert R.claim_next_run(store, sweep.id, "a", _grid_suggest, run_cap=3) is None
        sweep2 = _sweep(store)
        run = R.claim_next_run(store, sweep2.id, "a", _grid_suggest)
        _finish(store, run, 0.99)
        reached = R.claim_next_run(store, sweep2.id, "a", _grid_suggest,
                                   target_reached=lambda trials: any(t.value and t.value >= 0.9 for t in trials))
        assert reached is None
        assert R.get_sweep(store, sweep2.id).status_reason == "metric target reached"


def test_merge_of_shards_is_complete_and_idempotent(tmp_path: Path) -> None:
    shards = []
    for k in range(3):
        path = tmp_path / f"shard{k}.db"
        with open_store(path) as store:
            sweep = _sweep(store, sweep_id="matrix1", shard=(k, 3))
            while (run := R.claim_next_run(store, sweep.id, f"a{k}", _grid_suggest)) is not None:
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


def test_find_runs_by_commit_prefix(tmp_path: Path) -> None:
    with open_store(tmp_path / "s.db") as store:
        sweep = _sweep(store)
        for i, sha in enumerate(["ab" * 20, "ac" * 20, "ab" * 20]):
            run = R.claim_next_run(store, sweep.id, "a", _grid_suggest, context={"branch": "b", "sha": sha})
            _finish(store, run, float(i))
        assert len(find_runs(store, commit="abab")) == 2
        assert len(find_runs(store, commit="ac" * 20)) == 1
        assert find_runs(store, commit="ffff") == []
        assert {r.sha for r in find_runs(store, commit="a")} == {"ab" * 20, "ac" * 20}
