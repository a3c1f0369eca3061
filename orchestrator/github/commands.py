"""GitHub Actions workflow commands: escaping, annotations, masks, outputs, summary.

Values that reach the workflow command stream are escaped so that a
parameter value or an error message can never inject `::set-output`,
`::add-mask` or any other command.
"""

from __future__ import annotations

import os
import uuid


def escape_data(text: str) -> str:
    """Escape a command's message part (as the Actions runner unescapes it)."""
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(text: str) -> str:
    """Escape a command property value (file=..., title=...)."""
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")


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
    with open(path, "a", encoding="utf-8") as fh:
        fh.write(markdown)
        if not markdown.endswith("\n"):
            fh.write("\n")
