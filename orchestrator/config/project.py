"""The project file `sweepci.yaml` (optional): routing of branches to environments."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from orchestrator.config.actions import ActionsSettings, parse_actions
from orchestrator.config.install import install_arguments
from orchestrator.config.problems import did_you_mean, locate, type_name
from orchestrator.config.yamlload import load_yaml_file
from orchestrator.errors import ConfigError, Location

PROJECT_FILE = "sweepci.yaml"
KNOWN_KEYS = {
    "project",
    "base",
    "entity",
    "environments",
    "sweep_file",
    "backend",
    "repository",
    "workflow",
    "python",
    "agents",
    "promote",
    "install",
    "datasets",
    "actions",
}
BACKENDS = ("auto", "local", "wandb")


@dataclass
class EnvironmentRule:
    name: str
    branches: list[str] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)


@dataclass
class ProjectConfig:
    """Defaults as in DESIGN.md; `path` is None when no sweepci.yaml exists."""

    path: str | None = None
    project: str = "{base}-{env}"
    base: str | None = None
    entity: str | None = None
    environments: list[EnvironmentRule] = field(
        default_factory=lambda: [
            EnvironmentRule("prod", branches=["main"]),
            EnvironmentRule("dev", branches=["*"], tags=["*"]),
        ]
    )
    sweep_file: str = "sweeps/wine.yaml"
    backend: str = "auto"
    repository: str | None = None
    workflow: str = "sweep.yml"
    python: str = "3.11"
    agents: int = 1
    #: the workflow's promote job: after a prod sweep, the best run's model becomes `production`
    promote: bool = True
    #: pip arguments each workflow job installs sweepci with (None: the released version)
    install: list[str] | None = None
    #: choices of the workflow's `dataset` input (None: the sweep file's `dataset` values;
    #: [] for no such input)
    datasets: list[str] | None = None
    #: how the generated workflow runs: runners, timeouts, setup steps, env, triggers
    actions: ActionsSettings = field(default_factory=ActionsSettings)

    def environment_names(self) -> list[str]:
        return [e.name for e in self.environments]

    def project_name(self, base: str, env: str) -> str:
        try:
            return self.project.format(base=base, env=env)
        except (KeyError, IndexError, ValueError) as exc:
            raise ConfigError(
                f"project template {self.project!r} may only use {{base}} and {{env}} ({exc})",
                key="project",
            ) from None


def find_project_file(start: Path | None = None) -> Path | None:
    """sweepci.yaml in the working directory (the repository root in CI)."""
    p = (start or Path.cwd()) / PROJECT_FILE
    # anything by that name is read (and a device or FIFO refused), never silently skipped
    return p if p.exists() or p.is_symlink() else None


def load_project(path: str | Path | None = None) -> ProjectConfig:
    """Load sweepci.yaml (or the defaults when there is none)."""
    if path is None:
        found = find_project_file()
        if found is None:
            return ProjectConfig()
        path = found
    loaded = load_yaml_file(path)
    file = str(path)
    data = loaded.data
    if data is None:
        return ProjectConfig(path=file)

    def fail(keys: tuple, key: str | None, message: str) -> ConfigError:
        shown = ".".join([*map(str, keys), key] if key else map(str, keys)) or None
        return ConfigError(message, locate(data, keys, key, file), shown)

    if not isinstance(data, dict):
        raise fail((), None, f"the project file must be a mapping, not {type_name(data)}")
    for f in loaded.findings:
        if "duplicate key" in f.message:
            raise ConfigError(f.message, Location(file, f.line, f.column), f.key)
    for key in data:
        if key not in KNOWN_KEYS:
            raise fail((), str(key), f"unknown key{did_you_mean(str(key), KNOWN_KEYS)}")
    cfg = ProjectConfig(path=file)
    for key in ("project", "base", "entity", "sweep_file", "repository", "workflow", "python"):
        if key in data and data[key] is not None:
            if not isinstance(data[key], (str, int, float)) or isinstance(data[key], bool):
                raise fail((), key, f"must be a string, not {type_name(data[key])}")
            setattr(cfg, key, str(data[key]))
    if "{" in cfg.project:
        try:
            cfg.project.format(base="b", env="e")
        except (KeyError, IndexError, ValueError):
            raise fail(
                (), "project", f"template {cfg.project!r} may only use {{base}} and {{env}}"
            ) from None
    if "backend" in data:
        if data["backend"] not in BACKENDS:
            raise fail(
                (), "backend", f"must be one of {', '.join(BACKENDS)}, not {data['backend']!r}"
            )
        cfg.backend = data["backend"]
    if "agents" in data:
        if (
            not isinstance(data["agents"], int)
            or isinstance(data["agents"], bool)
            or not 1 <= data["agents"] <= 256
        ):
            raise fail((), "agents", "must be an integer from 1 to 256")
        cfg.agents = data["agents"]
    if "promote" in data:
        if not isinstance(data["promote"], bool):
            raise fail((), "promote", f"must be true or false, not {data['promote']!r}")
        cfg.promote = data["promote"]
    if data.get("install") is not None:
        try:
            cfg.install = install_arguments(data["install"])
        except ConfigError as exc:
            raise fail((), "install", exc.message) from None
    if data.get("datasets") is not None:
        cfg.datasets = _datasets(data["datasets"], lambda m: fail((), "datasets", m))
    if cfg.repository is not None and cfg.repository.count("/") != 1:
        raise fail((), "repository", f"must look like OWNER/NAME, not {cfg.repository!r}")
    if "environments" in data:
        cfg.environments = _environments(data["environments"], fail)
    cfg.actions = parse_actions(data.get("actions"), fail)
    return cfg


#: a dataset name the workflow may offer and pin: no shell or YAML meaning, W&B-tag safe
DATASET_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")


def _datasets(raw: Any, fail) -> list[str]:
    if raw is False:
        return []
    if not isinstance(raw, list):
        raise fail("must be a list of dataset names ([] or false: no `dataset` input)")
    names: list[str] = []
    for item in raw:
        if isinstance(item, bool) or not isinstance(item, (str, int)):
            raise fail(f"must list names (strings), not {type_name(item)}")
        name = str(item)
        if not DATASET_NAME.fullmatch(name):
            raise fail(f"{name!r}: a dataset name is letters, digits, '.', '_' or '-'")
        if name not in names:
            names.append(name)
    return names


def _environments(raw: Any, fail) -> list[EnvironmentRule]:
    if not isinstance(raw, dict) or not raw:
        raise fail(
            (),
            "environments",
            "must be a mapping of environment names to {branches: [...], tags: [...]}",
        )
    rules = []
    for name, spec in raw.items():
        if not isinstance(name, str) or not name.replace("-", "").replace("_", "").isalnum():
            raise fail(
                ("environments",), str(name), "an environment name must be letters, digits, - or _"
            )
        if spec is None:
            spec = {}
        if not isinstance(spec, dict):
            raise fail(
                ("environments",),
                name,
                f"must be a mapping with branches/tags, not {type_name(spec)}",
            )
        for key in spec:
            if key not in ("branches", "tags"):
                raise fail(
                    ("environments", name),
                    str(key),
                    f"unknown key{did_you_mean(str(key), {'branches', 'tags'})}",
                )
        rule = EnvironmentRule(name)
        for key in ("branches", "tags"):
            value = spec.get(key, [])
            if isinstance(value, str):
                value = [value]
            if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
                raise fail(("environments", name), key, "must be a list of patterns (strings)")
            setattr(rule, key, list(value))
        rules.append(rule)
    return rules
