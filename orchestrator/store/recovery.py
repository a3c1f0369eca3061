"""Runs whose agent died: found by pid on this host or by heartbeat elsewhere, marked to be redone."""

from __future__ import annotations

import os
import signal
import socket
import time

from orchestrator.store.db import Store
from orchestrator.store.records import INTERRUPTED, RUNNING

#: a run whose agent on another host has not sent a heartbeat for this long is presumed dead
STALE_AFTER_S = 120.0
HOST = socket.gethostname()


def _alive(pid: int | None) -> bool:
    if not pid:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return not _zombie(pid)


def _zombie(pid: int) -> bool:
    """A dead process not yet reaped (its parent was killed and PID 1 of a container may
    never reap it): signal 0 still reaches it, but its agent is gone."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as fh:
            return fh.read().rsplit(b")", 1)[1].split()[0] == b"Z"
    except (OSError, IndexError):
        return False


def recover_stale_runs(store: Store, sweep_id: str | None = None) -> list[str]:
    """Mark runs whose agent died as interrupted (to be redone) and stop their orphans.

    Same host: the agent pid is gone. Other host: no heartbeat for STALE_AFTER_S.
    """
    now = time.time()
    recovered: list[str] = []
    with store.transaction() as conn:
        sql = "SELECT id, host, pid, pgid, heartbeat_at FROM runs WHERE state = ?"
        params: tuple = (RUNNING,)
        if sweep_id:
            sql += " AND sweep_id = ?"
            params += (sweep_id,)
        for r in conn.execute(sql, params).fetchall():
            if r["host"] == HOST:
                dead = not _alive(r["pid"]) or r["pid"] == os.getpid()
            else:
                dead = r["heartbeat_at"] is None or now - r["heartbeat_at"] > STALE_AFTER_S
            if not dead:
                continue
            if r["host"] == HOST and r["pgid"]:
                try:
                    os.killpg(r["pgid"], signal.SIGKILL)
                except (ProcessLookupError, PermissionError):
                    pass
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
