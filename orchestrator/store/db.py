"""Opening the store file: checks, WAL, schema version and migrations."""

from __future__ import annotations

import contextlib
import os
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path

from orchestrator.errors import Location, StoreError

SCHEMA_VERSION = 3
SQLITE_MAGIC = b"SQLite format 3\x00"

_SCHEMA_V1 = """
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE sweeps (
    id TEXT PRIMARY KEY,
    name TEXT,
    project TEXT NOT NULL,
    env TEXT,
    backend TEXT NOT NULL DEFAULT 'local',
    method TEXT NOT NULL,
    metric_name TEXT,
    metric_goal TEXT,
    config_json TEXT NOT NULL,
    sweep_file TEXT,
    seed INTEGER NOT NULL DEFAULT 0,
    shard_index INTEGER NOT NULL DEFAULT 0,
    shard_count INTEGER NOT NULL DEFAULT 1,
    status TEXT NOT NULL DEFAULT 'running',
    status_reason TEXT,
    context_json TEXT NOT NULL DEFAULT '{}',
    flags_json TEXT NOT NULL DEFAULT '{}',
    remote_path TEXT,
    created_at REAL NOT NULL,
    updated_at REAL NOT NULL
);
CREATE TABLE runs (
    id TEXT PRIMARY KEY,
    sweep_id TEXT NOT NULL REFERENCES sweeps(id),
    seq INTEGER NOT NULL,
    config_key TEXT NOT NULL,
    config_json TEXT NOT NULL,
    state TEXT NOT NULL,
    reason TEXT,
    exit_code INTEGER,
    stderr_tail TEXT,
    tags_json TEXT NOT NULL DEFAULT '[]',
    agent_id TEXT,
    host TEXT,
    pid INTEGER,
    pgid INTEGER,
    heartbeat_at REAL,
    created_at REAL NOT NULL,
    started_at REAL,
    ended_at REAL,
    metric_value REAL,
    summary_json TEXT NOT NULL DEFAULT '{}',
    branch TEXT,
    sha TEXT,
    env TEXT,
    run_dir TEXT,
    UNIQUE (sweep_id, seq)
);
CREATE INDEX runs_by_sweep_state ON runs (sweep_id, state, metric_value);
CREATE INDEX runs_by_sha ON runs (sha);
CREATE INDEX runs_by_branch ON runs (branch, created_at);
CREATE INDEX runs_by_created ON runs (created_at);
CREATE TABLE history (
    run_id TEXT NOT NULL REFERENCES runs(id),
    step INTEGER NOT NULL,
    data_json TEXT NOT NULL,
    PRIMARY KEY (run_id, step)
) WITHOUT ROWID;
"""

# v2: leaderboards of 100k-run sweeps read in metric order from an index
_V1_TO_V2 = """
CREATE INDEX runs_by_sweep_metric ON runs (sweep_id, metric_value);
"""

# v3: runs uploaded to W&B (`sweepci sync`), and the artifact area: content-addressed
# blobs, versioned artifacts with aliases, lineage (which run used which artifact)
# and promotions (who gave which model an alias, when, from which commit)
_V2_TO_V3 = """
CREATE TABLE synced_runs (
    run_id TEXT PRIMARY KEY REFERENCES runs(id),
    remote_path TEXT NOT NULL,
    synced_at REAL NOT NULL
);
CREATE TABLE blobs (
    digest TEXT PRIMARY KEY,
    size INTEGER NOT NULL,
    path TEXT NOT NULL
);
CREATE TABLE artifacts (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    type TEXT NOT NULL,
    version INTEGER NOT NULL,
    digest TEXT NOT NULL,
    run_id TEXT REFERENCES runs(id),
    sweep_id TEXT REFERENCES sweeps(id),
    metadata_json TEXT NOT NULL DEFAULT '{}',
    manifest_json TEXT NOT NULL DEFAULT '{}',
    created_at REAL NOT NULL,
    UNIQUE (name, version),
    UNIQUE (name, digest)
);
CREATE TABLE artifact_aliases (
    name TEXT NOT NULL,
    alias TEXT NOT NULL,
    artifact_id INTEGER NOT NULL REFERENCES artifacts(id),
    PRIMARY KEY (name, alias)
);
CREATE TABLE artifact_usage (
    run_id TEXT NOT NULL REFERENCES runs(id),
    artifact_id INTEGER NOT NULL REFERENCES artifacts(id),
    PRIMARY KEY (run_id, artifact_id)
);
CREATE TABLE promotions (
    id INTEGER PRIMARY KEY,
    sweep_id TEXT,
    run_id TEXT,
    artifact_id INTEGER REFERENCES artifacts(id),
    alias TEXT NOT NULL,
    previous_artifact_id INTEGER,
    forced INTEGER NOT NULL DEFAULT 0,
    actor TEXT,
    sha TEXT,
    note TEXT,
    at REAL NOT NULL
);
"""

# version -> SQL that upgrades from version-1 to version
MIGRATIONS: dict[int, str] = {1: _SCHEMA_V1, 2: _V1_TO_V2, 3: _V2_TO_V3}


class Store:
    """A connection to one store file. Use `transaction()` for writes."""

    def __init__(self, conn: sqlite3.Connection, path: Path):
        self.conn = conn
        self.path = path

    @property
    def root(self) -> Path:
        """Directory beside the store file for run folders and artifacts."""
        return self.path.resolve().parent

    @contextlib.contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """A short write transaction: BEGIN IMMEDIATE takes the write lock up front,
        so two agents never read the same state and then both write."""
        try:
            self.conn.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as exc:
            raise StoreError(_explain(exc), Location(str(self.path))) from None
        try:
            yield self.conn
        except BaseException:
            self.conn.execute("ROLLBACK")
            raise
        else:
            try:
                self.conn.execute("COMMIT")
            except sqlite3.OperationalError as exc:
                self.conn.execute("ROLLBACK")
                raise StoreError(_explain(exc), Location(str(self.path))) from None

    def query(self, sql: str, params: tuple | dict = ()) -> list[sqlite3.Row]:
        try:
            return self.conn.execute(sql, params).fetchall()
        except sqlite3.DatabaseError as exc:
            raise StoreError(_explain(exc), Location(str(self.path))) from None

    def close(self) -> None:
        self.conn.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _explain(exc: sqlite3.Error) -> str:
    text = str(exc)
    if "locked" in text or "busy" in text:
        return "the store is locked by another process (still locked after waiting 30 s)"
    if "disk" in text and "full" in text or "SQLITE_FULL" in text:
        return "the disk is full; nothing was written (free space and resume)"
    if "malformed" in text or "not a database" in text:
        return "the store file is damaged or not a sweepci store"
    if "readonly" in text:
        return "the store is read-only"
    return f"store error: {text}"


def _check_file(path: Path) -> None:
    if path.is_dir():
        raise StoreError("is a directory, not a store file", Location(str(path)))
    if path.exists() and path.stat().st_size > 0:
        with open(path, "rb") as fh:
            head = fh.read(16)
        if head != SQLITE_MAGIC:
            raise StoreError("is not a SQLite file (not a sweepci store)", Location(str(path)))


def open_store(path: str | os.PathLike, create: bool = True, readonly: bool = False) -> Store:
    """Open (and with `create`, make) a store file, migrating it to the current schema."""
    p = Path(path)
    _check_file(p)
    if not p.exists():
        if not create:
            raise StoreError("no such store file (run a sweep first, or pass --store)", Location(str(p)))
        try:
            p.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StoreError(f"cannot create the store directory: {exc.strerror}", Location(str(p))) from None
    try:
        if readonly:
            conn = sqlite3.connect(f"file:{p}?mode=ro", uri=True, timeout=30, isolation_level=None)
        else:
            conn = sqlite3.connect(str(p), timeout=30, isolation_level=None)
        conn.row_factory = sqlite3.Row
        conn.execute("PRAGMA busy_timeout = 30000")
        if not readonly:
            conn.execute("PRAGMA journal_mode = WAL")
            conn.execute("PRAGMA synchronous = NORMAL")
        conn.execute("PRAGMA foreign_keys = ON")
    except sqlite3.DatabaseError as exc:
        raise StoreError(_explain(exc), Location(str(p))) from None
    store = Store(conn, p)
    try:
        _migrate(store, readonly)
    except sqlite3.DatabaseError as exc:
        conn.close()
        raise StoreError(_explain(exc), Location(str(p))) from None
    except StoreError:
        conn.close()
        raise
    return store


def schema_version(store: Store) -> int:
    tables = {r[0] for r in store.conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    if not tables:
        return 0
    if "meta" not in tables:
        raise StoreError("is a SQLite file but not a sweepci store (no meta table)", Location(str(store.path)))
    row = store.conn.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()
    if row is None:
        raise StoreError("is not a sweepci store (no schema version)", Location(str(store.path)))
    try:
        return int(row[0])
    except ValueError:
        raise StoreError(f"has an unreadable schema version {row[0]!r}", Location(str(store.path))) from None


def _migrate(store: Store, readonly: bool) -> None:
    version = schema_version(store)
    if version > SCHEMA_VERSION:
        raise StoreError(
            f"was written by a newer sweepci (schema {version}, this one reads up to {SCHEMA_VERSION}); upgrade sweepci",
            Location(str(store.path)),
        )
    if version == SCHEMA_VERSION:
        return
    if readonly:
        raise StoreError(f"has schema {version}; open it once without --readonly to upgrade", Location(str(store.path)))
    with store.transaction() as conn:
        # re-read inside the write lock: another agent may have migrated meanwhile
        version = schema_version(store)
        for target in range(version + 1, SCHEMA_VERSION + 1):
            for statement in MIGRATIONS[target].split(";"):
                if statement.strip():
                    conn.execute(statement)
            conn.execute(
                "INSERT INTO meta (key, value) VALUES ('schema_version', ?) "
                "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                (str(target),),
            )
        conn.execute(
            "INSERT OR IGNORE INTO meta (key, value) VALUES ('created_at', ?)", (str(time.time()),)
        )
