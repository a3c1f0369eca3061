"""The SQLite store: sweeps, runs, history. Stdlib sqlite3, WAL, short BEGIN IMMEDIATE transactions."""

from orchestrator.store.db import SCHEMA_VERSION, Store, open_store

__all__ = ["SCHEMA_VERSION", "Store", "open_store"]
