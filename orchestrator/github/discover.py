"""What `sweepci init` finds in a team's repository before it writes anything.

A repository adopting sweepci usually has its own sweep file and training
script; init keeps them and points sweepci.yaml at them instead of writing the
wine example. It also makes sure git ignores sweepci's store, so a routine
`git add -A` never commits it.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import yaml

#: directories that never hold the team's sweep file or script
_SKIP_DIRS = {"node_modules", "venv", "wandb", "__pycache__", "site-packages", "build", "dist"}
_MAX_DEPTH = 3
_MAX_BYTES = 256 * 1024
_MAX_FILES = 2000
#: what git must ignore in a repository that runs sweeps (the store, wandb's local runs)
IGNORED = (".sweepci/", "wandb/")


def _files(root: Path, suffixes: tuple[str, ...]) -> list[Path]:
    """Files under `root` with one of `suffixes`, at most _MAX_DEPTH deep, hidden dirs skipped."""
    found: list[Path] = []
    stack = [(root, 0)]
    while stack and len(found) < _MAX_FILES:
        folder, depth = stack.pop()
        try:
            entries = sorted(folder.iterdir())
        except OSError:
            continue
        for entry in entries:
            if entry.name.startswith(".") or entry.is_symlink():
                continue
            if entry.is_dir():
                if depth + 1 < _MAX_DEPTH and entry.name not in _SKIP_DIRS:
                    stack.append((entry, depth + 1))
            elif entry.suffix in suffixes and entry.is_file():
                found.append(entry)
    return found


def _read_small(path: Path) -> str | None:
    try:
        if path.stat().st_size > _MAX_BYTES:
            return None
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None


def _looks_like_sweep(path: Path) -> bool:
    text = _read_small(path)
    if text is None or "parameters" not in text or "method" not in text:
        return False
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError:
        return False
    return isinstance(data, dict) and "method" in data and "parameters" in data


def find_sweep_files(root: Path) -> list[str]:
    """The repository's sweep files (relative posix paths), the likeliest first.

    A sweep file is a YAML mapping with `method` and `parameters`; files in a
    `sweeps/` folder, or named after sweeps, come first.
    """
    found = [
        p
        for p in _files(root, (".yaml", ".yml"))
        if p.name != "sweepci.yaml" and _looks_like_sweep(p)
    ]

    def rank(path: Path) -> tuple[int, int, str]:
        rel = path.relative_to(root)
        in_sweeps = "sweeps" in rel.parts[:-1] or "sweep" in path.stem.lower()
        return (0 if in_sweeps else 1, len(rel.parts), rel.as_posix())

    return [p.relative_to(root).as_posix() for p in sorted(found, key=rank)]


def find_training_script(root: Path) -> str | None:
    """A Python file that starts a W&B run (`wandb.init`), `train*.py` first; None if none."""
    scripts = [p for p in _files(root, (".py",)) if "wandb.init" in (_read_small(p) or "")]
    if not scripts:
        return None

    def rank(path: Path) -> tuple[int, int, str]:
        rel = path.relative_to(root)
        return (0 if path.stem.startswith("train") else 1, len(rel.parts), rel.as_posix())

    return min(scripts, key=rank).relative_to(root).as_posix()


def _git_ignores(root: Path, name: str) -> bool | None:
    """Does git ignore `name` (a directory) in `root`? None when `root` is not a git work tree."""
    probe = name.rstrip("/") + "/sweepci-probe"
    try:
        done = subprocess.run(
            ["git", "check-ignore", "-q", "--no-index", probe],
            cwd=root,
            capture_output=True,
            timeout=30,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return {0: True, 1: False}.get(done.returncode)


def missing_ignores(root: Path) -> list[str]:
    """The entries of IGNORED that git (or, outside git, .gitignore) does not ignore yet."""
    gitignore = root / ".gitignore"
    lines = set()
    if gitignore.is_file():
        lines = {line.strip() for line in gitignore.read_text(encoding="utf-8").splitlines()}
    missing = []
    for name in IGNORED:
        ignored = _git_ignores(root, name)
        if ignored is None:
            ignored = bool({name, name.rstrip("/"), "/" + name, "/" + name.rstrip("/")} & lines)
        if not ignored:
            missing.append(name)
    return missing


def gitignore_text(root: Path, missing: list[str]) -> str:
    """.gitignore with the `missing` entries appended (its own lines kept as they are)."""
    gitignore = root / ".gitignore"
    text = gitignore.read_text(encoding="utf-8") if gitignore.is_file() else ""
    if text and not text.endswith("\n"):
        text += "\n"
    return text + "# sweepci's store and wandb's local runs\n" + "".join(f"{m}\n" for m in missing)
