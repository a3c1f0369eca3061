"""What `merge` checks before it writes anything: sources are untrusted stores.

A store to merge may come from another job, an artifact or a fork. Before the
first byte is written, every source is read and refused (one line naming the
file) when:

- a blob name (its `blobs` table or an artifact manifest) is not a sha256
  digest, or a manifest names a file outside its artifact;
- a blob's bytes do not hash to its name (the file is found from the
  digest, never from a path the store names);
- it would mix environments: a sweep id the output (or another source)
  holds with another env or project, or a run whose env is not its sweep's.
  A dev sweep's runs never enter a prod sweep, so `promote` never sees them.
"""

from __future__ import annotations

import json
import os
import sqlite3
from pathlib import Path
from typing import Any

from orchestrator.errors import Location, StoreError
from orchestrator.store.blobs import blob_file, check_digest, check_entry_path, verify_blob
from orchestrator.store.db import open_store


def check_sources(sources: list[Path], output: Path) -> None:
    """Raise StoreError for the first source that must not be merged into `output`."""
    sweeps: dict[str, tuple[str | None, str | None, str]] = {}
    if output.exists() and output.stat().st_size > 0:
        with open_store(output, create=False, readonly=True) as out:
            _sweeps_of(out.conn, str(output), sweeps)
    for src in sources:
        with open_store(src, create=False, readonly=True) as store:
            try:
                _sweeps_of(store.conn, str(src), sweeps)
                _check_runs(store.conn, str(src), sweeps)
                _check_artifact_area(store.conn, src)
            except sqlite3.DatabaseError as exc:
                raise StoreError(f"cannot read it: {exc}", Location(str(src))) from None


def _sweeps_of(
    conn: sqlite3.Connection, where: str, seen: dict[str, tuple[str | None, str | None, str]]
) -> None:
    for row in conn.execute("SELECT id, env, project FROM sweeps"):
        known = seen.get(row["id"])
        if known is None:
            seen[row["id"]] = (row["env"], row["project"], where)
        elif known[:2] != (row["env"], row["project"]):
            raise StoreError(
                f"sweep {row['id']} is a {row['env'] or 'no-env'} sweep of project "
                f"{row['project']} here, but a {known[0] or 'no-env'} sweep of project {known[1]} "
                f"in {known[2]}; stores of different environments or projects are never merged",
                Location(where),
            )


def _check_runs(
    conn: sqlite3.Connection, where: str, sweeps: dict[str, tuple[str | None, str | None, str]]
) -> None:
    for row in conn.execute("SELECT id, sweep_id, env FROM runs WHERE env IS NOT NULL"):
        sweep = sweeps.get(row["sweep_id"])
        if sweep is not None and sweep[0] is not None and row["env"] != sweep[0]:
            raise StoreError(
                f"run {row['id']} is a {row['env']} run in the {sweep[0]} sweep {row['sweep_id']}; "
                "runs of one environment are never merged into a sweep of another",
                Location(where),
            )


def _has_table(conn: sqlite3.Connection, name: str) -> bool:
    row = conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (name,))
    return row.fetchone() is not None


def _check_artifact_area(conn: sqlite3.Connection, src: Path) -> None:
    where = str(src)
    if _has_table(conn, "artifacts"):
        for (text,) in conn.execute("SELECT manifest_json FROM artifacts"):
            for entry in _manifest_files(text, where):
                if entry.get("sha256"):
                    check_digest(entry["sha256"], where)
                check_entry_path(entry.get("path"), where)
    if not _has_table(conn, "blobs"):
        return
    root = src.resolve().parent
    for (digest,) in conn.execute("SELECT digest FROM blobs"):
        path = blob_file(root, check_digest(digest, where))
        if os.path.lexists(path):
            verify_blob(path, digest)


def _manifest_files(text: Any, where: str) -> list[dict[str, Any]]:
    try:
        manifest = json.loads(text)
    except (TypeError, ValueError):
        raise StoreError("holds an artifact manifest that is not JSON", Location(where)) from None
    files = manifest.get("files", []) if isinstance(manifest, dict) else None
    if not isinstance(files, list) or not all(isinstance(f, dict) for f in files):
        raise StoreError("holds an artifact manifest without a list of files", Location(where))
    return files
