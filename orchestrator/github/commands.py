"""GitHub Actions workflow commands: escaping, annotations, masks, outputs, summary.

Values that reach the workflow command stream are escaped so that a
parameter value or an error message can never inject `::set-output`,
`::add-mask` or any other command.
"""

from __future__ import annotations

import os
import re
import sys
import uuid

# C0 controls but tab and newline, DEL, and the C1 controls (ESC [ as one character)
CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
COMMAND_START = re.compile(r"^([ \t]*)::", re.M)
#: put before a `::` that opens a line: the runner only reads `::` at the start of a line
COMMAND_GUARD = "\\"


def escape_control(match: re.Match[str]) -> str:
    code = ord(match.group(0))
    # C1 controls may sit raw inside --json output (ensure_ascii=False): \u00NN keeps it JSON
    return f"\\x{code:02x}" if code < 0x80 else f"\\u{code:04x}"


def printable(text: str) -> str:
    """Text from outside as it may be shown: control characters (ESC, BEL, CR...) as visible
    \\xNN, and no line able to start a workflow command. The CLI's streams apply it to
    everything printed (cli/safe_output); files such as the job summary call it directly."""
    text = CONTROL.sub(escape_control, text)
    return COMMAND_START.sub(lambda m: f"{m.group(1)}{COMMAND_GUARD}::", text)


def escape_data(text: str) -> str:
    """Escape a command's message part (as the Actions runner unescapes it)."""
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(text: str) -> str:
    """Escape a command property value (file=..., title=...)."""
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")


def command(name: str, message: str, *, err: bool = False, **props: str | int) -> None:
    """Send one workflow command (`::name k=v,...::message`), message and properties escaped.

    The CLI's streams escape any other line that would start with `::` (cli/safe_output);
    this is the one way through, for commands sweepci itself means."""
    head = f"::{name}"
    if props:
        head += " " + ",".join(f"{k}={escape_property(str(v))}" for k, v in props.items())
    # no raw control character either: the annotation is shown in the log as it is
    line = CONTROL.sub(escape_control, f"{head}::{escape_data(message)}")
    stream = sys.stderr if err else sys.stdout
    writer = getattr(stream, "write_command", None)
    if writer is not None:
        writer(line)
    else:
        stream.write(line + "\n")
        stream.flush()


def in_actions() -> bool:
    return os.environ.get("GITHUB_ACTIONS") == "true"


def set_outputs(outputs: dict[str, str]) -> None:
    """Append step outputs to $GITHUB_OUTPUT, heredoc style with a random delimiter."""
    path = os.environ.get("GITHUB_OUTPUT")
    if not path:
        return
    with open(path, "a", encoding="utf-8") as fh:
        for name, value in outputs.items():
            text = "" if value is None else str(value)
            delimiter = f"ghadelimiter_{uuid.uuid4().hex}"
            fh.write(f"{name}<<{delimiter}\n{text}\n{delimiter}\n")


def append_summary(markdown: str) -> None:
    """Append Markdown to the job summary ($GITHUB_STEP_SUMMARY)."""
    path = os.environ.get("GITHUB_STEP_SUMMARY")
    if not path:
        return
    markdown = printable(markdown)
    with open(path, "a", encoding="utf-8") as fh:
        fh.write(markdown)
        if not markdown.endswith("\n"):
            fh.write("\n")
