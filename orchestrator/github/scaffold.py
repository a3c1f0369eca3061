"""`sweepci init`: sweepci.yaml, the sweep workflow, and an example sweep to start from.

sweepci.yaml and the workflow belong to sweepci and are replaced only with
`force`. The example sweep file and training script belong to the user as
soon as they exist, so they are written only when missing, never replaced.
Every check happens before the first file is written.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from orchestrator.config.project import BACKENDS, PROJECT_FILE, load_project
from orchestrator.errors import UsageError
from orchestrator.github.render import detect_options, render_workflow, workflow_path
from orchestrator.templating import render

DEFAULT_SWEEP_FILE = "sweeps/wine.yaml"
DEFAULT_PROGRAM = "train.py"


@dataclass
class Written:
    path: Path
    action: str  # "created", "replaced" or "kept"


def repository_base(root: Path) -> str:
    """The repository's name: from the `origin` remote when it parses, else the directory."""
    from orchestrator.errors import ConfigError
    from orchestrator.github.repo import origin_repo

    try:
        return origin_repo(root)[1]
    except ConfigError:  # no git, no origin, or a remote that is not owner/name
        return root.resolve().name


def _quoted(text: str) -> str:
    import json

    return json.dumps(text)


def init_project(
    root: Path,
    *,
    force: bool = False,
    backend: str = "auto",
    python: str = "3.11",
    prod_branch: str = "main",
    sweep_file: str = DEFAULT_SWEEP_FILE,
    install: str | None = None,
) -> list[Written]:
    """Write sweepci.yaml, the workflow and (when missing) an example sweep; return what was done."""
    if backend not in BACKENDS:
        raise UsageError(f"--backend must be one of {', '.join(BACKENDS)}, not {backend!r}")
    if Path(sweep_file).is_absolute() or ".." in Path(sweep_file).parts:
        raise UsageError(f"--sweep-file {sweep_file!r} must be a path inside the repository")
    project_path = root / PROJECT_FILE
    existing = [
        p for p in (project_path, root / ".github" / "workflows" / "sweep.yml") if p.exists()
    ]
    if existing and not force:
        names = ", ".join(os.path.relpath(p, root) for p in existing)
        raise UsageError(f"{names} already exists; pass --force to replace it")

    project_text = render(
        "init/sweepci.yaml.j2",
        q=_quoted,
        base=repository_base(root),
        prod_branch=prod_branch,
        sweep_file=sweep_file,
        backend=backend,
        python=python,
    )
    # examples: (path, text), or (path, None) for a file of the user's that is kept
    examples: list[tuple[Path, str | None]] = [(root / sweep_file, None)]
    if not (root / sweep_file).exists():
        program = DEFAULT_PROGRAM
        sweep_text = render(
            "init/sweep.yaml.j2", name=Path(sweep_file).stem, program=program, sweep_file=sweep_file
        )
        examples = [(root / sweep_file, sweep_text), (root / program, None)]
        if not (root / program).exists():
            train_text = render("init/train.py.j2", program=program, sweep_file=sweep_file)
            examples[1] = (root / program, train_text)

    done = [_write(project_path, project_text)]
    project = load_project(project_path)  # read back: the workflow follows the file as written
    options = detect_options(root, project, install)
    done.append(_write(workflow_path(root, project), render_workflow(project, options)))
    for path, text in examples:
        done.append(Written(path, "kept") if text is None else _write(path, text))
    return done


def _write(path: Path, text: str) -> Written:
    action = "replaced" if path.exists() else "created"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return Written(path, action)
