"""What sweepci prints cannot drive a terminal or the GitHub Actions command stream.

Much of what sweepci prints comes from outside: metric names and summary keys
a training program wrote, the stderr tail of a failed run, values and names
from sweep files and stores. Instead of trusting every call site to escape,
the CLI's stdout and stderr are wrapped once (`install`), so every write is
escaped the same way:

- control characters (ESC, BEL, backspace, carriage return, C1 controls,
  DEL...) become visible `\\xNN` text: no escape sequence reaches a terminal;
- a line that starts with `::` (after any whitespace) is prefixed with a
  space-free marker, so no text can start a workflow command (`::add-mask::`,
  `::stop-commands::`); sweepci's own commands go through `write_command`.

Newlines and tabs pass: they are how tables and lists are laid out.
`printable` is the same escaping for text that is put elsewhere (a job
summary, a file) by code that writes it directly.
"""

from __future__ import annotations

import io
import sys
from typing import Any

from orchestrator.github.commands import (
    COMMAND_GUARD,
    COMMAND_START,
    CONTROL,
    escape_control,
    printable,
)

__all__ = ["SafeTextStream", "install", "printable", "write_command"]


class SafeTextStream(io.TextIOWrapper):
    """A text stream over the same buffer as `stream`, escaping each write (see the module)."""

    def __init__(self, stream: Any):
        super().__init__(
            stream.buffer,
            encoding=stream.encoding,
            errors=stream.errors,
            line_buffering=True,
            write_through=True,
        )
        self._at_line_start = True

    def write(self, text: str) -> int:
        if not isinstance(text, str):  # click probes for a binary stream with write(b"")
            raise TypeError(f"write() argument must be str, not {type(text).__name__}")
        if not text:
            return 0
        escaped = CONTROL.sub(escape_control, text)
        # a command can only start where a line starts, also across writes
        lead = "" if self._at_line_start else "\x00"
        escaped = COMMAND_START.sub(lambda m: f"{m.group(1)}{COMMAND_GUARD}::", lead + escaped)
        escaped = escaped[len(lead) :]
        self._at_line_start = escaped.endswith("\n")
        super().write(escaped)
        return len(text)

    def close(self) -> None:
        # the buffer belongs to the stream this one wraps: flush, never close it
        try:
            self.flush()
        except (OSError, ValueError):
            pass

    def write_command(self, line: str) -> None:
        """A workflow command sweepci itself means to send (already escaped by its maker)."""
        self.flush()
        if not self._at_line_start:
            super().write("\n")
        super().write(line if line.endswith("\n") else line + "\n")
        self._at_line_start = True
        self.flush()


def install() -> None:
    """Wrap sys.stdout and sys.stderr (once) for the rest of the process."""
    for name in ("stdout", "stderr"):
        stream = getattr(sys, name)
        if isinstance(stream, SafeTextStream) or not hasattr(stream, "buffer"):
            continue
        try:
            stream.flush()
        except (OSError, ValueError):
            continue
        wrapped = SafeTextStream(stream)
        setattr(sys, name, wrapped)


def write_command(line: str, err: bool = False) -> None:
    """Send one of sweepci's own workflow commands (`::error ...::msg`) unguarded."""
    stream = sys.stderr if err else sys.stdout
    if isinstance(stream, SafeTextStream):
        stream.write_command(line)
    else:
        stream.write(line if line.endswith("\n") else line + "\n")
        stream.flush()
