"""The store's artifacts: versions, aliases and lineage (blobs: `blobs.py`; promotions: `promotions.py`).

Files live once under `<store dir>/artifacts/blobs/<sha256[:2]>/<sha256>`. An
artifact version is a set of (path, blob) entries; its digest is computed over
those entries, so logging the same content again gives the same version (and
only links the run), while different content makes the next `vN`. `latest`
always names the version logged last. Lineage: `artifacts.run_id` is the run
that first logged a version, `artifact_usage` the runs that took it as input.
"""

from __future__ import annotations

import json
import re
import time
from dataclasses import dataclass, field
from typing import Any

from orchestrator.errors import NotFoundError, UsageError
from orchestrator.store.blobs import FileEntry, content_digest
from orchestrator.store.db import Store

LATEST = "latest"
#: types a run takes as input when it logs them (offline wandb cannot `use_artifact`)
INPUT_TYPES = ("dataset",)
_SPEC = re.compile(r"^(?P<name>[A-Za-z0-9._-]+)(?::(?P<tag>[A-Za-z0-9._-]+))?$")


@dataclass
class Artifact:
    id: int
    name: str
    type: str
    version: int
    digest: str
    run_id: str | None
    sweep_id: str | None
    metadata: dict[str, Any]
    manifest: dict[str, Any]
    created_at: float
    aliases: list[str] = field(default_factory=list)

    @property
    def label(self) -> str:
        return f"{self.name}:v{self.version}"

    @property
    def files(self) -> list[dict[str, Any]]:
        return list(self.manifest.get("files", []))

    @property
    def logged_by(self) -> list[str]:
        """Every run that logged exactly this content, the first one first."""
        return list(self.manifest.get("logged_by", [self.run_id] if self.run_id else []))

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "type": self.type,
            "version": f"v{self.version}",
            "label": self.label,
            "digest": self.digest,
            "run_id": self.run_id,
            "sweep_id": self.sweep_id,
            "aliases": self.aliases,
            "metadata": self.metadata,
            "files": self.files,
            "logged_by": self.logged_by,
            "created_at": self.created_at,
        }


def record_artifact(
    store: Store,
    *,
    name: str,
    type: str,
    files: list[FileEntry],
    run_id: str | None,
    sweep_id: str | None = None,
    metadata: dict[str, Any] | None = None,
    used: bool = False,
    aliases: tuple[str, ...] = (),
) -> tuple[Artifact, bool]:
    """Record a logged artifact; (the version, whether it is new). `used`: the run took it as input."""
    digest = content_digest(files)
    with store.transaction() as conn:
        known = conn.execute(
            "SELECT type FROM artifacts WHERE name = ? LIMIT 1", (name,)
        ).fetchone()
        if known and known["type"] != type:
            raise UsageError(f"artifact {name} is of type {known['type']}, not {type}")
        row = conn.execute(
            "SELECT id, manifest_json FROM artifacts WHERE name = ? AND digest = ?", (name, digest)
        ).fetchone()
        created = row is None
        if created:
            version = conn.execute(
                "SELECT COALESCE(MAX(version) + 1, 0) FROM artifacts WHERE name = ?", (name,)
            ).fetchone()[0]
            manifest = {"files": [vars(f) for f in files], "logged_by": [run_id] if run_id else []}
            artifact_id = conn.execute(
                "INSERT INTO artifacts (name, type, version, digest, run_id, sweep_id, metadata_json, manifest_json,"
                " created_at) VALUES (?,?,?,?,?,?,?,?,?)",
                (
                    name,
                    type,
                    version,
                    digest,
                    run_id,
                    sweep_id,
                    json.dumps(metadata or {}),
                    json.dumps(manifest),
                    time.time(),
                ),
            ).lastrowid
        else:
            artifact_id, manifest = row["id"], json.loads(row["manifest_json"])
            if run_id and run_id not in manifest.setdefault("logged_by", []):
                manifest["logged_by"].append(run_id)
                conn.execute(
                    "UPDATE artifacts SET manifest_json = ? WHERE id = ?",
                    (json.dumps(manifest), artifact_id),
                )
        if used and run_id:
            conn.execute(
                "INSERT OR IGNORE INTO artifact_usage (run_id, artifact_id) VALUES (?,?)",
                (run_id, artifact_id),
            )
        promoted = {r[0] for r in conn.execute("SELECT DISTINCT alias FROM promotions")}
        for alias in (LATEST, *aliases):
            # aliases given by `sweepci promote` move only through it, never from inside a script
            if alias == LATEST or (alias not in promoted and alias != "production"):
                put_alias(conn, name, alias, artifact_id)
    return get_artifact(store, artifact_id), created


def put_alias(conn: Any, name: str, alias: str, artifact_id: int) -> None:
    """Inside a transaction: point `name:alias` at one version."""
    conn.execute(
        "INSERT INTO artifact_aliases (name, alias, artifact_id) VALUES (?,?,?)"
        " ON CONFLICT(name, alias) DO UPDATE SET artifact_id = excluded.artifact_id",
        (name, alias, artifact_id),
    )


def set_alias(store: Store, name: str, alias: str, artifact_id: int) -> None:
    """Point `name:alias` at one version (moving it from any other)."""
    with store.transaction() as conn:
        put_alias(conn, name, alias, artifact_id)


def _from_row(store: Store, row: Any) -> Artifact:
    aliases = [
        r[0]
        for r in store.query(
            "SELECT alias FROM artifact_aliases WHERE artifact_id = ? ORDER BY alias = 'latest' DESC, alias",
            (row["id"],),
        )
    ]
    return Artifact(
        id=row["id"],
        name=row["name"],
        type=row["type"],
        version=row["version"],
        digest=row["digest"],
        run_id=row["run_id"],
        sweep_id=row["sweep_id"],
        metadata=json.loads(row["metadata_json"]),
        manifest=json.loads(row["manifest_json"]),
        created_at=row["created_at"],
        aliases=aliases,
    )


def get_artifact(store: Store, artifact_id: int) -> Artifact:
    rows = store.query("SELECT * FROM artifacts WHERE id = ?", (artifact_id,))
    if not rows:
        raise NotFoundError(f"no artifact with id {artifact_id} in {store.path}")
    return _from_row(store, rows[0])


def list_artifacts(
    store: Store, name: str | None = None, type: str | None = None
) -> list[Artifact]:
    """Artifact versions, by name then newest version first."""
    sql, params = "SELECT * FROM artifacts WHERE 1=1", []
    if name:
        sql, params = sql + " AND name = ?", [*params, name]
    if type:
        sql, params = sql + " AND type = ?", [*params, type]
    return [
        _from_row(store, r)
        for r in store.query(sql + " ORDER BY name, version DESC", tuple(params))
    ]


def resolve(store: Store, spec: str) -> Artifact:
    """`NAME`, `NAME:ALIAS` or `NAME:vN` to one version (`NAME` alone means `NAME:latest`)."""
    m = _SPEC.match(spec.strip())
    if not m:
        raise UsageError(f"expected an artifact as NAME[:ALIAS|:vN], got {spec!r}")
    name, tag = m.group("name"), m.group("tag") or LATEST
    if re.fullmatch(r"v\d+", tag):
        rows = store.query(
            "SELECT * FROM artifacts WHERE name = ? AND version = ?", (name, int(tag[1:]))
        )
    else:
        rows = store.query(
            "SELECT a.* FROM artifact_aliases x JOIN artifacts a ON a.id = x.artifact_id WHERE x.name = ? AND x.alias = ?",
            (name, tag),
        )
    if rows:
        return _from_row(store, rows[0])
    versions = store.query("SELECT MAX(version) FROM artifacts WHERE name = ?", (name,))[0][0]
    if versions is None:
        names = [r[0] for r in store.query("SELECT DISTINCT name FROM artifacts ORDER BY name")]
        raise NotFoundError(
            f"no artifact {name} in {store.path} (known: {', '.join(names) or 'none'})"
        )
    aliases = [
        r[0]
        for r in store.query(
            "SELECT alias FROM artifact_aliases WHERE name = ? ORDER BY alias", (name,)
        )
    ]
    raise NotFoundError(
        f"artifact {name} has no {tag} (versions v0..v{versions}; aliases: {', '.join(aliases)})"
    )


def produced_by(store: Store, run_id: str, type: str | None = None) -> list[Artifact]:
    """Versions the run logged as output (also ones another run had logged with identical content)."""
    rows = store.query(
        "SELECT * FROM artifacts WHERE (run_id = ? OR manifest_json LIKE ?) AND id NOT IN"
        " (SELECT artifact_id FROM artifact_usage WHERE run_id = ?) ORDER BY name, version",
        (run_id, f'%"{run_id}"%', run_id),
    )
    found = [_from_row(store, r) for r in rows]
    return [a for a in found if run_id in a.logged_by and (type is None or a.type == type)]


def used_by(store: Store, run_id: str) -> list[Artifact]:
    """Versions the run took as input."""
    rows = store.query(
        "SELECT a.* FROM artifact_usage u JOIN artifacts a ON a.id = u.artifact_id WHERE u.run_id = ?"
        " ORDER BY a.name, a.version",
        (run_id,),
    )
    return [_from_row(store, r) for r in rows]


def _run_json(store: Store, run_id: str | None) -> dict[str, Any] | None:
    rows = store.query(
        "SELECT r.id, r.sweep_id, r.state, s.metric_name, r.metric_value, r.branch, r.sha, r.env, r.summary_json"
        " FROM runs r JOIN sweeps s ON s.id = r.sweep_id WHERE r.id = ?",
        (run_id,),
    )
    if not rows:
        return None
    run = dict(rows[0])
    run["summary"] = json.loads(run.pop("summary_json"))
    return run


def lineage_for_run(store: Store, run_id: str) -> dict[str, Any]:
    """A run's place in the lineage: its commit, the artifacts it used and the ones it produced."""
    run = _run_json(store, run_id)
    if run is None:
        raise NotFoundError(f"no run '{run_id}' in {store.path}")
    run.pop("summary")
    return {
        "run": run,
        "commit": run["sha"],
        "used": [a.to_json() for a in used_by(store, run_id)],
        "produced": [a.to_json() for a in produced_by(store, run_id)],
    }


def current_alias_holder(store: Store, name: str, alias: str) -> dict[str, Any] | None:
    """The version `name:alias` points at, with its producing run (and commit) and its last promotion."""
    try:
        artifact = resolve(store, f"{name}:{alias}")
    except NotFoundError:
        return None
    last = store.query(
        "SELECT actor, sha, at, forced, sweep_id, note FROM promotions WHERE artifact_id = ? AND alias = ?"
        " ORDER BY id DESC LIMIT 1",
        (artifact.id, alias),
    )
    return {
        "artifact": artifact.to_json(),
        "run": _run_json(store, artifact.run_id),
        "promotion": dict(last[0]) if last else None,
    }
