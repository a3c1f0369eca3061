"""Reading runs: leaderboards, traceability queries, history."""

from __future__ import annotations

import json
from typing import Any

from orchestrator.store.db import Store
from orchestrator.store.records import FINISHED, RunRecord, SweepRecord


def list_sweeps(store: Store, limit: int | None = None) -> list[SweepRecord]:
    sql = "SELECT * FROM sweeps ORDER BY created_at DESC"
    if limit:
        sql += f" LIMIT {int(limit)}"
    return [SweepRecord.from_row(r) for r in store.query(sql)]


def leaderboard(
    store: Store, sweep: SweepRecord, limit: int | None = None, finished_only: bool = False
) -> list[RunRecord]:
    """Runs of a sweep, best first by its metric; runs without a value come last, newest first.

    Two index-ordered queries instead of one `ORDER BY metric_value IS NULL, ...`,
    which SQLite cannot serve from an index (it would sort all runs of a big sweep).
    """
    order = "DESC" if sweep.maximize else "ASC"
    where = "sweep_id = ?"
    params: list[Any] = [sweep.id]
    if finished_only:
        where += " AND state = ?"
        params.append(FINISHED)
    tail = " LIMIT ?" if limit else ""
    with_value = store.query(
        f"SELECT * FROM runs WHERE {where} AND metric_value IS NOT NULL ORDER BY metric_value {order}, seq{tail}",
        tuple(params + ([int(limit)] if limit else [])),
    )
    runs = [RunRecord.from_row(r) for r in with_value]
    if limit and len(runs) >= limit:
        return runs
    rest = (int(limit) - len(runs)) if limit else None
    without = store.query(
        f"SELECT * FROM runs WHERE {where} AND metric_value IS NULL ORDER BY seq DESC"
        + (" LIMIT ?" if rest else ""),
        tuple(params + ([rest] if rest else [])),
    )
    return runs + [RunRecord.from_row(r) for r in without]


def best_run(store: Store, sweep: SweepRecord) -> RunRecord | None:
    """The best finished run by the sweep metric, or None."""
    if not sweep.metric_name:
        return None
    rows = leaderboard(store, sweep, limit=1, finished_only=True)
    if rows and rows[0].metric_value is not None:
        return rows[0]
    return None


def state_counts(store: Store, sweep_id: str) -> dict[str, int]:
    rows = store.query(
        "SELECT state, COUNT(*) AS n FROM runs WHERE sweep_id = ? GROUP BY state", (sweep_id,)
    )
    return {r["state"]: r["n"] for r in rows}


def find_runs(
    store: Store,
    *,
    commit: str | None = None,
    branch: str | None = None,
    env: str | None = None,
    since: float | None = None,
    sweep_id: str | None = None,
    limit: int | None = None,
) -> list[RunRecord]:
    """Runs by commit (full SHA or prefix), branch, environment, time: "which runs came from this code?"."""
    where, params = _run_filter(commit, branch, env, since, sweep_id)
    sql = "SELECT * FROM runs" + where + " ORDER BY created_at DESC"
    if limit:
        sql += f" LIMIT {int(limit)}"
    return [RunRecord.from_row(r) for r in store.query(sql, params)]


def count_runs(
    store: Store,
    *,
    commit: str | None = None,
    branch: str | None = None,
    env: str | None = None,
    since: float | None = None,
    sweep_id: str | None = None,
) -> int:
    """How many runs `find_runs` would return without a limit."""
    where, params = _run_filter(commit, branch, env, since, sweep_id)
    return int(store.query("SELECT COUNT(*) FROM runs" + where, params)[0][0])


def _run_filter(
    commit: str | None,
    branch: str | None,
    env: str | None,
    since: float | None,
    sweep_id: str | None,
) -> tuple[str, tuple[Any, ...]]:
    where: list[str] = []
    params: list[Any] = []
    if commit:
        commit = commit.lower()
        if len(commit) in (40, 64):
            where.append("sha = ?")
            params.append(commit)
        else:
            # a prefix range scan uses the index, unlike LIKE
            where.append("sha >= ? AND sha < ?")
            params += [commit, commit + "g"]
    if branch:
        where.append("branch = ?")
        params.append(branch)
    if env:
        where.append("env = ?")
        params.append(env)
    if since is not None:
        where.append("created_at >= ?")
        params.append(since)
    if sweep_id:
        where.append("sweep_id = ?")
        params.append(sweep_id)
    return (" WHERE " + " AND ".join(where) if where else ""), tuple(params)


def run_history(store: Store, run_id: str) -> list[dict[str, Any]]:
    rows = store.query("SELECT data_json FROM history WHERE run_id = ? ORDER BY step", (run_id,))
    return [json.loads(r[0]) for r in rows]


def get_run(store: Store, run_id: str) -> RunRecord | None:
    rows = store.query("SELECT * FROM runs WHERE id = ?", (run_id,))
    return RunRecord.from_row(rows[0]) if rows else None


def _with_prefix(store: Store, table: str, prefix: str, limit: int) -> list[Any]:
    """Rows of `table` ("runs" or "sweeps") whose id starts with `prefix`: a range scan on
    the primary key instead of LIKE, whose wildcards an id given on the command line could hold."""
    assert table in ("runs", "sweeps")
    return store.query(
        f"SELECT * FROM {table} WHERE id >= ? AND id < ? ORDER BY id LIMIT ?",
        (prefix, prefix + "\U0010ffff", limit),
    )


def find_run(store: Store, run_id: str) -> RunRecord | None:
    """A run by id or by a unique id prefix (4+ characters); None when there is none.

    An ambiguous prefix is an error naming the candidates."""
    from orchestrator.errors import NotFoundError

    run = get_run(store, run_id)
    if run is not None or len(run_id) < 4:
        return run
    rows = _with_prefix(store, "runs", run_id, 3)
    if len(rows) > 1:
        names = ", ".join(r["id"] for r in rows[:2])
        raise NotFoundError(
            f"run id prefix '{run_id}' is ambiguous ({names}, ...); give more characters"
        )
    return RunRecord.from_row(rows[0]) if rows else None


def reproductions_of(store: Store, run_id: str) -> list[RunRecord]:
    """Runs that reran `run_id` (sweepci reproduce), newest first."""
    rows = store.query(
        "SELECT * FROM runs WHERE reproduces = ? ORDER BY created_at DESC", (run_id,)
    )
    return [RunRecord.from_row(r) for r in rows]


def history_length(store: Store, run_id: str) -> int:
    return int(store.query("SELECT COUNT(*) FROM history WHERE run_id = ?", (run_id,))[0][0])


def find_sweep_or_run(store: Store, ident: str) -> SweepRecord | RunRecord:
    """What `show IDENT` means: a sweep or a run, by exact id first, then by unique prefix.

    Raises NotFoundError naming both kinds when it is neither, or when a prefix fits both."""
    from orchestrator.errors import NotFoundError

    if ident == "latest":
        from orchestrator.store.runs import get_sweep

        return get_sweep(store, "latest")
    sweeps = store.query("SELECT * FROM sweeps WHERE id = ?", (ident,))
    if sweeps:
        return SweepRecord.from_row(sweeps[0])
    run = get_run(store, ident)
    if run is not None:
        return run
    sweeps = _with_prefix(store, "sweeps", ident, 2)
    runs = _with_prefix(store, "runs", ident, 2)
    found = [("sweep", r["id"]) for r in sweeps] + [("run", r["id"]) for r in runs]
    if len(found) > 1:
        names = ", ".join(f"{kind} {name}" for kind, name in found[:3])
        raise NotFoundError(f"id prefix '{ident}' is ambiguous ({names}); give more characters")
    if sweeps:
        return SweepRecord.from_row(sweeps[0])
    if runs:
        return RunRecord.from_row(runs[0])
    raise NotFoundError(
        f"no sweep or run '{ident}' in {store.path} (see `sweepci sweeps` and `sweepci runs`)"
    )


def run_columns(store: Store, run_id: str) -> dict[str, Any]:
    """Every stored column of one run, also ones newer features add (a device, ...)."""
    rows = store.query("SELECT * FROM runs WHERE id = ?", (run_id,))
    return dict(rows[0]) if rows else {}
