"""Capture the artifacts an offline W&B run logged into the store's artifact area.

Offline, wandb 0.31 keeps an artifact in two places: an `artifact` record in
`run-<id>.wandb` (name, type, metadata JSON, aliases, and a manifest of
entries with path, MD5 digest, size and `local_path`), and the file bytes in
its staging area, `$WANDB_DATA_DIR/artifacts/staging/` (default
`~/.local/share/wandb/`), where `local_path` points; they stay there for a
later `wandb sync`. Capture reads the records, copies each staged file into
the content-addressed blobs once, and records the versions with their run.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from orchestrator.store.artifacts import INPUT_TYPES, Artifact, record_artifact
from orchestrator.store.blobs import FileEntry, add_blob
from orchestrator.store.db import Store
from orchestrator.store.records import RunRecord

#: artifacts wandb makes for itself (launch jobs, run history, code) are not the user's
_SKIPPED_TYPES = ("job", "code")


class CaptureError(Exception):
    """An artifact record whose files cannot be read."""


@dataclass
class Captured:
    artifact: Artifact
    created: bool
    used: bool


def artifact_records(run_file: Path) -> list[Any]:
    """The `ArtifactRecord`s of one `run-<id>.wandb` file, in logging order."""
    from google.protobuf.message import DecodeError
    from wandb.proto import wandb_internal_pb2

    from orchestrator.agent.wandb_files import iter_record_payloads

    found = []
    for payload in iter_record_payloads(run_file.read_bytes()):
        record = wandb_internal_pb2.Record()
        try:
            record.ParseFromString(payload)
        except DecodeError:
            continue  # a damaged record: the reader of metrics already counts these
        if record.WhichOneof("record_type") == "artifact":
            found.append(record.artifact)
    return found


def _entries(store: Store, record: Any) -> list[FileEntry]:
    entries = []
    for item in record.manifest.contents:
        if item.ref:
            entries.append(FileEntry(item.path, int(item.size), ref=item.ref))
            continue
        source = Path(item.local_path) if item.local_path else None
        if source is None or not source.is_file():
            raise CaptureError(
                f"file {item.path} of artifact {record.name} is not in wandb's staging area ({item.local_path or '?'})"
            )
        sha, size = add_blob(store, source)
        entries.append(FileEntry(item.path, size, sha256=sha))
    return entries


def capture_run(
    store: Store, wandb_dir: str | Path, run_id: str, sweep_id: str | None = None
) -> list[Captured]:
    """Record every artifact the run logged (outputs) or declared as input (`dataset` types)."""
    from orchestrator.agent.wandb_files import find_run_file

    run_file = find_run_file(wandb_dir, run_id)
    if run_file is None:
        return []
    captured = []
    for record in artifact_records(run_file):
        if record.type in _SKIPPED_TYPES or record.type.startswith("wandb-"):
            continue
        try:
            metadata = json.loads(record.metadata) if record.metadata else {}
        except ValueError:
            metadata = {"_unreadable": record.metadata}
        used = bool(record.use_after_commit) or record.type in INPUT_TYPES
        artifact, created = record_artifact(
            store,
            name=record.name,
            type=record.type,
            files=_entries(store, record),
            run_id=run_id,
            sweep_id=sweep_id,
            metadata=metadata if isinstance(metadata, dict) else {"value": metadata},
            used=used,
            aliases=tuple(a for a in record.aliases if a != "latest"),
        )
        captured.append(Captured(artifact, created, used))
    return captured


def _warn(text: str) -> None:
    print(f"sweepci: warning: {text}", file=sys.stderr, flush=True)


def capture_after_run(
    store: Store, wandb_dir: str | Path, run: RunRecord, warn: Callable[[str], None] = _warn
) -> list[Captured]:
    """`capture_run` for the agent: a failure costs one warning line, never the run's result."""
    try:
        return capture_run(store, wandb_dir, run.id, run.sweep_id)
    except ImportError:
        return []  # no wandb installed: the run cannot have logged artifacts through it
    except Exception as exc:  # noqa: BLE001 - artifacts are a by-product; the run's metrics come first
        warn(f"run {run.id}: artifacts not captured: {exc}")
        return []
