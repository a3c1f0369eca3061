"""Opening the store file: checks, WAL, schema version and migrations."""

from __future__ import annotations

import contextlib
import os
import sqlite3
import time
import urllib.parse
from collections.abc import Iterator
from pathlib import Path

from orchestrator.errors import Location, StoreError, UsageError
from orchestrator.store.schema import MIGRATIONS, SCHEMA_VERSION

SQLITE_MAGIC = b"SQLite format 3\x00"
DEFAULT_BUSY_TIMEOUT_S = 30.0
#: seconds a command waits for another process's write lock before giving up
BUSY_TIMEOUT_ENV = "SWEEPCI_BUSY_TIMEOUT"


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
        except sqlite3.DatabaseError as exc:
            # a full disk or an I/O error: SQLite may have rolled back already
            self._rollback()
            raise StoreError(_explain(exc), Location(str(self.path))) from None
        except BaseException:
            self._rollback()
            raise
        else:
            try:
                self.conn.execute("COMMIT")
            except sqlite3.DatabaseError as exc:
                self._rollback()
                raise StoreError(_explain(exc), Location(str(self.path))) from None

    def _rollback(self) -> None:
        if self.conn.in_transaction:
            try:
                self.conn.execute("ROLLBACK")
            except sqlite3.DatabaseError:
                pass  # nothing was committed; the connection is closed on the way out

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


def busy_timeout() -> float:
    """How long to wait for a lock held by another process (env SWEEPCI_BUSY_TIMEOUT, seconds)."""
    raw = os.environ.get(BUSY_TIMEOUT_ENV, "").strip()
    if not raw:
        return DEFAULT_BUSY_TIMEOUT_S
    try:
        value = float(raw)
    except ValueError:
        value = -1.0
    if not 0 <= value <= 86400:
        raise UsageError(f"{BUSY_TIMEOUT_ENV}={raw!r}: give a number of seconds from 0 to 86400")
    return value


def _explain(exc: sqlite3.Error) -> str:
    text = str(exc)
    if "locked" in text or "busy" in text:
        return f"the store is locked by another process (still locked after waiting {busy_timeout():g} s)"
    if "disk" in text and "full" in text or "SQLITE_FULL" in text:
        return "the disk is full; nothing was written (free space and resume)"
    if "disk I/O error" in text:
        return "the store could not be written (disk I/O error: a full disk or a file-size limit?); resume once fixed"
    if "malformed" in text or "not a database" in text:
        return "the store file is damaged or not a sweepci store"
    if "readonly" in text:
        return "the store is read-only"
    if "unable to open" in text:
        return "cannot open the store file (is its directory writable?)"
    return f"store error: {text}"


def _check_file(path: Path) -> None:
    if path.is_dir():
        raise StoreError("is a directory, not a store file", Location(str(path)))
    if path.exists() and path.stat().st_size > 0:
        with open(path, "rb") as fh:
            head = fh.read(16)
        if head != SQLITE_MAGIC:
            raise StoreError("is not a SQLite file (not a sweepci store)", Location(str(path)))


def _writable(path: Path) -> bool:
    return os.access(path, os.W_OK) and os.access(path.resolve().parent, os.W_OK)


def _connect(p: Path, readonly: bool, wait: float) -> sqlite3.Connection:
    if readonly and not _writable(p):
        # nothing can write to a store in a read-only place; without its -shm file SQLite can
        # only read a WAL store as immutable (a downloaded artifact, a read-only mount)
        immutable = "&immutable=1" if not Path(f"{p}-shm").exists() else ""
        uri = f"file:{urllib.parse.quote(str(p.resolve()))}?mode=ro{immutable}"
        return sqlite3.connect(uri, uri=True, timeout=wait, isolation_level=None)
    conn = sqlite3.connect(str(p), timeout=wait, isolation_level=None)
    if readonly:
        # a mode=ro connection to a WAL store leaves -wal and -shm files behind (it may not
        # delete them); a read-write connection that refuses writes cleans up after itself
        conn.execute("PRAGMA query_only = ON")
    return conn


def _remove_new_sidecars(p: Path, existed: dict[str, bool]) -> None:
    """After a failed open, remove the empty -wal and the -shm SQLite made for a file that is
    not a usable store (nothing else uses them: they did not exist before)."""
    wal, shm = Path(f"{p}-wal"), Path(f"{p}-shm")
    try:
        if not existed["wal"] and wal.exists() and wal.stat().st_size == 0:
            wal.unlink()
            if not existed["shm"] and shm.exists():
                shm.unlink()
    except OSError:
        pass


#: store files this process opened, last one last: a damaged one is named in the error line
OPENED: list[str] = []


def open_store(path: str | os.PathLike, create: bool = True, readonly: bool = False) -> Store:
    """Open (and with `create`, make) a store file, migrating it to the current schema.

    A file that is not a sweepci store is left exactly as it was: its journal mode is
    switched to WAL only once its schema has been checked.
    """
    p = Path(path)
    _check_file(p)
    if not p.exists():
        if not create:
            raise StoreError(
                "no such store file (run a sweep first, or pass --store)", Location(str(p))
            )
        try:
            p.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StoreError(
                f"cannot create the store directory: {exc.strerror}", Location(str(p))
            ) from None
    elif not create and p.stat().st_size == 0:
        raise StoreError(
            "is an empty file, not a sweepci store (run a sweep first, or pass --store)",
            Location(str(p)),
        )
    wait = busy_timeout()
    existed = {"wal": Path(f"{p}-wal").exists(), "shm": Path(f"{p}-shm").exists()}
    conn: sqlite3.Connection | None = None
    try:
        conn = _connect(p, readonly, wait)
        conn.row_factory = sqlite3.Row
        conn.execute(f"PRAGMA busy_timeout = {int(wait * 1000)}")
        conn.execute("PRAGMA foreign_keys = ON")
        store = Store(conn, p)
        OPENED.append(str(p))
        schema_version(store)  # refuses other programs' databases before anything is written
        if not readonly:
            conn.execute("PRAGMA journal_mode = WAL")
            conn.execute("PRAGMA synchronous = NORMAL")
        _migrate(store, readonly)
    except (sqlite3.DatabaseError, StoreError) as exc:
        if conn is not None:
            conn.close()
        _remove_new_sidecars(p, existed)
        if isinstance(exc, StoreError):
            raise
        raise StoreError(_explain(exc), Location(str(p))) from None
    return store


def schema_version(store: Store) -> int:
    tables = {r[0] for r in store.conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    if not tables:
        return 0
    if "meta" not in tables:
        raise StoreError(
            "is a SQLite file but not a sweepci store (no meta table)", Location(str(store.path))
        )
    row = store.conn.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()
    if row is None:
        raise StoreError("is not a sweepci store (no schema version)", Location(str(store.path)))
    try:
        return int(row[0])
    except ValueError:
        raise StoreError(
            f"has an unreadable schema version {row[0]!r}", Location(str(store.path))
        ) from None


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
        if _writable(store.path):
            # an older store read by `show` or `report`: upgrade it once, through a
            # writing connection; this read-only one then sees the new schema
            open_store(store.path, create=False, readonly=False).close()
            return
        raise StoreError(
            f"was written by an older sweepci (schema {version}) and cannot be upgraded here "
            "(read-only); copy it somewhere writable first",
            Location(str(store.path)),
        )
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
