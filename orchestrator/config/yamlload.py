"""YAML loading that keeps line/column marks and notices YAML 1.1 pitfalls.

PyYAML silently keeps the last of two duplicate keys, reads `1e-5` as a string
and `no`/`on` as booleans. This loader records every such case with its place
in the file, so validation can warn (or fail) with `file:line:col`.

Sweep and project files are untrusted input, so the loader bounds them before
building anything: a regular file of at most MAX_FILE_BYTES (never a device
or FIFO such as /dev/zero), nesting at most MAX_DEPTH deep, and at most
MAX_NODES values once every alias is expanded (an alias bomb of a few
hundred bytes names billions of values). The bounds are checked on PyYAML's
event stream, which is read without recursion, so nothing is composed or
allocated past them; each breach is one ConfigError naming the place.
"""

from __future__ import annotations

import os
import re
import stat
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from orchestrator.errors import ConfigError, Location

# A number in scientific notation that YAML 1.1 does not resolve as a float
# (no dot in the mantissa, or no sign on the exponent).
SCI_NUMBER = re.compile(r"^[-+]?(\d+\.?\d*|\.\d+)[eE][-+]?\d+$")
_YAML11_BOOL_WORDS = {"yes", "no", "on", "off", "y", "n"}
#: bounds on a sweep or project file (a real one is a few KiB, a few levels, a few hundred values)
MAX_FILE_BYTES = 1 << 20
MAX_DEPTH = 32
MAX_NODES = 100_000


@dataclass(frozen=True)
class Mark:
    line: int
    column: int


@dataclass(frozen=True)
class Finding:
    """A warning or error found while loading, with where it is."""

    line: int
    column: int
    message: str
    key: str | None = None


class MarkedDict(dict):
    """A dict that remembers where each key and value was written."""

    def __init__(self) -> None:
        super().__init__()
        self.mark: Mark = Mark(1, 1)
        self.key_marks: dict[object, Mark] = {}
        self.value_marks: dict[object, Mark] = {}


class MarkedList(list):
    """A list that remembers where each item was written."""

    def __init__(self) -> None:
        super().__init__()
        self.mark: Mark = Mark(1, 1)
        self.item_marks: list[Mark] = []


@dataclass
class LoadedYAML:
    path: str
    data: object
    findings: list[Finding] = field(default_factory=list)
    # where the document's top node starts (a scalar or list at the top has no marks of its own)
    root_mark: Mark | None = None


def _mark(node: yaml.Node) -> Mark:
    return Mark(node.start_mark.line + 1, node.start_mark.column + 1)


def _make_loader(findings: list[Finding], path: str = "<text>") -> type[yaml.SafeLoader]:
    class MarkingLoader(yaml.SafeLoader):
        pass

    def construct_mapping(loader: yaml.SafeLoader, node: yaml.MappingNode) -> MarkedDict:
        loader.flatten_mapping(node)
        result = MarkedDict()
        result.mark = _mark(node)
        for key_node, value_node in node.value:
            key = loader.construct_object(key_node, deep=True)
            try:
                hash(key)
            except TypeError:
                m = _mark(key_node)
                findings.append(Finding(m.line, m.column, "a mapping key must be a plain value"))
                continue
            if key in result:
                first = result.key_marks[key]
                findings.append(
                    Finding(
                        _mark(key_node).line,
                        _mark(key_node).column,
                        f"duplicate key (first at line {first.line}); YAML keeps only this last one",
                        str(key),
                    )
                )
            result[key] = loader.construct_object(value_node, deep=True)
            result.key_marks[key] = _mark(key_node)
            result.value_marks[key] = _mark(value_node)
        return result

    def construct_sequence(loader: yaml.SafeLoader, node: yaml.SequenceNode) -> MarkedList:
        result = MarkedList()
        result.mark = _mark(node)
        for child in node.value:
            result.append(loader.construct_object(child, deep=True))
            result.item_marks.append(_mark(child))
        return result

    def construct_bool(loader: yaml.SafeLoader, node: yaml.ScalarNode) -> bool:
        value = loader.construct_yaml_bool(node)
        if node.value.lower() in _YAML11_BOOL_WORDS:
            m = _mark(node)
            findings.append(
                Finding(
                    m.line,
                    m.column,
                    f"'{node.value}' is read as the boolean {value} by YAML 1.1; quote it if you meant a string",
                )
            )
        return value

    def construct_str(loader: yaml.SafeLoader, node: yaml.ScalarNode) -> str:
        value = loader.construct_yaml_str(node)
        if "\x00" in value:
            # a NUL ends a C string: no argv item, environment value, file name or tag can
            # hold it, so a value or program with one could only crash the run later
            m = _mark(node)
            raise ConfigError(
                "holds a NUL character (\\0), which no program argument, file name or tag can hold",
                Location(path, m.line, m.column),
            )
        if node.style is None and SCI_NUMBER.match(value):
            m = _mark(node)
            findings.append(
                Finding(
                    m.line,
                    m.column,
                    f"'{value}' is read as a string by YAML 1.1, not a number; write it with a dot "
                    f"and a signed exponent (e.g. {float_spelling(value)})",
                )
            )
        return value

    MarkingLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, construct_mapping)
    MarkingLoader.add_constructor(
        yaml.resolver.BaseResolver.DEFAULT_SEQUENCE_TAG, construct_sequence
    )
    MarkingLoader.add_constructor("tag:yaml.org,2002:bool", construct_bool)
    MarkingLoader.add_constructor("tag:yaml.org,2002:str", construct_str)
    return MarkingLoader


_SCI_PARTS = re.compile(r"^([-+]?)(\d*)(?:\.(\d*))?[eE]([-+]?)(\d+)$")


def float_spelling(text: str) -> str:
    """'1e-5' -> '1.0e-5', '2E5' -> '2.0e+5': the YAML 1.1 float spelling."""
    m = _SCI_PARTS.match(text)
    if not m:
        return "1.0e-5"
    sign, whole, frac, exp_sign, exp = m.groups()
    return f"{sign}{whole or '0'}.{frac or '0'}e{exp_sign or '+'}{exp}"


def _check_bounds(text: str, path: str) -> None:
    """Refuse text nested deeper than MAX_DEPTH or holding more than MAX_NODES values with
    its aliases expanded, from the event stream (no recursion, no tree is built)."""
    sizes: dict[str, int] = {}  # anchor -> expanded size of the node it names
    stack: list[list] = []  # [expanded size so far, anchor] of each open collection
    seen = 0  # values of the whole document so far, aliases expanded

    def count(size: int, event: yaml.Event) -> None:
        nonlocal seen
        seen += size
        if stack:
            stack[-1][0] += size
        if seen > MAX_NODES:
            raise _bound_error(
                path, event, f"holds more than {MAX_NODES} values once its aliases are expanded"
            )

    for event in yaml.parse(text, Loader=yaml.SafeLoader):
        if isinstance(event, (yaml.MappingStartEvent, yaml.SequenceStartEvent)):
            count(1, event)
            stack.append([1, event.anchor])
            if len(stack) > MAX_DEPTH:
                raise _bound_error(path, event, f"nests deeper than {MAX_DEPTH} levels")
        elif isinstance(event, (yaml.MappingEndEvent, yaml.SequenceEndEvent)):
            size, anchor = stack.pop()
            if stack:
                stack[-1][0] += size - 1  # its start was counted in the parent already
            if anchor is not None:
                sizes[anchor] = size
        elif isinstance(event, yaml.ScalarEvent):
            count(1, event)
            if event.anchor is not None:
                sizes[event.anchor] = 1
        elif isinstance(event, yaml.AliasEvent):
            count(sizes.get(event.anchor, 1), event)


def _bound_error(path: str, event: yaml.Event, message: str) -> ConfigError:
    mark = event.start_mark
    hint = " (check for YAML aliases that refer to each other)" if "alias" in message else ""
    return ConfigError(
        f"{message}; a sweep file is far smaller{hint}",
        Location(path, mark.line + 1 if mark else None, mark.column + 1 if mark else None),
    )


def load_yaml_text(text: str, path: str) -> LoadedYAML:
    """Parse YAML text within the bounds above; syntax errors become a ConfigError with the place."""
    findings: list[Finding] = []
    loader_cls = _make_loader(findings, path)
    root_mark = None
    try:
        _check_bounds(text, path)
        loader = loader_cls(text)
        try:
            node = loader.get_single_node()
            data = loader.construct_document(node) if node is not None else None
            root_mark = _mark(node) if node is not None else None
        finally:
            loader.dispose()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        if exc.context_mark is not None and "end of stream" in (exc.problem or ""):
            # "unexpected end of stream" names the end of the file; the fix is where the
            # unclosed quote or bracket began
            mark = exc.context_mark
        line = mark.line + 1 if mark else None
        col = mark.column + 1 if mark else None
        raise ConfigError(
            f"invalid YAML: {_syntax_message(exc)}", Location(path, line, col)
        ) from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"invalid YAML: {exc}", Location(path)) from None
    return LoadedYAML(path=path, data=data, findings=findings, root_mark=root_mark)


def _syntax_message(exc: yaml.MarkedYAMLError) -> str:
    """PyYAML's problem and context as one sentence, naming where the context began."""
    problem = exc.problem or exc.context or "invalid YAML"
    if "'\\t'" in problem or "tab character" in problem:
        return "a tab character; YAML indents with spaces only, never tabs"
    context = exc.context if exc.problem else None
    if not context:
        return problem
    if context.startswith("expected"):
        return f"{context}, {problem}"
    if problem.startswith("expected <block end>"):
        problem += "; check the indentation"
    where = ""
    if exc.context_mark is not None and (
        exc.problem_mark is None or exc.context_mark.line != exc.problem_mark.line
    ):
        where = f" that starts at line {exc.context_mark.line + 1}"
    return f"{problem} ({context}{where})"


def read_input_file(path: str | Path, limit: int = MAX_FILE_BYTES) -> bytes:
    """The bytes of a regular file of at most `limit` bytes; ConfigError naming it otherwise
    (missing, a directory, a device or FIFO such as /dev/zero, too large, unreadable).
    At most limit + 1 bytes are read, whatever the file claims its size is."""
    p = Path(path)
    try:
        fd = os.open(p, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except FileNotFoundError:
        raise ConfigError("no such file", Location(str(path))) from None
    except IsADirectoryError:
        raise ConfigError("is a directory, not a file", Location(str(path))) from None
    except OSError as exc:
        raise ConfigError(f"cannot read: {exc.strerror}", Location(str(path))) from None
    mode = os.fstat(fd).st_mode
    if not stat.S_ISREG(mode):
        os.close(fd)
        if stat.S_ISDIR(mode):
            raise ConfigError("is a directory, not a file", Location(str(path)))
        raise ConfigError(
            "is not a regular file (a device, FIFO or socket); give a file", Location(str(path))
        )
    with os.fdopen(fd, "rb") as fh:
        os.set_blocking(fd, True)
        try:
            raw = fh.read(limit + 1)
        except OSError as exc:
            raise ConfigError(f"cannot read: {exc.strerror}", Location(str(path))) from None
    if len(raw) > limit:
        raise ConfigError(
            f"is larger than {limit // 1024} KiB; a sweep or project file is far smaller",
            Location(str(path)),
        )
    return raw


def load_yaml_file(path: str | Path) -> LoadedYAML:
    """Read and parse a YAML file; unreadable, unbounded or invalid files are a ConfigError."""
    raw = read_input_file(path)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        column = exc.start - (raw.rfind(b"\n", 0, exc.start) + 1) + 1
        raise ConfigError(
            f"not UTF-8 text (byte 0x{raw[exc.start]:02x}); save the file as UTF-8",
            Location(str(path), line, column),
        ) from None
    return load_yaml_text(text, str(path))
