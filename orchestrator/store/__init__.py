"""The SQLite store: sweeps, runs, history. Stdlib sqlite3, WAL, short BEGIN IMMEDIATE transactions."""

from orchestrator.store.db import Store, open_store
from orchestrator.store.schema import SCHEMA_VERSION

__all__ = ["SCHEMA_VERSION", "Store", "open_store"]
