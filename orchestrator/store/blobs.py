"""Content-addressed files of the artifact area: `<store dir>/artifacts/blobs/<sha256[:2]>/<sha256>`.

A file's bytes are stored once whatever the number of artifacts and runs that
hold them; a blob is written under a temporary name and renamed, so a
parallel agent sees a whole blob or none.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from orchestrator.errors import NotFoundError, UsageError
from orchestrator.store.db import Store

if TYPE_CHECKING:
    from orchestrator.store.artifacts import Artifact


@dataclass
class FileEntry:
    """One file of an artifact: a blob (sha256) or a reference URI."""

    path: str
    size: int = 0
    sha256: str | None = None
    ref: str | None = None


def content_digest(files: list[FileEntry]) -> str:
    """Digest of an artifact's content: its paths and what each holds (not its metadata, as in W&B)."""
    items = sorted((f.path, f.sha256 or "", f.ref or "") for f in files)
    return hashlib.sha256(json.dumps(items).encode()).hexdigest()


def blob_path(store: Store, sha256: str) -> Path:
    return store.root / "artifacts" / "blobs" / sha256[:2] / sha256


def add_blob(store: Store, source: str | os.PathLike) -> tuple[str, int]:
    """Copy a file into the blob area unless that content is there already; (sha256, size)."""
    digest = hashlib.sha256()
    with open(source, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    sha, size = digest.hexdigest(), os.path.getsize(source)
    target = blob_path(store, sha)
    if not (target.is_file() and target.stat().st_size == size):
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_name(f".{sha}.{os.getpid()}.partial")
        shutil.copyfile(source, partial)
        os.replace(partial, target)  # atomic: a parallel agent sees the whole blob or none
    with store.transaction() as conn:
        conn.execute(
            "INSERT OR IGNORE INTO blobs (digest, size, path) VALUES (?,?,?)",
            (sha, size, str(target.relative_to(store.root))),
        )
    return sha, size


def export_files(store: Store, artifact: Artifact, out_dir: str | os.PathLike) -> list[Path]:
    """Copy an artifact's files into `out_dir` (its paths kept); reference entries are skipped."""
    out = Path(out_dir)
    written = []
    for entry in artifact.files:
        if not entry.get("sha256"):
            continue
        target = (out / entry["path"]).resolve()
        if not target.is_relative_to(out.resolve()):
            raise UsageError(
                f"artifact {artifact.label} has a file outside its folder: {entry['path']}"
            )
        source = blob_path(store, entry["sha256"])
        if not source.is_file():
            raise NotFoundError(
                f"blob of {entry['path']} ({entry['sha256'][:12]}) is missing from {source.parent}"
            )
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, target)
        written.append(target)
    return written
