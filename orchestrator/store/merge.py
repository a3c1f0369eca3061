"""Merging stores from parallel jobs (matrix shards) into one, without duplicates."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from orchestrator.errors import Location, StoreError
from orchestrator.store.db import open_store
from orchestrator.store.merge_artifacts import copy_blobs, merge_artifact_rows
from orchestrator.store.merge_checks import check_sources
from orchestrator.store.merge_result import MergeResult

_SWEEP_COLUMNS = (
    "id",
    "name",
    "project",
    "env",
    "backend",
    "method",
    "metric_name",
    "metric_goal",
    "config_json",
    "sweep_file",
    "seed",
    "shard_index",
    "shard_count",
    "status",
    "status_reason",
    "context_json",
    "flags_json",
    "remote_path",
    "created_at",
    "updated_at",
)


def merge_stores(sources: list[str | Path], output: str | Path) -> MergeResult:
    """Copy every sweep, run and history row and the artifact area of `sources` into `output`.

    Runs are identified by id and artifact versions by content (see
    `merge_artifacts`), so merging the same shard twice adds nothing.
    Shards of one sweep (created with a shared --sweep-id) merge into one sweep
    record, which stays open unless every shard finished. Each source is
    checked before anything is written (`merge_checks`: readable, blob names and
    bytes, no mixing of environments); each source merges in one transaction.
    """
    result = MergeResult()
    out_path = Path(output)
    for src in sources:
        if out_path.exists() and Path(src).resolve() == out_path.resolve():
            raise StoreError("cannot merge a store into itself", Location(str(src)))
    # every source: SQLite, a sweepci schema this version reads, its blobs, its environments
    check_sources([Path(src) for src in sources], out_path)
    with open_store(out_path) as out:
        for src in sources:
            out.conn.execute("ATTACH DATABASE ? AS src", (f"file:{Path(src).resolve()}?mode=ro",))
            try:
                copy_blobs(out.conn, Path(src).resolve().parent, out, result)
                with out.transaction() as conn:
                    _merge_one(conn, result)
                    merge_artifact_rows(conn, out, str(src), result)
            except sqlite3.DatabaseError as exc:
                raise StoreError(f"cannot merge: {exc}", Location(str(src))) from None
            except OSError as exc:  # copying artifact files: a full disk, a missing permission
                raise StoreError(
                    f"cannot copy its artifact files: {exc}", Location(str(src))
                ) from None
            finally:
                out.conn.execute("DETACH DATABASE src")
            result.sources.append(str(src))
    return result


def _merge_one(conn: sqlite3.Connection, result: MergeResult) -> None:
    cols = ", ".join(_SWEEP_COLUMNS)
    before = conn.total_changes
    conn.execute(f"INSERT OR IGNORE INTO sweeps ({cols}) SELECT {cols} FROM src.sweeps")
    result.sweeps_added += conn.total_changes - before
    conn.execute(
        "UPDATE sweeps SET status = 'running', status_reason = 'a shard did not finish' "
        "WHERE id IN (SELECT id FROM src.sweeps WHERE status != 'finished')"
    )
    existing = {
        r[0] for r in conn.execute("SELECT id FROM runs WHERE id IN (SELECT id FROM src.runs)")
    }
    next_seq = {
        r[0]: r[1] + 1
        for r in conn.execute("SELECT sweep_id, MAX(seq) FROM runs GROUP BY sweep_id")
    }
    rows = conn.execute("SELECT * FROM src.runs ORDER BY created_at, id").fetchall()
    for row in rows:
        if row["id"] in existing:
            result.runs_skipped += 1
            continue
        data = dict(row)
        # shards number their runs independently: renumber within the merged sweep
        data["seq"] = next_seq.get(data["sweep_id"], 0)
        next_seq[data["sweep_id"]] = data["seq"] + 1
        names = ", ".join(data)
        conn.execute(
            f"INSERT INTO runs ({names}) VALUES ({', '.join('?' * len(data))})",
            tuple(data.values()),
        )
        result.runs_added += 1
    before = conn.total_changes
    conn.execute("INSERT OR IGNORE INTO history SELECT * FROM src.history")
    result.history_rows += conn.total_changes - before
    conn.execute("INSERT OR IGNORE INTO run_traces SELECT * FROM src.run_traces")
