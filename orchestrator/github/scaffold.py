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
from orchestrator.github.render_chatops import chatops_path, render_chatops_workflow
from orchestrator.templating.jinja import render

DEFAULT_SWEEP_FILE = "sweeps/wine.yaml"
DEFAULT_PROGRAM = "train.py"


@dataclass
class Written:
    path: Path
    action: str  # "created", "replaced" or "kept"


def repository_base(root: Path) -> str:
    """The repository's name: from the `origin` remote when it parses, else the directory."""
    from orchestrator.ci.repo import origin_repo
    from orchestrator.errors import ConfigError

    try:
        return origin_repo(root)[1]
    except ConfigError:  # no git, no origin, or a remote that is not owner/name
        return root.resolve().name


def _quoted(text: str) -> str:
    import json

    return json.dumps(text)


def _checked_sweep_file(sweep_file: str) -> str:
    if Path(sweep_file).is_absolute() or ".." in Path(sweep_file).parts:
        raise UsageError(f"--sweep-file {sweep_file!r} must be a path inside the repository")
    return Path(sweep_file).as_posix()


def init_project(
    root: Path,
    *,
    force: bool = False,
    backend: str = "auto",
    python: str = "3.11",
    prod_branch: str = "main",
    sweep_file: str | None = None,
    install: str | None = None,
    reusable: str | None = None,
) -> list[Written]:
    """Write sweepci.yaml, the workflow, .gitignore entries and (when missing) an example sweep.

    `sweep_file` None: the repository's own sweep file when it has one (its
    program is kept too), else the example `sweeps/wine.yaml`. Returns what
    was done, file by file.
    """
    import tempfile

    from orchestrator.config.install import split_install
    from orchestrator.github.discover import (
        find_sweep_files,
        find_training_script,
        gitignore_text,
        missing_ignores,
    )
    from orchestrator.github.inputs import sweep_datasets
    from orchestrator.github.render import default_install_for

    if backend not in BACKENDS:
        raise UsageError(f"--backend must be one of {', '.join(BACKENDS)}, not {backend!r}")
    if not prod_branch.strip() or any(c in prod_branch for c in "\n\r\x00"):
        raise UsageError(f"--prod-branch {prod_branch!r} is not a branch name")
    if reusable is not None:
        import re

        if not re.fullmatch(r"[A-Za-z0-9-]+/[A-Za-z0-9._-]+@[0-9a-f]{40}", reusable):
            raise UsageError(
                f"--reusable {reusable!r}: give OWNER/NAME@<40-hex commit> (a tag can be moved)"
            )
    project_path = root / PROJECT_FILE
    existing = [
        p
        for p in (
            project_path,
            root / ".github" / "workflows" / "sweep.yml",
            root / ".github" / "workflows" / "sweep-chatops.yml",
        )
        if p.exists()
    ]
    if existing and not force:
        names = ", ".join(os.path.relpath(p, root) for p in existing)
        raise UsageError(f"{names} already exists; pass --force to replace it")
    if sweep_file is None:
        found = find_sweep_files(root)
        sweep_file = found[0] if found else DEFAULT_SWEEP_FILE
    sweep_file = _checked_sweep_file(sweep_file)
    args = split_install(install) if install is not None else default_install_for(root)

    # examples: (path, text), or (path, None) for a file of the team's that is kept
    examples: list[tuple[Path, str | None]] = [(root / sweep_file, None)]
    if not (root / sweep_file).exists():
        program = find_training_script(root) or DEFAULT_PROGRAM
        sweep_text = render(
            "init/sweep.yaml.j2", name=Path(sweep_file).stem, program=program, sweep_file=sweep_file
        )
        examples = [(root / sweep_file, sweep_text), (root / program, None)]
        if not (root / program).exists():
            train_text = render("init/train.py.j2", program=program, sweep_file=sweep_file)
            examples[1] = (root / program, train_text)
    else:
        program = _program_of(root, root / sweep_file)
        if program is not None:
            examples.append((root / program, None))

    project_text = render(
        "init/sweepci.yaml.j2",
        q=_quoted,
        base=repository_base(root),
        prod_branch=prod_branch,
        sweep_file=sweep_file,
        backend=backend,
        python=python,
        install=args,
        reusable=reusable,
    )
    # every check before the first write: the project file and the sweep as they will be
    with tempfile.TemporaryDirectory(prefix="sweepci-init-") as tmp:
        staged = Path(tmp) / PROJECT_FILE
        staged.write_text(project_text, encoding="utf-8")
        project = load_project(staged)
        sweep_path = root / sweep_file
        if examples[0][1] is not None:
            sweep_path = Path(tmp) / Path(sweep_file).name
            sweep_path.write_text(examples[0][1], encoding="utf-8")
        datasets = sweep_datasets(sweep_path)
    project.path = str(project_path)
    options = detect_options(root, project, datasets=datasets)
    workflow_text = render_workflow(project, options)
    missing = missing_ignores(root)

    done = [_write(project_path, project_text)]
    done.append(_write(workflow_path(root, project), workflow_text))
    done.append(_write(chatops_path(root, project), render_chatops_workflow(project, options)))
    for path, text in examples:
        done.append(Written(path, "kept") if text is None else _write(path, text))
    if missing:
        gitignore = root / ".gitignore"
        action = "updated" if gitignore.exists() else "created"
        gitignore.write_text(gitignore_text(root, missing), encoding="utf-8")
        done.append(Written(gitignore, action))
    return done


def _program_of(root: Path, sweep_path: Path) -> str | None:
    """The sweep file's `program`, when it names a file inside the repository that exists."""
    import yaml

    try:
        data = yaml.safe_load(sweep_path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        return None
    program = data.get("program") if isinstance(data, dict) else None
    if not isinstance(program, str) or Path(program).is_absolute() or ".." in Path(program).parts:
        return None
    return program if (root / program).is_file() else None


def _write(path: Path, text: str) -> Written:
    action = "replaced" if path.exists() else "created"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return Written(path, action)
