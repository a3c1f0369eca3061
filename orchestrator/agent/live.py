"""The live metrics channel: a JSONL file the training script appends to and the agent tails.

wandb writes its offline file in batches, so it cannot drive early
termination while a run is going. Instead the agent sets
`SWEEPCI_METRICS_FILE` and the script (through `orchestrator.report_metric`,
or by writing the same line itself) appends one JSON object per line:

    {"step": 3, "t": 1700000000.0, "metrics": {"f1": 0.91, "loss": 0.2}}

`step` may be null; `t` is the Unix time of the report. This module must stay
cheap to import: training scripts load it.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

METRICS_FILE_ENV = "SWEEPCI_METRICS_FILE"


def _plain(value: Any) -> Any:
    # numpy and torch scalars are not JSON-serialisable but all offer .item().
    item = getattr(value, "item", None)
    if callable(item):
        return item()
    raise TypeError(f"metric value of type {type(value).__name__} is not JSON-serialisable")


def format_line(step: int | None, metrics: dict[str, Any], now: float | None = None) -> bytes:
    """Encode one report as a single newline-terminated JSON line."""
    record = {"step": step, "t": time.time() if now is None else now, "metrics": metrics}
    # ensure_ascii keeps the line free of raw newlines whatever the metric names hold.
    return (json.dumps(record, default=_plain, ensure_ascii=True) + "\n").encode("ascii")


def report_metric(step: int | None = None, **metrics: Any) -> None:
    """Append one report to the file named by SWEEPCI_METRICS_FILE; a no-op when it is unset.

    The whole line goes out in one `os.write` on an O_APPEND descriptor, so a
    reader tailing the file sees either the full line or none of it, and
    several writers never interleave within a line.
    """
    target = os.environ.get(METRICS_FILE_ENV)
    if not target:
        return
    line = format_line(step, metrics)
    fd = os.open(target, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, line)
    finally:
        os.close(fd)


def read_new_lines(path: str | Path, offset: int = 0) -> tuple[list[dict[str, Any]], int]:
    """Read the complete lines written after `offset`; return them and the offset to resume from.

    An unfinished last line is left for the next call. Lines that are not
    JSON objects are skipped (and consumed) so one bad write cannot stall the
    tail. A missing file reads as empty; a file shorter than `offset` (it was
    replaced) is read again from the start.
    """
    try:
        with open(path, "rb") as handle:
            size = os.fstat(handle.fileno()).st_size
            if size < offset:
                offset = 0
            handle.seek(offset)
            chunk = handle.read()
    except FileNotFoundError:
        return [], offset
    end = chunk.rfind(b"\n")
    if end < 0:
        return [], offset
    records: list[dict[str, Any]] = []
    for raw in chunk[:end].split(b"\n"):
        try:
            record = json.loads(raw)
        except ValueError:
            continue
        if isinstance(record, dict):
            records.append(record)
    return records, offset + end + 1
