"""Sweep files: W&B's sweep YAML, validated into a typed model with file:line errors."""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from orchestrator.config.params import (
    GRID_DISTRIBUTIONS,
    ParamSpec,
    check_parameters,
    closest,
    did_you_mean,
    flatten_specs,
    is_int,
    is_number,
    type_name,
)
from orchestrator.config.yamlload import (
    LoadedYAML,
    MarkedDict,
    MarkedList,
    load_yaml_file,
    load_yaml_text,
)
from orchestrator.errors import ConfigError, Location, UsageError

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

#: W&B's command macros (the agent replaces a whole `${name}` item with a list).
MACROS = {
    "env",
    "interpreter",
    "program",
    "args",
    "args_no_hyphens",
    "args_no_boolean_flags",
    "args_json",
    "args_json_file",
    "args_no_equals",
    "args_append_hydra",
    "args_override_hydra",
}
DEFAULT_COMMAND = ["${env}", "${interpreter}", "${program}", "${args}"]
_MACRO = re.compile(r"\$\{([^}]*)\}")
_ENVVAR = re.compile(r"^envvar:[A-Z0-9_]*$")


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
class Problem:
    location: Location
    message: str
    key: str | None = None
    severity: Literal["error", "warning"] = "error"

    def one_line(self) -> str:
        text = f"{self.key}: {self.message}" if self.key else self.message
        return f"{self.location}: {self.severity}: {text}"


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


class _Checker:
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


def _param_path(path: tuple[str, ...]) -> tuple[str, ...]:
    """('a', 'b') -> ('parameters', 'a', 'parameters', 'b') as written in the file."""
    out: list[str] = []
    for part in path:
        out += ["parameters", part]
    return tuple(out)


def validate_loaded(loaded: LoadedYAML) -> ValidationResult:
    """Check a parsed sweep file the way W&B would, plus sweepci's extra checks."""
    c = _Checker(loaded)
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

    command = _check_command(c, data)

    specs: dict = {}
    if "parameters" not in data:
        if "parameters" not in misspelt:
            c.error((), None, "missing required key 'parameters'", "parameters")
    else:
        specs, problems = check_parameters(data["parameters"])
        for p in problems:
            if p.key == "parameters" and not p.path:
                c.error((), "parameters", p.message)
            else:
                c.error(
                    _param_path(p.path),
                    p.key,
                    p.message,
                    ".".join([*p.path, p.key] if p.key else p.path),
                )
        if not problems:
            _check_flat_names(c, specs)
        if method == "grid" and not problems:
            for path, spec in flatten_specs(specs).items():
                if spec.distribution not in GRID_DISTRIBUTIONS:
                    c.error(
                        _param_path(path),
                        None,
                        f"grid search cannot enumerate a {spec.distribution} parameter; use values, "
                        "int_uniform or q_uniform, or method: random/bayes",
                        ".".join(path),
                    )
        _warn_values(c, data.get("parameters"), ())

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


def _check_model(c: _Checker, data: dict, key: str, model: type[BaseModel]) -> Any:
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


def _check_command(c: _Checker, data: dict) -> list[str]:
    if "command" not in data:
        return list(DEFAULT_COMMAND)
    command = data["command"]
    if not isinstance(command, list) or not command:
        c.error((), "command", "must be a non-empty list of strings")
        return list(DEFAULT_COMMAND)
    out: list[str] = []
    for i, part in enumerate(command):
        if isinstance(part, (dict, list)) or part is None:
            c.error(
                ("command", i),
                None,
                f"each command item must be a string, not {type_name(part)}",
                f"command[{i}]",
            )
            continue
        text = str(part)
        for m in _MACRO.finditer(text):
            name = m.group(1)
            if _ENVVAR.match(name):
                continue
            if name not in MACROS:
                c.error(
                    ("command", i),
                    None,
                    f"unknown macro '${{{name}}}'{did_you_mean(name, MACROS)}; known: "
                    + ", ".join(f"${{{n}}}" for n in sorted(MACROS))
                    + ", ${envvar:NAME}",
                    f"command[{i}]",
                )
            elif m.group(0) != text:
                c.error(
                    ("command", i),
                    None,
                    f"'${{{name}}}' must be a whole command item, not part of '{text}'",
                    f"command[{i}]",
                )
        out.append(text)
    return out


def _warn_values(c: _Checker, params: Any, path: tuple[str, ...]) -> None:
    """Warn about values that are probably not what the author meant.

    An item the loader already warned about (`1e-5`, `no`) is not warned
    about again, and a list whose items were warned about is not also
    reported as mixing types: one line per problem.
    """
    if not isinstance(params, dict):
        return
    already = {(f.line, f.column) for f in c.loaded.findings}
    for name, spec in params.items():
        if not isinstance(spec, dict):
            continue
        here = path + (str(name),)
        if "parameters" in spec:
            _warn_values(c, spec["parameters"], here)
        values = spec.get("values")
        if isinstance(values, MarkedList):
            warned = False
            for i, v in enumerate(values):
                mark = values.item_marks[i]
                if (mark.line, mark.column) in already:
                    warned = True
                elif isinstance(v, str) and _looks_numeric(v):
                    c.warn(
                        _param_path(here) + ("values", i),
                        None,
                        f"'{v}' is a string, not a number; the program gets text",
                    )
                    warned = True
            kinds = {type(v) for v in values if v is not None}
            if not warned and len(kinds) > 1 and not (kinds <= {int, float}):
                c.warn(
                    _param_path(here),
                    "values",
                    "mixes types (" + ", ".join(sorted(k.__name__ for k in kinds)) + ")",
                )


def _check_flat_names(c: _Checker, specs: dict) -> None:
    """`a.b` and a nested `a: {parameters: {b}}` would both be the run config key `a.b`."""
    seen: dict[str, tuple[str, ...]] = {}
    for path in flatten_specs(specs):
        name = ".".join(path)
        if name in seen:
            c.error(
                _param_path(path),
                None,
                f"two parameters make the config key '{name}' (a dotted name and a nested group); rename one",
                name,
            )
        else:
            seen[name] = path


def _looks_numeric(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def apply_overrides(raw: dict, overrides: list[str], add: bool = False) -> dict:
    """Pin parameters to one value each (`--set key=value`), on the raw sweep data.

    The value is read as YAML (`0.1` -> float, `true` -> bool). A dotted key
    reaches into nested `parameters` groups. Unknown keys are an error unless `add`.
    """
    out = copy.deepcopy(raw)
    params = out.setdefault("parameters", {})
    for item in overrides:
        if "=" not in item:
            raise UsageError(f"--set expects KEY=VALUE, got '{item}'")
        key, text = item.split("=", 1)
        key = key.strip()
        if not key:
            raise UsageError(f"--set expects KEY=VALUE, got '{item}'")
        try:
            value = yaml.safe_load(text) if text.strip() else ""
        except yaml.YAMLError:
            value = text
        target, name = _override_target(params, key)
        if target is None:
            if not add:
                known = ", ".join(sorted(params)) if isinstance(params, dict) else ""
                raise UsageError(
                    f"--set {key}: no such parameter in the sweep (known: {known}); use --add to add it"
                )
            target, name = params, key
        target[name] = {"value": value}
    return out


def _override_target(params: Any, key: str) -> tuple[dict | None, str]:
    if not isinstance(params, dict):
        return None, key
    if key in params:
        return params, key
    head, _, rest = key.partition(".")
    group = params.get(head)
    if rest and isinstance(group, dict) and isinstance(group.get("parameters"), dict):
        return _override_target(group["parameters"], rest)
    return None, key


def validate_file(
    path: str | Path, overrides: list[str] | None = None, add: bool = False
) -> ValidationResult:
    """Load and validate a sweep file; `--set` overrides are applied before validation."""
    loaded = load_yaml_file(path)
    if overrides:
        if not isinstance(loaded.data, dict):
            return validate_loaded(loaded)
        patched = apply_overrides(plain(loaded.data), overrides, add)
        relaid = load_yaml_text(_dump_with_lines(loaded, patched), str(path))
        relaid.findings = loaded.findings
        return validate_loaded(_merge_marks(loaded, relaid))
    return validate_loaded(loaded)


def _dump_with_lines(loaded: LoadedYAML, patched: dict) -> str:
    return yaml.safe_dump(patched, sort_keys=False)


def _merge_marks(original: LoadedYAML, patched: LoadedYAML) -> LoadedYAML:
    """Keep the original file's line marks where the key still exists."""

    def graft(orig: Any, new: Any) -> None:
        if isinstance(orig, MarkedDict) and isinstance(new, MarkedDict):
            new.mark = orig.mark
            for k in new:
                if k in orig:
                    new.key_marks[k] = orig.key_marks[k]
                    new.value_marks[k] = orig.value_marks[k]
                    graft(orig[k], new[k])
        elif isinstance(orig, MarkedList) and isinstance(new, MarkedList):
            new.mark = orig.mark
            for i in range(min(len(orig), len(new))):
                new.item_marks[i] = orig.item_marks[i]
                graft(orig[i], new[i])

    graft(original.data, patched.data)
    return patched


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
