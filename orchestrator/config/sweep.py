"""Sweep files: W&B's sweep YAML, validated into a typed model with file:line errors.

Validation is one pass in one direction: the YAML is loaded with its marks
(overrides.py, yamlload.py), the `parameters:` section becomes specs
(params.py), the `command:` is checked (command.py), and this module checks
the remaining top-level keys and builds the SweepConfig. Every stage reports
into one problems.Reporter.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from orchestrator.config.command import DEFAULT_COMMAND, check_command
from orchestrator.config.distributions import ParamSpec, flatten_specs
from orchestrator.config.overrides import load_with_overrides
from orchestrator.config.params import check_parameter_section
from orchestrator.config.problems import (
    Problem,
    Reporter,
    closest,
    did_you_mean,
    is_int,
    is_number,
    locate,
    plain,
    type_name,
)
from orchestrator.config.yamlload import LoadedYAML, load_yaml_text
from orchestrator.errors import ConfigError, Location

TOP_LEVEL_KEYS = {
    "program",
    "command",
    "method",
    "metric",
    "parameters",
    "early_terminate",
    "run_cap",
    "name",
    "description",
    "project",
    "entity",
}
# Keys W&B accepts for W&B Launch and the like; sweepci reads the file but ignores them.
IGNORED_KEYS = {"apiVersion", "kind", "controller", "job", "image_uri", "scheduler", "metrics"}
METHODS = ("grid", "random", "bayes")


class Metric(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    name: str
    goal: Literal["minimize", "maximize"] = "minimize"
    target: float | None = None
    impute: Literal["latest", "best", "worst"] = "worst"
    impute_while_running: Literal["latest", "best", "worst", "false"] = "false"

    @property
    def maximize(self) -> bool:
        return self.goal == "maximize"


class EarlyTerminate(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    type: Literal["hyperband"]
    min_iter: int | None = Field(default=None, ge=1)
    max_iter: int | None = Field(default=None, ge=1)
    s: int | None = Field(default=None, ge=1)
    eta: float = Field(default=3.0, gt=1)
    strict: bool = True


class SweepConfig(BaseModel):
    """A validated sweep file. `parameters` holds ParamSpec objects (nested dicts for groups)."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    path: str
    method: Literal["grid", "random", "bayes"]
    program: str | None = None
    command: list[str] = Field(default_factory=lambda: list(DEFAULT_COMMAND))
    metric: Metric | None = None
    parameters: dict[str, Any]
    early_terminate: EarlyTerminate | None = None
    run_cap: int | None = None
    name: str | None = None
    description: str | None = None
    project: str | None = None
    entity: str | None = None
    raw: dict[str, Any]

    def flat_parameters(self) -> dict[tuple[str, ...], ParamSpec]:
        return flatten_specs(self.parameters)

    def to_wandb_dict(self) -> dict[str, Any]:
        """The sweep as W&B's server should receive it (plain data, as written)."""
        return plain(self.raw)


@dataclass
class ValidationResult:
    path: str
    config: SweepConfig | None
    errors: list[Problem] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors

    def raise_first(self) -> None:
        if self.errors:
            first = self.errors[0]
            raise ConfigError(first.message, first.location, first.key)


def validate_loaded(loaded: LoadedYAML) -> ValidationResult:
    """Check a parsed sweep file the way W&B would, plus sweepci's extra checks."""
    c = Reporter(loaded)
    for f in loaded.findings:
        c.warnings.append(Problem(Location(c.file, f.line, f.column), f.message, f.key, "warning"))
    data = loaded.data
    if data is None:
        c.error((), None, "the file is empty; a sweep needs at least 'method' and 'parameters'")
        return ValidationResult(c.file, None, c.errors, c.warnings)
    if not isinstance(data, dict):
        c.error((), None, f"a sweep file must be a mapping of keys, not {type_name(data)}")
        return ValidationResult(c.file, None, c.errors, c.warnings)

    # a misspelt required key is one problem: say "did you mean", not also "missing"
    misspelt: set[str] = set()
    for key in data:
        if key in IGNORED_KEYS:
            c.warn((), key, "is a W&B Launch/advanced key that sweepci ignores")
        elif key not in TOP_LEVEL_KEYS:
            c.error((), str(key), f"unknown key{did_you_mean(str(key), TOP_LEVEL_KEYS)}")
            misspelt.add(closest(str(key), TOP_LEVEL_KEYS) or "")

    method = data.get("method")
    if "method" not in data:
        if "method" not in misspelt:
            c.error((), None, "missing required key 'method' (grid, random or bayes)", "method")
    elif method not in METHODS:
        hint = did_you_mean(method, set(METHODS)) if isinstance(method, str) else ""
        c.error((), "method", f"must be one of grid, random, bayes, not {method!r}{hint}")

    for key in ("program", "name", "description", "project", "entity"):
        if key in data and not isinstance(data[key], str):
            c.error((), key, f"must be a string, not {type_name(data[key])}")

    if "run_cap" in data and (not is_int(data["run_cap"]) or data["run_cap"] <= 0):
        c.error((), "run_cap", f"must be a positive integer, not {data['run_cap']!r}")

    metric = _check_model(c, data, "metric", Metric)
    early = _check_model(c, data, "early_terminate", EarlyTerminate)
    if early is not None and early.min_iter is None and (early.max_iter is None or early.s is None):
        c.error((), "early_terminate", "hyperband needs 'min_iter', or both 'max_iter' and 's'")
    elif (
        early is not None
        and early.max_iter is not None
        and early.s is not None
        and early.max_iter < early.eta
    ):
        # W&B's first bracket is max_iter / eta; below 1 there is none and its engine fails
        c.error(
            ("early_terminate",),
            "max_iter",
            f"max_iter ({early.max_iter}) / eta ({early.eta:g}) is below 1, which leaves hyperband no "
            "bracket; raise max_iter or lower eta",
        )
    if (
        isinstance(data.get("metric"), dict)
        and "target" in data["metric"]
        and not is_number(data["metric"]["target"])
    ):
        pass  # already reported by the model check

    if method == "bayes" and "metric" not in data:
        c.error(
            (),
            "method",
            "bayes search needs a 'metric' to optimise (add metric: {name: ..., goal: ...})",
        )
    if early is not None and "metric" not in data:
        c.error((), "early_terminate", "early termination needs a 'metric'")

    command = check_command(c, data)

    specs: dict = {}
    if "parameters" not in data:
        if "parameters" not in misspelt:
            c.error((), None, "missing required key 'parameters'", "parameters")
    else:
        specs = check_parameter_section(c, data["parameters"], method)
        if isinstance(data["parameters"], dict) and "wandb_version" in data["parameters"]:
            # W&B's parameter file format owns the key: wandb.init drops it, under wandb agent too
            c.warn(
                ("parameters",),
                "wandb_version",
                "never reaches wandb.config: W&B's parameter file reserves the name (rename it)",
            )

    uses_program = any("${program}" in str(part) for part in command)
    if uses_program and "program" not in data and not c.errors:
        c.error((), None, "missing 'program' (the training script the command runs)", "program")

    # one line per problem: a warning on a line that already has an error repeats it
    error_lines = {e.location.line for e in c.errors}
    c.warnings = [w for w in c.warnings if w.location.line not in error_lines]

    config = None
    if not c.errors:
        config = SweepConfig(
            path=c.file,
            method=method,
            program=data.get("program"),
            command=command,
            metric=metric,
            parameters=specs,
            early_terminate=early,
            run_cap=data.get("run_cap"),
            name=data.get("name"),
            description=data.get("description"),
            project=data.get("project"),
            entity=data.get("entity"),
            raw=plain(data),
        )
    return ValidationResult(c.file, config, c.errors, c.warnings)


def _check_model(c: Reporter, data: dict, key: str, model: type[BaseModel]) -> Any:
    if key not in data:
        return None
    raw = data[key]
    if not isinstance(raw, dict):
        c.error((), key, f"must be a mapping, not {type_name(raw)}")
        return None
    try:
        return model.model_validate(plain(raw) if model is not Metric else _metric_input(raw))
    except ValidationError as exc:
        for err in exc.errors():
            loc = [str(p) for p in err["loc"]]
            sub = loc[0] if loc else None
            msg = err["msg"]
            if err["type"] == "extra_forbidden" and sub:
                msg = f"unknown key{did_you_mean(sub, set(model.model_fields))}"
            elif err["type"] == "missing":
                msg = "is required"
            elif "literal" in err["type"]:
                msg = f"{msg}, not {err.get('input')!r}"
            c.error((key,), sub, msg, ".".join([key, *loc]))
        return None


def _metric_input(raw: dict) -> dict:
    out = plain(raw)
    # W&B accepts an integer target; strict mode would refuse int for float.
    if is_int(out.get("target")):
        out["target"] = float(out["target"])
    return out


def validate_file(
    path: str | Path,
    overrides: list[str] | None = None,
    add: bool = False,
    check_program: bool = False,
) -> ValidationResult:
    """Load and validate a sweep file; `--set` overrides are applied before validation.

    `check_program`: also an error when the `program` the command runs does
    not exist (`sweepci validate`).
    """
    loaded = load_with_overrides(path, overrides, add)
    result = validate_loaded(loaded)
    if check_program:
        problem = missing_program(result, loaded)
        if problem is not None:
            result.errors.append(problem)
            result.config = None
    return result


def missing_program(result: ValidationResult, loaded: LoadedYAML) -> Problem | None:
    """An error when the command runs `${program}` and that file does not exist.

    The path is relative to the working directory, where the agent starts the
    command (as `wandb agent` does); W&B itself finds out only when the first run fails.
    """
    config = result.config
    if config is None or not config.program:
        return None
    if not any("${program}" in str(part) for part in config.command):
        return None
    if Path(config.program).is_file():
        return None
    where = locate(loaded.data, (), "program", result.path)
    return Problem(
        where,
        f"{config.program!r} does not exist (relative to {Path.cwd()}, where the command runs it)",
        "program",
    )


def load_sweep(
    path: str | Path, overrides: list[str] | None = None, add: bool = False
) -> tuple[SweepConfig, list[Problem]]:
    """Validated sweep config, or ConfigError for the first problem. Returns warnings too."""
    result = validate_file(path, overrides, add)
    result.raise_first()
    assert result.config is not None
    return result.config, result.warnings


def config_from_dict(raw: dict[str, Any], path: str = "<stored sweep>") -> SweepConfig:
    """Re-validate a stored sweep config (plain data) into a SweepConfig."""
    loaded = load_yaml_text(yaml.safe_dump(raw, sort_keys=False, allow_unicode=True), path)
    result = validate_loaded(loaded)
    result.raise_first()
    assert result.config is not None
    return result.config
