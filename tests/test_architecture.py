"""The package's shape, read from its source with `ast`: one-way layers, no circles, short modules.

Layers, top to bottom (DESIGN.md): `cli/` (the door) -> `commands/` (the
tool's workflows) -> `agent/`, `backends/`, `report/`, `github/`, `ci/`,
`promotion/` -> `store/`, `search/`, `config/`, `templating/` -> `trials/` ->
`errors`. A module imports from its own layer or below, never above; `search/`
and `config/` import nothing of the rest but what sits below them. Every
import counts: at module level, inside functions, under TYPE_CHECKING, and
relative ones.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import tomllib

REPO_ROOT = Path(__file__).resolve().parent.parent
PACKAGE = "orchestrator"
MAX_LINES = 400

#: room -> layer (higher imports lower); the root package is handled apart (see below)
LAYERS: dict[str, int] = {
    "cli": 6,
    "__main__": 6,
    "commands": 5,
    "agent": 4,
    "backends": 4,
    "report": 4,
    "github": 4,
    "ci": 4,
    "promotion": 4,
    "store": 3,
    "search": 3,
    "config": 3,
    "templating": 3,
    "trials": 2,
    "errors": 1,
}
#: rooms that import nothing of the rest of the package but these
SELF_CONTAINED = {"search": {"search", "trials", "errors"}, "config": {"config", "errors"}}


@dataclass(frozen=True)
class Edge:
    source: str
    target: str
    line: int


def module_files(root: Path) -> dict[str, Path]:
    """Dotted module name -> file, for every .py file under the package."""
    out = {}
    for path in sorted((root / PACKAGE).rglob("*.py")):
        parts = list(path.relative_to(root).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        out[".".join(parts)] = path
    return out


def _resolve(name: str, modules: dict[str, Path]) -> str | None:
    """The module an imported name lives in: the longest known prefix."""
    while name:
        if name in modules:
            return name
        name = name.rpartition(".")[0]
    return None


def imports_of(module: str, path: Path, modules: dict[str, Path]) -> Iterator[Edge]:
    """Every import of a package module that `module` makes, wherever it is in the file."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                target = _resolve(alias.name, modules)
                if target:
                    yield Edge(module, target, node.lineno)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                if node.level > 1:
                    base = base[: -(node.level - 1)]
                name = ".".join(base + ([node.module] if node.module else []))
            else:
                name = node.module or ""
            if _resolve(name, modules) is None:
                continue
            for alias in node.names:
                # `from orchestrator.store import runs` imports the module orchestrator.store.runs
                sub = f"{name}.{alias.name}"
                target = sub if sub in modules else _resolve(name, modules)
                if target:
                    yield Edge(module, target, node.lineno)


def missing_imports(root: Path) -> list[str]:
    """Imports of package modules that do not exist (a module moved, its importer not updated)."""
    modules = module_files(root)
    out = []
    for module, path in modules.items():
        package = module if path.name == "__init__.py" else module.rpartition(".")[0]
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = package.split(".")
                if node.level > 1:
                    base = base[: -(node.level - 1)]
                names = [
                    ".".join(base + ([node.module] if node.module else []))
                    if node.level
                    else node.module or ""
                ]
            else:
                continue
            for name in names:
                if (name == PACKAGE or name.startswith(PACKAGE + ".")) and name not in modules:
                    out.append(
                        f"{module} (line {node.lineno}) imports {name}, which does not exist"
                    )
    return out


def import_graph(root: Path) -> dict[str, list[Edge]]:
    modules = module_files(root)
    graph: dict[str, list[Edge]] = {}
    for module, path in modules.items():
        graph[module] = [e for e in imports_of(module, path, modules) if e.target != module]
    return graph


def cycles(graph: dict[str, list[Edge]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = 0
    for start in sorted(graph):
        if start in index:
            continue
        work = [(start, iter(sorted({e.target for e in graph[start]})))]
        index[start] = low[start] = counter
        counter += 1
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            for child in children:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted({e.target for e in graph.get(child, [])}))))
                    break
                if child in on_stack:
                    low[node] = min(low[node], index[child])
            else:
                work.pop()
                if work:
                    parent = work[-1][0]
                    low[parent] = min(low[parent], low[node])
                if low[node] == index[node]:
                    component = []
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        component.append(member)
                        if member == node:
                            break
                    if len(component) > 1:
                        found.append(sorted(component))
    return found


def room(module: str) -> str | None:
    """'orchestrator.store.runs' -> 'store'; the root package itself -> None."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else None


def layering_problems(graph: dict[str, list[Edge]]) -> list[str]:
    problems = []
    for module, edges in sorted(graph.items()):
        src = room(module)
        if src is None:
            # the root package is what every import of a submodule runs first: it may be
            # imported by anyone (it holds __version__), and imports nothing at module level
            continue
        if src not in LAYERS:
            problems.append(f"{module}: room '{src}' has no layer in tests/test_architecture.py")
            continue
        for e in edges:
            dst = room(e.target)
            if dst is None or dst == src:
                continue
            where = f"{module} (line {e.line}) imports {e.target}"
            if dst == "cli" and src != "__main__":  # `python -m orchestrator` is a door too
                problems.append(f"{where}: nothing outside cli/ imports cli/")
            elif dst not in LAYERS:
                problems.append(f"{where}: room '{dst}' has no layer")
            elif LAYERS[dst] > LAYERS[src]:
                problems.append(f"{where}: {src}/ is below {dst}/")
            elif src in SELF_CONTAINED and dst not in SELF_CONTAINED[src]:
                problems.append(f"{where}: {src}/ imports nothing of the rest")
    return problems


def root_problems(root: Path) -> list[str]:
    """The root package's imports of its own submodules happen inside functions only."""
    path = root / PACKAGE / "__init__.py"
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return [
        f"{PACKAGE}/__init__.py line {node.lineno} imports {PACKAGE} modules at module level"
        for node in tree.body
        if isinstance(node, (ast.Import, ast.ImportFrom))
        and any(
            (a.name if isinstance(node, ast.Import) else (node.module or "")).startswith(PACKAGE)
            or getattr(node, "level", 0)
            for a in node.names
        )
    ]


def long_modules(root: Path) -> list[str]:
    out = []
    for module, path in module_files(root).items():
        lines = len(path.read_text(encoding="utf-8").splitlines())
        if lines > MAX_LINES:
            out.append(f"{module} ({lines} lines)")
    return out


def click_outside_cli(root: Path) -> list[str]:
    """Only cli/ talks to the user through click (it is the only printer of results and JSON)."""
    out = []
    for module, path in module_files(root).items():
        if room(module) in ("cli", "__main__"):
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = (
                [a.name for a in node.names]
                if isinstance(node, ast.Import)
                else [node.module or ""]
                if isinstance(node, ast.ImportFrom)
                else []
            )
            if any(n == "click" or n.startswith("click.") for n in names):
                out.append(f"{module} (line {node.lineno}) imports click")
    return out


def test_no_import_circles() -> None:
    found = cycles(import_graph(REPO_ROOT))
    assert not found, "import circles: " + "; ".join(" <-> ".join(c) for c in found)


def room_graph(graph: dict[str, list[Edge]]) -> dict[str, list[Edge]]:
    """The same graph between rooms (folders): room -> one edge per module import across rooms."""
    rooms: dict[str, list[Edge]] = {}
    for module, edges in graph.items():
        src = room(module)
        if src is None:
            continue
        rooms.setdefault(src, [])
        for e in edges:
            dst = room(e.target)
            if dst is not None and dst != src:
                rooms[src].append(Edge(src, dst, e.line))
                rooms.setdefault(dst, [])
    return rooms


def test_no_circle_between_rooms() -> None:
    """Rooms of one layer may use each other, but only one way (agent/ <- ci/ <- backends/ ...)."""
    found = cycles(room_graph(import_graph(REPO_ROOT)))
    assert not found, "rooms importing each other: " + "; ".join(" <-> ".join(c) for c in found)


def test_imports_only_go_down_the_layers() -> None:
    problems = layering_problems(import_graph(REPO_ROOT)) + root_problems(REPO_ROOT)
    assert not problems, "upward imports:\n" + "\n".join(problems)


def test_every_imported_module_exists() -> None:
    found = missing_imports(REPO_ROOT)
    assert not found, "imports of missing modules:\n" + "\n".join(found)


def test_no_module_is_over_400_lines() -> None:
    found = long_modules(REPO_ROOT)
    assert not found, f"modules over {MAX_LINES} lines: " + ", ".join(found)


def test_only_cli_prints_for_the_user() -> None:
    found = click_outside_cli(REPO_ROOT)
    assert not found, "click outside cli/:\n" + "\n".join(found)


def test_every_package_ships_in_the_wheel() -> None:
    """A folder missing from pyproject's packages list is missing from a non-editable install."""
    listed = set(
        tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"]
    )
    folders = {
        ".".join(p.parent.relative_to(REPO_ROOT).parts)
        for p in (REPO_ROOT / PACKAGE).rglob("__init__.py")
    }
    assert folders <= listed, f"not in [tool.setuptools] packages: {sorted(folders - listed)}"


# The checks themselves, on small packages written for the purpose: each must catch its case.


def _package(tmp_path: Path, files: dict[str, str]) -> Path:
    for name, text in {"__init__.py": "", **files}.items():
        path = tmp_path / PACKAGE / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        for parent in path.relative_to(tmp_path / PACKAGE).parents:
            init = tmp_path / PACKAGE / parent / "__init__.py"
            if not init.exists():
                init.write_text("")
    return tmp_path


def test_a_circle_through_a_function_level_import_is_found(tmp_path: Path) -> None:
    root = _package(
        tmp_path,
        {
            "store/a.py": "from orchestrator.store import b\n",
            "store/b.py": "def f():\n    from orchestrator.store.a import x\n",
        },
    )
    assert cycles(import_graph(root)) == [["orchestrator.store.a", "orchestrator.store.b"]]


def test_a_circle_through_relative_and_type_checking_imports_is_found(tmp_path: Path) -> None:
    root = _package(
        tmp_path,
        {
            "store/a.py": "from .b import y\n",
            "store/b.py": (
                "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from . import a\n"
            ),
        },
    )
    assert cycles(import_graph(root)) == [["orchestrator.store.a", "orchestrator.store.b"]]


def test_upward_imports_and_imports_of_cli_are_named(tmp_path: Path) -> None:
    root = _package(
        tmp_path,
        {
            "cli/common.py": "",
            "store/runs.py": "from orchestrator.agent.loop import x\n",
            "agent/loop.py": "def f():\n    from orchestrator.cli.common import print_json\n",
            "search/grid.py": "from orchestrator.store.runs import y\n",
            "commands/sweep.py": "from orchestrator.store import runs\nfrom orchestrator.errors import E\n",
            "errors.py": "",
        },
    )
    problems = layering_problems(import_graph(root))
    assert len(problems) == 3, problems
    text = "\n".join(problems)
    assert "orchestrator.store.runs (line 1) imports orchestrator.agent.loop" in text
    assert "orchestrator.agent.loop (line 2) imports orchestrator.cli.common" in text
    assert "orchestrator.search.grid (line 1) imports orchestrator.store.runs" in text


def test_a_module_at_the_root_of_the_package_has_no_layer(tmp_path: Path) -> None:
    root = _package(tmp_path, {"runner.py": "from orchestrator.errors import E\n", "errors.py": ""})
    assert layering_problems(import_graph(root)) == [
        "orchestrator.runner: room 'runner' has no layer in tests/test_architecture.py"
    ]


def test_an_import_of_a_moved_module_is_named(tmp_path: Path) -> None:
    root = _package(
        tmp_path,
        {"github/render.py": "def f():\n    from orchestrator.promote import PROD\n"},
    )
    assert missing_imports(root) == [
        "orchestrator.github.render (line 2) imports orchestrator.promote, which does not exist"
    ]


def test_a_long_module_is_named(tmp_path: Path) -> None:
    root = _package(tmp_path, {"store/big.py": "x = 1\n" * (MAX_LINES + 1)})
    assert long_modules(root) == [f"orchestrator.store.big ({MAX_LINES + 1} lines)"]


@pytest.mark.parametrize("line", ["import click\n", "def f():\n    from click import echo\n"])
def test_click_below_cli_is_named(tmp_path: Path, line: str) -> None:
    root = _package(tmp_path, {"commands/sweep.py": line, "cli/main.py": "import click\n"})
    assert [p.split(" (")[0] for p in click_outside_cli(root)] == ["orchestrator.commands.sweep"]


def test_every_command_the_cli_lists_exists() -> None:
    """The CLI imports its commands lazily and lists them all: a missing module must fail here."""
    import importlib

    import click

    from orchestrator.cli.main import COMMANDS

    missing = []
    for name, (module, attr, _help) in COMMANDS.items():
        try:
            command = getattr(importlib.import_module(module), attr)
        except (ImportError, AttributeError) as exc:
            missing.append(f"{name}: {exc}")
            continue
        if not isinstance(command, click.Command):
            missing.append(f"{name}: {module}.{attr} is not a click command")
    assert not missing, "commands that do not load:\n" + "\n".join(missing)


def test_help_imports_nothing_heavy() -> None:
    """`sweepci --help` stays fast: the heavy packages load only in the command that needs them."""
    import subprocess
    import sys

    from tests.conftest import clean_env

    heavy = ("numpy", "scipy", "pydantic", "yaml", "git", "wandb", "sklearn", "matplotlib")
    probe = (
        "import runpy, sys\n"
        "sys.argv = ['sweepci', '--help']\n"
        "try:\n"
        "    runpy.run_module('orchestrator', run_name='__main__')\n"
        "except SystemExit:\n"
        "    pass\n"
        f"heavy = {heavy!r}\n"
        "print(' '.join(sorted({m.split('.')[0] for m in sys.modules} & set(heavy))), file=sys.stderr)\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, env=clean_env(), timeout=120
    )
    assert proc.returncode == 0, proc.stderr
    assert "Commands" in proc.stdout  # the probe really printed the help
    assert proc.stderr.strip() == "", f"`sweepci --help` imports {proc.stderr.strip()}"
