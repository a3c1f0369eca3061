"""Promotions: which version got an alias (production), who gave it, when, from which commit."""

from __future__ import annotations

import time
from typing import Any

from orchestrator.store.artifacts import Artifact, put_alias
from orchestrator.store.db import Store


def record_promotion(
    store: Store,
    artifact: Artifact | None,
    alias: str,
    *,
    sweep_id: str | None,
    run_id: str | None,
    forced: bool,
    actor: str | None,
    sha: str | None,
    note: str | None = None,
) -> int:
    """Give `artifact` the alias and record who did it, when, from which commit; one transaction.

    `artifact` None records a promotion done elsewhere (on W&B; `note` names the version there).
    """
    previous = None
    with store.transaction() as conn:
        if artifact is not None:
            previous = conn.execute(
                "SELECT artifact_id FROM artifact_aliases WHERE name = ? AND alias = ?",
                (artifact.name, alias),
            ).fetchone()
            put_alias(conn, artifact.name, alias, artifact.id)
        return conn.execute(
            "INSERT INTO promotions (sweep_id, run_id, artifact_id, alias, previous_artifact_id, forced, actor, sha,"
            " note, at) VALUES (?,?,?,?,?,?,?,?,?,?)",
            (
                sweep_id,
                run_id,
                artifact.id if artifact else None,
                alias,
                previous[0] if previous else None,
                int(forced),
                actor,
                sha,
                note,
                time.time(),
            ),
        ).lastrowid


def promotions(store: Store, name: str | None = None) -> list[dict[str, Any]]:
    """Promotions, newest first (of one artifact name when given)."""
    sql = (
        "SELECT p.*, a.name, a.version FROM promotions p LEFT JOIN artifacts a ON a.id = p.artifact_id"
        + (" WHERE a.name = ?" if name else "")
        + " ORDER BY p.id DESC"
    )
    return [dict(r) for r in store.query(sql, (name,) if name else ())]
