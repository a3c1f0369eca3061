"""The workflow's `dataset` input: its choices come from the project, not from sweepci.

`datasets:` in sweepci.yaml wins; otherwise the sweep file's own `dataset`
parameter (its `values`, or its one `value`) lists them. A sweep without such
a parameter (or no sweep file yet) gets no `dataset` input at all, so "Run workflow" with its
defaults never pins a parameter the sweep does not have. The plan job and
`sweepci dispatch` check a requested dataset against this same list.
"""

from __future__ import annotations

import os
from pathlib import Path

from orchestrator.config.project import DATASET_NAME, ProjectConfig
from orchestrator.errors import ConfigError

DATASET_PARAMETER = "dataset"


def sweep_datasets(sweep_path: Path) -> list[str]:
    """The `dataset` values of the sweep file at `sweep_path` ([] when it has no such parameter)."""
    from orchestrator.config.sweep import load_sweep

    config, _ = load_sweep(sweep_path)
    spec = config.flat_parameters().get((DATASET_PARAMETER,))
    if spec is None:
        return []
    settings = spec.settings
    if "values" in settings:
        raw = list(settings["values"])  # type: ignore[arg-type]
    elif "value" in settings:
        raw = [settings["value"]]
    else:
        return []  # a numeric distribution: nothing a choice input could list
    names: list[str] = []
    for value in raw:
        name = str(value)
        if isinstance(value, bool) or not DATASET_NAME.fullmatch(name):
            raise ConfigError(
                f"dataset value {name!r} cannot be a workflow choice (letters, digits, '.', '_', "
                "'-'); list the choices as `datasets:` in sweepci.yaml, or `datasets: []` for none",
                key="parameters.dataset",
            )
        if name not in names:
            names.append(name)
    return names


def dataset_choices(root: Path, project: ProjectConfig) -> list[str]:
    """The `dataset` input's choices for this repository ([]: the workflow has no such input)."""
    if project.datasets is not None:
        return list(project.datasets)
    path = root / project.sweep_file
    if not path.is_file():
        # nothing to choose from yet; once the file exists, `workflow check` reports the drift
        return []
    return sweep_datasets(Path(os.path.relpath(path)) if path.is_absolute() else path)
