"""Merging the artifact area of a store (attached as `src`) into another: blobs, versions, aliases.

Versions are matched by content, as when they are logged: a version whose
(name, digest) the output already holds is that version (its `logged_by`
runs are added to it); new content becomes the next `vN` of its name.
`latest` then names the version logged last. Any other alias is copied unless
the output already gives it to another version: the output's is kept and the
clash reported, since a promotion is not undone by a merge. Everything is
matched by content or key, so merging a store twice adds nothing.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from orchestrator.store.artifacts import LATEST, put_alias
from orchestrator.store.blobs import blob_file, blob_path, copy_verified
from orchestrator.store.db import Store
from orchestrator.store.merge_result import MergeResult

_PROMOTION_COLUMNS = ("sweep_id", "run_id", "alias", "forced", "actor", "sha", "note", "at")


def copy_blobs(conn: sqlite3.Connection, src_root: Path, out: Store, result: MergeResult) -> None:
    """Copy the blob files of `src` that `out` lacks (before the rows, so no row lacks its file).

    `merge_checks` vetted the source first; here too a blob's file is found from its
    checked digest (never from the `path` a row names) and verified as it is copied."""
    for row in conn.execute("SELECT digest, size FROM src.blobs").fetchall():
        target = blob_path(out, row["digest"])
        if target.is_file() and target.stat().st_size == row["size"]:
            continue
        source = blob_file(src_root, row["digest"])
        if not source.is_file():
            result.blobs_missing.append(row["digest"])
            continue
        copy_verified(source, target, row["digest"])  # readers see a whole blob or none
        result.blobs_copied += 1


def merge_artifact_rows(
    conn: sqlite3.Connection, out: Store, src_name: str, result: MergeResult
) -> None:
    """Inside the merge transaction: rows of the artifact area of `src` (runs are merged already)."""
    conn.execute("INSERT OR IGNORE INTO synced_runs SELECT * FROM src.synced_runs")
    for row in conn.execute("SELECT digest, size FROM src.blobs").fetchall():
        conn.execute(
            "INSERT OR IGNORE INTO blobs (digest, size, path) VALUES (?,?,?)",
            (row[0], row[1], str(blob_path(out, row[0]).relative_to(out.root))),
        )
    ids = _merge_versions(conn, src_name, result)
    _merge_aliases(conn, ids, src_name, result)
    before = conn.total_changes
    for run_id, artifact_id in conn.execute("SELECT * FROM src.artifact_usage").fetchall():
        if artifact_id in ids:
            conn.execute(
                "INSERT OR IGNORE INTO artifact_usage (run_id, artifact_id) VALUES (?,?)",
                (run_id, ids[artifact_id]),
            )
    result.usage_added += conn.total_changes - before
    _merge_promotions(conn, ids, result)


def _merge_versions(conn: sqlite3.Connection, src_name: str, result: MergeResult) -> dict[int, int]:
    """Match or add each version of `src`; {its id in src: its id in the output}."""
    ids: dict[int, int] = {}
    rows = conn.execute("SELECT * FROM src.artifacts ORDER BY created_at, id").fetchall()
    for row in rows:
        known_type = conn.execute(
            "SELECT type FROM artifacts WHERE name = ? LIMIT 1", (row["name"],)
        ).fetchone()
        if known_type and known_type[0] != row["type"]:
            result.conflicts.append(
                f"{row['name']}:v{row['version']} in {src_name} is a {row['type']} artifact, "
                f"here {row['name']} is a {known_type[0]}: not merged"
            )
            continue
        same = conn.execute(
            "SELECT id, manifest_json FROM artifacts WHERE name = ? AND digest = ?",
            (row["name"], row["digest"]),
        ).fetchone()
        if same is not None:
            ids[row["id"]] = same["id"]
            manifest = json.loads(same["manifest_json"])
            logged_by = manifest.setdefault("logged_by", [])
            added = [
                r
                for r in json.loads(row["manifest_json"]).get("logged_by", [])
                if r not in logged_by
            ]
            if added:
                logged_by += added
                conn.execute(
                    "UPDATE artifacts SET manifest_json = ? WHERE id = ?",
                    (json.dumps(manifest), same["id"]),
                )
            continue
        version = conn.execute(
            "SELECT COALESCE(MAX(version) + 1, 0) FROM artifacts WHERE name = ?", (row["name"],)
        ).fetchone()[0]
        data = {k: row[k] for k in row.keys() if k != "id"}
        data["version"] = version
        ids[row["id"]] = conn.execute(
            f"INSERT INTO artifacts ({', '.join(data)}) VALUES ({', '.join('?' * len(data))})",
            tuple(data.values()),
        ).lastrowid
        result.artifacts_added += 1
    return ids


def _merge_aliases(
    conn: sqlite3.Connection, ids: dict[int, int], src_name: str, result: MergeResult
) -> None:
    rows = conn.execute("SELECT name, alias, artifact_id FROM src.artifact_aliases").fetchall()
    for name, alias, src_id in rows:
        if alias == LATEST or src_id not in ids:
            continue
        held = conn.execute(
            "SELECT a.id, a.version FROM artifact_aliases x JOIN artifacts a ON a.id = x.artifact_id"
            " WHERE x.name = ? AND x.alias = ?",
            (name, alias),
        ).fetchone()
        if held is None:
            put_alias(conn, name, alias, ids[src_id])
            result.aliases_added += 1
        elif held["id"] != ids[src_id]:
            theirs = conn.execute("SELECT version FROM artifacts WHERE id = ?", (ids[src_id],))
            result.conflicts.append(
                f"{name}:{alias} is v{held['version']} here and v{theirs.fetchone()[0]} "
                f"in {src_name}: kept v{held['version']}"
            )
    # latest: of the version `latest` names here and the one it names in src, the newer
    for (name,) in conn.execute("SELECT DISTINCT name FROM src.artifacts").fetchall():
        theirs = conn.execute(
            "SELECT artifact_id FROM src.artifact_aliases WHERE name = ? AND alias = ?",
            (name, LATEST),
        ).fetchone()
        candidates = [ids[theirs[0]]] if theirs and theirs[0] in ids else []
        ours = conn.execute(
            "SELECT artifact_id FROM artifact_aliases WHERE name = ? AND alias = ?", (name, LATEST)
        ).fetchone()
        candidates += [ours[0]] if ours else []
        where = f"id IN ({', '.join('?' * len(candidates))})" if candidates else "name = ?"
        newest = conn.execute(
            f"SELECT id FROM artifacts WHERE {where} ORDER BY created_at DESC, version DESC LIMIT 1",
            tuple(candidates) or (name,),
        ).fetchone()
        if newest is not None:
            put_alias(conn, name, LATEST, newest[0])


def _merge_promotions(conn: sqlite3.Connection, ids: dict[int, int], result: MergeResult) -> None:
    """Promotions have no natural key: one is the same when all its fields are."""
    cols = ", ".join(_PROMOTION_COLUMNS)
    for row in conn.execute(
        f"SELECT {cols}, artifact_id, previous_artifact_id FROM src.promotions"
    ).fetchall():
        if row["artifact_id"] is not None and row["artifact_id"] not in ids:
            continue  # its version was not merged (a conflict, reported above)
        values = [row[c] for c in _PROMOTION_COLUMNS]
        artifact_id = ids.get(row["artifact_id"]) if row["artifact_id"] is not None else None
        previous = (
            ids.get(row["previous_artifact_id"])
            if row["previous_artifact_id"] is not None
            else None
        )
        match = " AND ".join(f"{c} IS ?" for c in _PROMOTION_COLUMNS)
        exists = conn.execute(
            f"SELECT 1 FROM promotions WHERE {match} AND artifact_id IS ?", (*values, artifact_id)
        ).fetchone()
        if exists is None:
            conn.execute(
                f"INSERT INTO promotions ({cols}, artifact_id, previous_artifact_id)"
                f" VALUES ({', '.join('?' * (len(values) + 2))})",
                (*values, artifact_id, previous),
            )
            result.promotions_added += 1
