"""Read what an offline W&B run wrote: config, tags, history and summary from `run-<id>.wandb`.

Offline, wandb keeps history and summary only in its transaction log, a
LevelDB-style record log: a 7-byte file header (":W&B", magic 0xBEE1,
version), then 32 KiB blocks of records, each with a 7-byte header
(CRC32 of type byte + payload, little-endian; 2-byte length; 1-byte type
FULL/FIRST/MIDDLE/LAST). Payloads are `wandb_internal_pb2.Record` messages.

Runs that were killed leave truncated files, so the reader never raises on
bad data: it returns what it could read and counts what it skipped.
"""

from __future__ import annotations

import json
import struct
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

BLOCK_SIZE = 32 * 1024
HEADER_SIZE = 7
FILE_IDENT = b":W&B"
FILE_MAGIC = 0xBEE1
FULL, FIRST, MIDDLE, LAST = 1, 2, 3, 4
_RECORD_HEADER = struct.Struct("<IHB")
_FILE_HEADER = struct.Struct("<4sHB")


@dataclass
class OfflineRun:
    """Everything sweepci needs from one offline run's `.wandb` file."""

    run_id: str
    path: Path
    config: dict[str, Any] = field(default_factory=dict)
    tags: list[str] = field(default_factory=list)
    summary: dict[str, Any] = field(default_factory=dict)
    history: list[dict[str, Any]] = field(default_factory=list)
    exit_code: int | None = None
    artifacts: list[dict[str, str]] = field(default_factory=list)
    #: Records dropped for a bad CRC, a broken fragment chain or bad protobuf.
    skipped_records: int = 0
    #: True when the file ends in the middle of a record (the writer was killed).
    truncated: bool = False

    @property
    def finished(self) -> bool:
        """Whether wandb recorded an exit for the run (a killed run has none)."""
        return self.exit_code is not None


def find_run_file(wandb_dir: str | Path, run_id: str | None = None) -> Path | None:
    """Return the newest `run-<id>.wandb` under WANDB_DIR (or None when there is none).

    wandb puts runs in `<WANDB_DIR>/wandb/`; a directory that is already that
    `wandb/` folder is accepted too, since callers may hold either path.
    """
    base = Path(wandb_dir)
    name = f"run-{run_id}.wandb" if run_id else "run-*.wandb"
    found: list[Path] = []
    for root in (base / "wandb", base):
        # Online runs use run-* directories with the same file; offline is what the agent makes.
        for pattern in (f"offline-run-*/{name}", f"run-*/{name}"):
            found.extend(p for p in root.glob(pattern) if p.is_file())
        if found:
            break
    if not found:
        return None
    return max(found, key=lambda p: (p.stat().st_mtime, str(p)))


def iter_record_payloads(data: bytes, stats: OfflineRun | None = None) -> Iterator[bytes]:
    """Yield each complete record payload in a record log, skipping damaged blocks."""
    if len(data) < HEADER_SIZE:
        return
    ident, magic, _version = _FILE_HEADER.unpack_from(data, 0)
    if ident != FILE_IDENT or magic != FILE_MAGIC:
        if stats is not None:
            stats.skipped_records += 1
        return
    pos = HEADER_SIZE
    pending: bytearray | None = None
    while pos < len(data):
        block_left = BLOCK_SIZE - pos % BLOCK_SIZE
        if block_left < HEADER_SIZE:
            pos += block_left  # the writer pads block tails too small for a header
            continue
        if pos + HEADER_SIZE > len(data):
            _mark_truncated(stats)
            return
        crc, length, rtype = _RECORD_HEADER.unpack_from(data, pos)
        start, end = pos + HEADER_SIZE, pos + HEADER_SIZE + length
        if rtype == 0 and length == 0:
            pos += block_left  # zero fill: nothing more in this block
            continue
        if end > len(data):
            _mark_truncated(stats)
            return
        payload = data[start:end]
        if (
            length > block_left - HEADER_SIZE
            or zlib.crc32(payload, zlib.crc32(bytes([rtype]))) != crc
        ):
            # A damaged header makes the rest of the block unreadable; resync at the next block.
            _count_skip(stats)
            pending = None
            pos += block_left
            continue
        pos = end
        if rtype == FULL:
            if pending is not None:
                _count_skip(stats)
            pending = None
            yield payload
        elif rtype == FIRST:
            if pending is not None:
                _count_skip(stats)
            pending = bytearray(payload)
        elif rtype in (MIDDLE, LAST) and pending is not None:
            pending.extend(payload)
            if rtype == LAST:
                yield bytes(pending)
                pending = None
        else:
            _count_skip(stats)  # a MIDDLE/LAST without its FIRST, or an unknown type
            pending = None
    if pending is not None:
        _mark_truncated(stats)


def _count_skip(stats: OfflineRun | None) -> None:
    if stats is not None:
        stats.skipped_records += 1


def _mark_truncated(stats: OfflineRun | None) -> None:
    if stats is not None:
        stats.truncated = True


def _value(value_json: str) -> Any:
    try:
        return json.loads(value_json)
    except ValueError:
        return value_json  # keep odd values visible rather than dropping the metric


def _item_key(item: Any) -> str:
    return ".".join(item.nested_key) if len(item.nested_key) else item.key


def _flat_items(items: Any) -> dict[str, Any]:
    """Map items to {"a.b": value}, whether wandb nested them by key path or by JSON value."""
    out: dict[str, Any] = {}

    def put(key: str, value: Any) -> None:
        # `run.summary["best"] = {"f1": 1}` arrives as one JSON dict; media values carry a
        # "_type" and stay whole.
        if isinstance(value, dict) and value and "_type" not in value:
            for sub, inner in value.items():
                put(f"{key}.{sub}", inner)
        else:
            out[key] = value

    for item in items:
        if item.value_json:
            put(_item_key(item), _value(item.value_json))
    return out


def _unwrap(value: Any) -> Any:
    # config.yaml and the sweep parameter file use {"value": x} (with an optional "desc").
    if isinstance(value, dict) and "value" in value and set(value) <= {"value", "desc"}:
        return value["value"]
    return value


def _apply_config(run: OfflineRun, config_record: Any) -> None:
    for item in config_record.update:
        key = _item_key(item)
        if key != "_wandb" and not key.startswith("_wandb."):
            run.config[key] = _unwrap(_value(item.value_json))
    for item in config_record.remove:
        run.config.pop(_item_key(item), None)


def _apply_summary(run: OfflineRun, summary_record: Any) -> None:
    updates = _flat_items(summary_record.update)
    if any(key.startswith("_wandb") for key in updates):
        # wandb-core's periodic bookkeeping record, which offline carries `_runtime: 0`;
        # applying it would erase the real runtime taken from history.
        updates.pop("_runtime", None)
    run.summary.update(updates)
    for item in summary_record.remove:
        run.summary.pop(_item_key(item), None)


def _history_row(history: Any) -> dict[str, Any]:
    row = _flat_items(history.item)
    if "_step" not in row and history.HasField("step"):
        row["_step"] = history.step.num
    return row


def read_offline_run(path: str | Path) -> OfflineRun:
    """Parse one `run-<id>.wandb` file; never raises on damaged or partial contents.

    A missing or unreadable file raises OSError as usual: that is the caller's
    mistake, not the run's.
    """
    from google.protobuf.message import DecodeError
    from wandb.proto import wandb_internal_pb2  # lazy: wandb costs ~0.4 s to import

    path = Path(path)
    run = OfflineRun(run_id=path.stem.removeprefix("run-"), path=path)
    for payload in iter_record_payloads(path.read_bytes(), run):
        record = wandb_internal_pb2.Record()
        try:
            record.ParseFromString(payload)
        except DecodeError:
            run.skipped_records += 1
            continue
        kind = record.WhichOneof("record_type")
        if kind == "run":
            if record.run.run_id:
                run.run_id = record.run.run_id
            run.tags = list(record.run.tags)
            _apply_config(run, record.run.config)
        elif kind == "config":
            _apply_config(run, record.config)
        elif kind == "history":
            run.history.append(_history_row(record.history))
        elif kind == "summary":
            _apply_summary(run, record.summary)
        elif kind == "exit":
            run.exit_code = record.exit.exit_code
        elif kind == "artifact":
            run.artifacts.append({"name": record.artifact.name, "type": record.artifact.type})
    # wandb's own bookkeeping (`_wandb.runtime`) is not a user metric.
    run.summary = {k: v for k, v in run.summary.items() if not k.startswith("_wandb")}
    return run


def read_run_dir(wandb_dir: str | Path, run_id: str | None = None) -> OfflineRun | None:
    """Find and parse the run under WANDB_DIR; None when wandb never created its file."""
    path = find_run_file(wandb_dir, run_id)
    return read_offline_run(path) if path is not None else None


def final_metrics(run: OfflineRun) -> dict[str, Any]:
    """Each metric's last logged value, overridden by the summary (what W&B shows as final)."""
    merged: dict[str, Any] = {}
    for row in run.history:
        merged.update(row)
    merged.update(run.summary)
    return merged
