"""Runs whose agent died: found by pid on this host or by heartbeat elsewhere, marked to be redone."""

from __future__ import annotations

import os
import socket
import time

from orchestrator.store.db import Store
from orchestrator.store.records import INTERRUPTED, RUNNING
from orchestrator.store.run_processes import agent_alive, kill_marked

#: a run whose agent on another host has not sent a heartbeat for this long is presumed dead
STALE_AFTER_S = 120.0
HOST = socket.gethostname()


def recover_stale_runs(store: Store, sweep_id: str | None = None) -> list[str]:
    """Mark runs whose agent died as interrupted (to be redone) and stop their orphans.

    Same host: the agent pid is gone or was reused (see `run_processes`). Other host: no
    heartbeat for STALE_AFTER_S. The stopped processes are the run's own, found by the
    SWEEPCI_RUN_ID they carry, never by the recorded group id.
    """
    now = time.time()
    recovered: list[str] = []
    with store.transaction() as conn:
        sql = "SELECT id, host, pid, pgid, heartbeat_at, created_at FROM runs WHERE state = ?"
        params: tuple = (RUNNING,)
        if sweep_id:
            sql += " AND sweep_id = ?"
            params += (sweep_id,)
        for r in conn.execute(sql, params).fetchall():
            if r["host"] == HOST:
                dead = not agent_alive(r["pid"], r["created_at"]) or r["pid"] == os.getpid()
            else:
                dead = r["heartbeat_at"] is None or now - r["heartbeat_at"] > STALE_AFTER_S
            if not dead:
                continue
            if r["host"] == HOST:
                # only processes that carry the run's id: never the group a reused pgid names
                kill_marked(r["id"])
            conn.execute(
                "UPDATE runs SET state = ?, reason = ?, ended_at = ? WHERE id = ?",
                (
                    INTERRUPTED,
                    "agent stopped before the run ended; it will be redone on resume",
                    now,
                    r["id"],
                ),
            )
            recovered.append(r["id"])
    return recovered
