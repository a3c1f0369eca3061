"""Problems found in a marked YAML file, located by line and column, and the words for them.

The first stage of every check: `locate` turns a key path into a file:line
`Location`, `Reporter` collects errors and warnings as `Problem`s, and the
small predicates and phrasings (`type_name`, `did_you_mean`, ...) keep every
message alike. Imports nothing from the other config modules but the loader.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from typing import Any, Literal

from orchestrator.config.yamlload import LoadedYAML, MarkedDict, MarkedList
from orchestrator.errors import Location


@dataclass
class Problem:
    location: Location
    message: str
    key: str | None = None
    severity: Literal["error", "warning"] = "error"

    def one_line(self) -> str:
        text = f"{self.key}: {self.message}" if self.key else self.message
        return f"{self.location}: {self.severity}: {text}"


def plain(value: Any) -> Any:
    """Marked YAML containers -> plain dicts and lists."""
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain(v) for v in value]
    return value


def locate(root: Any, path: tuple[Any, ...], key: str | None, file: str) -> Location:
    """Find the line of `key` under the mapping at `path`, or the deepest point reachable."""
    node = root
    best = getattr(root, "mark", None)
    for part in path:
        if isinstance(node, MarkedDict) and part in node:
            best = node.key_marks.get(part, best)
            node = node[part]
        elif isinstance(node, MarkedList) and isinstance(part, int) and part < len(node):
            best = node.item_marks[part]
            node = node[part]
        else:
            break
    else:
        if key is not None and isinstance(node, MarkedDict) and key in node:
            best = node.key_marks[key]
    if best is None:
        return Location(file)
    return Location(file, best.line, best.column)


class Reporter:
    """Collects the errors and warnings of one loaded file, each located at its key."""

    def __init__(self, loaded: LoadedYAML):
        self.loaded = loaded
        self.file = loaded.path
        self.errors: list[Problem] = []
        self.warnings: list[Problem] = []

    def _locate(self, path: tuple, key: str | None) -> Location:
        loc = locate(self.loaded.data, path, key, self.file)
        if loc.line is None:
            # a scalar or an empty document has no marks of its own: name where it starts
            mark = self.loaded.root_mark
            loc = Location(self.file, mark.line, mark.column) if mark else Location(self.file, 1, 1)
        return loc

    def error(
        self, path: tuple, key: str | None, message: str, display_key: str | None = None
    ) -> None:
        loc = self._locate(path, key)
        shown = (
            display_key
            if display_key is not None
            else ".".join([*map(str, path), key] if key else map(str, path))
        )
        self.errors.append(Problem(loc, message, shown or None))

    def warn(self, path: tuple, key: str | None, message: str) -> None:
        loc = self._locate(path, key)
        shown = ".".join([*map(str, path), key] if key else map(str, path))
        self.warnings.append(Problem(loc, message, shown or None, "warning"))


def is_number(value: object) -> bool:
    """A YAML number: int or float, but not a boolean."""
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def closest(word: str, choices: set[str] | list[str]) -> str | None:
    """The choice most like `word`, if any is close enough to be a likely typo."""
    match = difflib.get_close_matches(str(word), sorted(choices), n=1, cutoff=0.6)
    return match[0] if match else None


def did_you_mean(word: str, choices: set[str] | list[str]) -> str:
    match = closest(word, choices)
    return f" (did you mean '{match}'?)" if match else ""


def type_name(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int):
        return "an integer"
    if isinstance(value, float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    return type(value).__name__
