"""Reading a live metrics file (SWEEPCI_METRICS_FILE, the wandb hook's file) as a program writes it.

The file is untrusted: whatever a program writes, the agent neither crashes
nor holds more than a bounded amount of it. `ChannelReader` reads at most
`chunk` bytes per call from where it stopped, keeps at most `max_line`
bytes of an unfinished line, and turns each complete line into one row (a
flat dict of numeric metrics, with `_step` when the line gave one). Two
shapes are accepted:

    {"loss": 0.1, "val/acc": 0.8, "_step": 3}          # like wandb.log (`_step` optional)
    {"step": 3, "metrics": {"loss": 0.1}, "t": 1.7e9}  # what orchestrator.report_metric writes

Lines that are not JSON objects of either shape, whose step is not a finite
integer, that exceed `max_line`, or that hold no numeric metric are skipped
and counted (`skipped`, with the first few reasons in `examples`). Nested
dicts are flattened with "." as W&B flattens them; values that are not
numbers (strings, lists) are left out; NaN and infinities are kept, as W&B
keeps them, and the search skips them as W&B's engine does.
"""

from __future__ import annotations

import json
import math
import os
import stat
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

MAX_LINE_BYTES = 64 * 1024
CHUNK_BYTES = 1024 * 1024
MAX_KEYS_PER_LINE = 1000
MAX_DEPTH = 5
_EXAMPLES = 3
_STRUCTURED_KEYS = frozenset(("step", "metrics", "t"))


class BadLine(ValueError):
    """One line the channel skips, and why."""


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _flatten(source: dict, prefix: str, out: dict[str, float], depth: int) -> None:
    for key, value in source.items():
        name = f"{prefix}{key}"
        if _is_number(value):
            if len(out) >= MAX_KEYS_PER_LINE:
                raise BadLine(f"more than {MAX_KEYS_PER_LINE} metrics on one line")
            out[name] = value
        elif isinstance(value, dict) and depth < MAX_DEPTH:
            _flatten(value, name + ".", out, depth + 1)


def _step(value: Any, key: str) -> int | None:
    if value is None:
        return None
    if not _is_number(value) or not math.isfinite(value) or value != int(value) or value < 0:
        raise BadLine(f"{key} {value!r} is not a non-negative integer")
    return int(value)


def parse_row(raw: bytes) -> dict[str, Any]:
    """One line as a flat row of numeric metrics (`_step` included when given); BadLine if not."""
    try:
        record = json.loads(raw)
    except (ValueError, RecursionError):
        raise BadLine("not JSON") from None
    if not isinstance(record, dict):
        raise BadLine(f"a JSON {type(record).__name__}, not an object")
    row: dict[str, Any] = {}
    structured = (
        "_step" not in record
        and isinstance(record.get("metrics"), dict)
        and set(record) <= _STRUCTURED_KEYS
    )
    if structured:
        step = _step(record.get("step"), "step")
        _flatten(record["metrics"], "", row, 1)
    else:
        step = _step(record.get("_step"), "_step")
        _flatten({k: v for k, v in record.items() if not k.startswith("_")}, "", row, 1)
    if not row:
        raise BadLine("no numeric metric")
    if step is not None:
        row["_step"] = step
    return row


@dataclass
class ChannelReader:
    """Tails one metrics file; each `read()` returns the rows of the lines completed since."""

    path: Path
    max_line: int = MAX_LINE_BYTES
    chunk: int = CHUNK_BYTES
    offset: int = 0
    lines: int = 0
    skipped: int = 0
    examples: list[str] = field(default_factory=list)
    _partial: bytearray = field(default_factory=bytearray)
    _discarding: bool = False  # inside a line already longer than max_line

    def read(self, final: bool = False) -> list[dict[str, Any]]:
        """Rows of the lines finished since the last call, reading at most `chunk` bytes.

        `final` (the program has exited): an unfinished last line is parsed as
        it is, and counted as skipped when it is not a complete record.
        """
        data = self._read_chunk()
        rows: list[dict[str, Any]] = []
        start = 0
        while True:
            end = data.find(b"\n", start)
            if end < 0:
                break
            self._take(data[start:end], rows)
            start = end + 1
        rest = data[start:]
        if self._discarding:
            pass
        elif len(self._partial) + len(rest) > self.max_line:
            self._partial.clear()
            self._discarding = True
        else:
            self._partial += rest
        if final:
            if self._discarding:
                self._skip(f"a line longer than {self.max_line} bytes")
            elif self._partial:
                raw = bytes(self._partial)
                self._partial.clear()
                self._line(raw, rows, last=True)
            self._discarding = False
        return rows

    def drain(self) -> Iterator[list[dict[str, Any]]]:
        """After the program exited: the rest of the file as it is now, the last line included,
        one chunk's rows at a time.

        Reads what the file holds at this moment, chunk by chunk, so something still
        writing to it (a leftover grandchild) cannot keep the agent here.
        """
        try:
            size = os.stat(self.path).st_size
        except OSError:
            size = 0
        chunks = max(0, size - self.offset) // max(1, self.chunk)
        for _ in range(chunks):
            yield self.read()
        yield self.read(final=True)

    def _take(self, piece: bytes, rows: list[dict[str, Any]]) -> None:
        if self._discarding:
            self._discarding = False
            self._skip(f"a line longer than {self.max_line} bytes")
            return
        if len(self._partial) + len(piece) > self.max_line:
            self._partial.clear()
            self._skip(f"a line longer than {self.max_line} bytes")
            return
        raw = bytes(self._partial) + piece if self._partial else piece
        self._partial.clear()
        self._line(raw, rows)

    def _line(self, raw: bytes, rows: list[dict[str, Any]], last: bool = False) -> None:
        if not raw.strip():
            return
        self.lines += 1
        try:
            rows.append(parse_row(raw))
        except BadLine as exc:
            self._skip(f"line {self.lines}: {exc}" + (" (an unfinished last line)" if last else ""))

    def _skip(self, reason: str) -> None:
        self.skipped += 1
        if len(self.examples) < _EXAMPLES:
            self.examples.append(reason)

    def _read_chunk(self) -> bytes:
        flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
        try:
            fd = os.open(self.path, flags)
        except FileNotFoundError:
            return b""
        except OSError as exc:  # a symlink (O_NOFOLLOW), no permission: never follow the program
            self._refuse(f"cannot be read ({exc.strerror})")
            return b""
        try:
            info = os.fstat(fd)
            if not stat.S_ISREG(info.st_mode):
                self._refuse("is not a regular file")
                return b""
            if info.st_size < self.offset:  # replaced or truncated: start again
                self.offset = 0
                self._partial.clear()
                self._discarding = False
            want = min(self.chunk, info.st_size - self.offset)
            if want <= 0:
                return b""
            data = os.pread(fd, want, self.offset)
        except OSError as exc:
            self._refuse(f"cannot be read ({exc.strerror})")
            return b""
        finally:
            os.close(fd)
        self.offset += len(data)
        return data

    def _refuse(self, why: str) -> None:
        reason = f"the file {why}"
        if reason not in self.examples:
            self._skip(reason)

    def warning(self, run_id: str) -> str | None:
        """One line for the run's end when lines were skipped, else None."""
        if not self.skipped:
            return None
        return (
            f"run {run_id}: {self.skipped} line(s) of {self.path.name} skipped, e.g. "
            + "; ".join(self.examples)
        )
