"""Content-addressed files of the artifact area: `<store dir>/artifacts/blobs/<sha256[:2]>/<sha256>`.

A file's bytes are stored once whatever the number of artifacts and runs that
hold them; a blob is written under a temporary name and renamed, so a
parallel agent sees a whole blob or none.

A store, a manifest or an artifact from elsewhere is untrusted: a blob's
name is its content digest, checked for its form (64 lowercase hex) before
any path is made from it; its path is derived from that digest, never read
from the input (the `path` column of a source store is not used); and its
bytes are hashed while they are copied, so a blob whose bytes do not match
its name is refused with one line naming the file, before anything uses it.
The path of a file inside an artifact must be relative and stay inside it.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import stat
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any, Protocol

from orchestrator.errors import Location, NotFoundError, StoreError, UsageError
from orchestrator.store.db import Store


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


DIGEST = re.compile(r"[0-9a-f]{64}")
_CHUNK = 1 << 20


def check_digest(digest: Any, where: str) -> str:
    """`digest` when it is a sha256 digest as sweepci writes it, else StoreError naming `where`."""
    if not isinstance(digest, str) or not DIGEST.fullmatch(digest):
        raise StoreError(
            f"names a blob {str(digest)[:80]!r}, which is not a sha256 digest (64 lowercase hex); "
            "the store or manifest is damaged or was tampered with",
            Location(where),
        )
    return digest


def check_entry_path(path: Any, where: str) -> str:
    """A file path inside an artifact: relative, no `..`, no NUL, not empty."""
    text = path if isinstance(path, str) else ""
    parts = PurePosixPath(text.replace("\\", "/")).parts
    if (
        not text
        or "\x00" in text
        or text.startswith(("/", "\\"))
        or (parts and parts[0].endswith(":"))
        or ".." in parts
    ):
        raise StoreError(
            f"names an artifact file {str(path)[:80]!r} outside its folder", Location(where)
        )
    return text


def blob_file(root: Path, digest: str) -> Path:
    """Where the blob `digest` lives under a store directory `root` (digest checked by the caller)."""
    return root / "artifacts" / "blobs" / digest[:2] / digest


def blob_path(store: Store, sha256: str) -> Path:
    return blob_file(store.root, check_digest(sha256, str(store.path)))


def open_regular(path: Path) -> int:
    """A read descriptor for a regular file; StoreError naming it for a symlink, a FIFO, a
    device or a file that cannot be opened (a store never holds anything but files)."""
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
    try:
        fd = os.open(path, flags)
    except OSError as exc:
        raise StoreError(
            f"cannot open the blob: {exc.strerror} (a blob is a regular file, never a link)",
            Location(str(path)),
        ) from None
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise StoreError("the blob is not a regular file", Location(str(path)))
    return fd


def copy_hashed(source: Path, partial: Path) -> tuple[str, int]:
    """Copy `source` to `partial` and hash the bytes copied (one read: what is hashed is
    what was copied, even if `source` changes meanwhile); (sha256, size)."""
    digest, size = hashlib.sha256(), 0
    fd = open_regular(source)
    try:
        with os.fdopen(fd, "rb") as src, open(partial, "wb") as out:
            for chunk in iter(lambda: src.read(_CHUNK), b""):
                digest.update(chunk)
                out.write(chunk)
                size += len(chunk)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    return digest.hexdigest(), size


def verify_blob(path: Path, digest: str) -> None:
    """StoreError naming `path` unless it is a regular file whose bytes hash to `digest`."""
    hashed = hashlib.sha256()
    with os.fdopen(open_regular(path), "rb") as fh:
        for chunk in iter(lambda: fh.read(_CHUNK), b""):
            hashed.update(chunk)
    if hashed.hexdigest() != digest:
        raise _mismatch(path, hashed.hexdigest(), digest)


def _mismatch(path: Path, got: str, digest: str) -> StoreError:
    return StoreError(
        f"its bytes hash to {got[:12]}..., not to its name {digest[:12]}...; "
        "the blob is damaged or was replaced, nothing was copied",
        Location(str(path)),
    )


def copy_verified(source: Path, target: Path, digest: str) -> None:
    """Copy the blob `source` to `target` only if its bytes hash to `digest`; else StoreError
    naming `source` and nothing written. `target` appears whole or not at all."""
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(f".{target.name}.{os.getpid()}.partial")
    got, _ = copy_hashed(source, partial)
    if got != digest:
        partial.unlink(missing_ok=True)
        raise _mismatch(source, got, digest)
    os.replace(partial, target)


def add_blob(store: Store, source: str | os.PathLike) -> tuple[str, int]:
    """Copy a file into the blob area unless that content is there already; (sha256, size)."""
    area = store.root / "artifacts" / "blobs"
    area.mkdir(parents=True, exist_ok=True)
    partial = area / f".incoming.{os.getpid()}.{os.urandom(4).hex()}.partial"
    sha, size = copy_hashed(Path(source), partial)
    target = blob_file(store.root, sha)
    if target.is_file() and target.stat().st_size == size:
        partial.unlink()
    else:
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(partial, target)  # atomic: a parallel agent sees the whole blob or none
    with store.transaction() as conn:
        conn.execute(
            "INSERT OR IGNORE INTO blobs (digest, size, path) VALUES (?,?,?)",
            (sha, size, str(target.relative_to(store.root))),
        )
    return sha, size


class ArtifactFiles(Protocol):
    """What exporting needs of an artifact (store.artifacts.Artifact is one)."""

    @property
    def label(self) -> str: ...

    @property
    def files(self) -> list[dict[str, Any]]: ...


def export_files(store: Store, artifact: ArtifactFiles, out_dir: str | os.PathLike) -> list[Path]:
    """Copy an artifact's files into `out_dir` (its paths kept); reference entries are skipped.

    Every entry is checked (its digest's form, its path) before the first file is
    written, and each blob's bytes are verified against its digest as they are copied."""
    out = Path(out_dir)
    where = f"{store.path} (artifact {artifact.label})"
    plan: list[tuple[Path, Path, str]] = []
    for entry in artifact.files:
        if not isinstance(entry, dict) or not entry.get("sha256"):
            continue
        digest = check_digest(entry["sha256"], where)
        path = check_entry_path(entry.get("path"), where)
        target = (out / path).resolve()
        if not target.is_relative_to(out.resolve()):
            raise UsageError(f"artifact {artifact.label} has a file outside its folder: {path}")
        source = blob_file(store.root, digest)
        if not os.path.lexists(source):
            raise NotFoundError(f"blob of {path} ({digest[:12]}) is missing from {source.parent}")
        plan.append((source, target, digest))
    for source, _, digest in plan:
        verify_blob(source, digest)  # every file checked before the first is written
    written = []
    for source, target, digest in plan:
        copy_verified(source, target, digest)
        written.append(target)
    return written
