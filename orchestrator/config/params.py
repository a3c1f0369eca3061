"""The `parameters:` section of a sweep file: every parameter checked, then the section as a whole.

`check_parameters` validates the mapping (recursively, for nested groups)
into ParamSpec objects and ParamProblems by key path; `check_parameter_section`
is the stage the sweep validation calls once: it reports those problems at
their file:line, refuses names that collide once flattened and continuous
parameters under grid search, and warns about values that are probably not
what the author meant. The distributions themselves are in distributions.py.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any

from orchestrator.config.bounds import finite, overflow_of
from orchestrator.config.distributions import (
    DISTRIBUTIONS,
    GRID_DISTRIBUTIONS,
    MAX_GRID_POINTS,
    POSITIVE_MIN,
    ParamSpec,
    flatten_specs,
    infer_distribution,
)
from orchestrator.config.problems import Reporter, did_you_mean, is_int, is_number, type_name
from orchestrator.config.yamlload import SCI_NUMBER, MarkedList, float_spelling

PARAM_KEYS = {
    "distribution",
    "parameters",
    "value",
    "values",
    "probabilities",
    "min",
    "max",
    "q",
    "mu",
    "sigma",
    "a",
    "b",
}
NAME_PATTERN = re.compile(r"^[A-Za-z_][A-Za-z0-9_.-]*$")


@dataclass
class ParamProblem:
    """A problem with one parameter; `path` is the key path inside the file."""

    path: tuple[str, ...]
    key: str | None
    message: str


def check_param(
    raw: object, path: tuple[str, ...]
) -> tuple[ParamSpec | dict | None, list[ParamProblem]]:
    """Validate one parameter. Returns a ParamSpec, or a dict of nested specs for
    a `parameters:` group, plus the problems found."""
    problems: list[ParamProblem] = []

    def fail(message: str, key: str | None = None) -> tuple[None, list[ParamProblem]]:
        problems.append(ParamProblem(path, key, message))
        return None, problems

    if not isinstance(raw, dict):
        return fail(
            f"a parameter must be a mapping such as {{values: [...]}} or {{value: x}}, not {type_name(raw)}"
        )
    for key in raw:
        if key not in PARAM_KEYS:
            problems.append(
                ParamProblem(path, str(key), f"unknown key{did_you_mean(key, PARAM_KEYS)}")
            )
    if problems:
        return None, problems

    if "parameters" in raw:
        others = [k for k in raw if k != "parameters"]
        if others:
            return fail(
                f"a nested 'parameters' group cannot also have {', '.join(map(str, others))}",
                others[0],
            )
        nested, nested_problems = check_parameters(raw["parameters"], path)
        return nested, nested_problems

    dist = raw.get("distribution")
    if dist is None:
        dist = infer_distribution(raw)
        if dist is None:
            keys = ", ".join(sorted(map(str, raw))) or "no keys"
            return fail(
                f"cannot tell the distribution from {keys}; give 'value', 'values', 'min' and 'max', "
                "or name a 'distribution'"
            )
    elif not isinstance(dist, str) or dist not in DISTRIBUTIONS:
        return fail(
            f"unknown distribution '{dist}'{did_you_mean(str(dist), set(DISTRIBUTIONS))}",
            "distribution",
        )
    if dist == "categorical" and "probabilities" in raw:
        # W&B's schema refuses this too: its categorical takes no probabilities,
        # and values + probabilities is the distinct categorical_w_probabilities.
        return fail(
            "not used by distribution 'categorical'; drop 'distribution: categorical' "
            "(values with probabilities is categorical_w_probabilities)",
            "probabilities",
        )

    required, optional = DISTRIBUTIONS[dist]
    allowed = set(required) | set(optional) | {"distribution"}
    for key in raw:
        if key not in allowed:
            return fail(
                f"not used by distribution '{dist}' (it takes {', '.join(sorted(allowed - {'distribution'}))})",
                key,
            )
    for key in required:
        if key not in raw:
            return fail(f"distribution '{dist}' needs '{key}'", key)

    settings: dict[str, object] = {k: raw[k] for k in required}
    for key, default in optional.items():
        settings[key] = raw.get(key, default)

    for key in ("min", "max", "q", "mu", "sigma", "a", "b"):
        if key in settings and not is_number(settings[key]):
            value = settings[key]
            return fail(
                f"must be a number, not {type_name(value)} {value!r}{_string_number_hint(value)}",
                key,
            )
        if (
            key in settings
            and isinstance(settings[key], float)
            and not math.isfinite(settings[key])
        ):
            return fail("must be a finite number", key)

    if dist == "int_uniform":
        for key in ("min", "max"):
            if not is_int(settings[key]):
                return fail(f"int_uniform needs an integer, not {settings[key]!r}", key)
    # W&B refuses min == max as well ("min is not less than max").
    if "min" in settings and settings["min"] >= settings["max"]:  # type: ignore[operator]
        return fail(f"min ({settings['min']}) is not less than max ({settings['max']})", "min")
    if dist in POSITIVE_MIN and settings["min"] <= 0:  # type: ignore[operator]
        return fail(
            f"{dist} takes the values themselves, so min must be > 0 (got {settings['min']})", "min"
        )
    if "q" in settings and settings["q"] <= 0:  # type: ignore[operator]
        return fail("q must be > 0", "q")
    if "sigma" in settings and settings["sigma"] < 0:  # type: ignore[operator]
        return fail("sigma must be >= 0", "sigma")
    for key in ("a", "b"):
        if key in settings and settings[key] <= 0:  # type: ignore[operator]
            return fail(f"{key} must be > 0", key)

    overflow = overflow_of(dist, settings)
    if overflow is not None:
        return fail(*overflow)

    if "values" in settings:
        values = settings["values"]
        if not isinstance(values, list):
            return fail(f"must be a list, not {type_name(values)}", "values")
        if not values:
            return fail("must not be empty", "values")
        settings["values"] = list(values)
    if "probabilities" in settings:
        probs = settings["probabilities"]
        if not isinstance(probs, list) or not all(is_number(p) for p in probs):
            return fail("must be a list of numbers", "probabilities")
        if len(probs) != len(settings["values"]):  # type: ignore[arg-type]
            return fail(
                f"has {len(probs)} entries but values has {len(settings['values'])}",  # type: ignore[arg-type]
                "probabilities",
            )
        if not all(finite(p) for p in probs):
            return fail("must be finite numbers (no .nan or .inf)", "probabilities")
        if any(p < 0 for p in probs):
            return fail("must not be negative", "probabilities")
        # the tolerance of numpy.isclose(sum, 1.0), which W&B's engine uses
        if abs(sum(probs) - 1.0) > 1e-8 + 1e-5:
            return fail(f"must sum to 1 (they sum to {sum(probs):g})", "probabilities")
        settings["probabilities"] = [float(p) for p in probs]
    return ParamSpec(dist, settings), problems


def check_parameters(raw: object, path: tuple[str, ...] = ()) -> tuple[dict, list[ParamProblem]]:
    """Validate a `parameters:` mapping (recursively)."""
    problems: list[ParamProblem] = []
    if not isinstance(raw, dict):
        problems.append(
            ParamProblem(
                path, "parameters", f"must be a mapping of parameter names, not {type_name(raw)}"
            )
        )
        return {}, problems
    if not raw:
        problems.append(ParamProblem(path, "parameters", "must name at least one parameter"))
        return {}, problems
    specs: dict = {}
    for name, spec in raw.items():
        if not isinstance(name, str) or not NAME_PATTERN.match(name):
            problems.append(
                ParamProblem(
                    path + (str(name),),
                    None,
                    "a parameter name must start with a letter or _ and hold only letters, digits, _ . -",
                )
            )
            continue
        result, found = check_param(spec, path + (name,))
        problems.extend(found)
        if result is not None:
            specs[name] = result
    return specs, problems


def _string_number_hint(value: object) -> str:
    """Why a number may have ended up as a string, when it looks like one."""
    if not isinstance(value, str):
        return ""
    if SCI_NUMBER.match(value) and float_spelling(value) != value:
        return f" (YAML 1.1 reads this spelling as a string; write {float_spelling(value)})"
    try:
        float(value)
    except ValueError:
        return ""
    return " (it is quoted; remove the quotes)"


def param_path(path: tuple[str, ...]) -> tuple[str, ...]:
    """('a', 'b') -> ('parameters', 'a', 'parameters', 'b') as written in the file."""
    out: list[str] = []
    for part in path:
        out += ["parameters", part]
    return tuple(out)


def check_parameter_section(report: Reporter, raw: Any, method: Any) -> dict:
    """The `parameters:` value of a sweep file -> nested specs; problems go to `report`."""
    specs, problems = check_parameters(raw)
    for p in problems:
        if p.key == "parameters" and not p.path:
            report.error((), "parameters", p.message)
        else:
            report.error(
                param_path(p.path),
                p.key,
                p.message,
                ".".join([*p.path, p.key] if p.key else p.path),
            )
    if not problems:
        _check_flat_names(report, specs)
    if method == "grid" and not problems:
        flat = flatten_specs(specs)
        for path, spec in flat.items():
            if spec.distribution not in GRID_DISTRIBUTIONS:
                report.error(
                    param_path(path),
                    None,
                    f"grid search cannot enumerate a {spec.distribution} parameter; use values, "
                    "int_uniform or q_uniform, or method: random/bayes",
                    ".".join(path),
                )
        if not report.errors:
            _check_grid_size(report, flat)
    _warn_values(report, raw, ())
    return specs


def _check_grid_size(report: Reporter, flat: dict[tuple[str, ...], ParamSpec]) -> None:
    """A grid larger than MAX_GRID_POINTS is refused whatever run_cap says: its size is the
    product of each axis's computed size, so a 10^12-point grid costs nothing to refuse."""
    total: float = 1
    for path, spec in flat.items():
        size = spec.grid_size()
        total *= size
        if size > MAX_GRID_POINTS or total > MAX_GRID_POINTS:
            where = param_path(path) if size > MAX_GRID_POINTS else ()
            shown = (
                f"{size:,}"
                if size < 10**15
                else (f"about {float(size):.3g}" if size != math.inf else "uncountably many")
            )
            report.error(
                where,
                None if where else "parameters",
                (
                    f"this parameter alone gives the grid {shown} values"
                    if where
                    else f"the grid has more than {MAX_GRID_POINTS:,} points"
                )
                + f"; a grid may have at most {MAX_GRID_POINTS:,} points (run_cap does not change "
                "that); use fewer values, a larger q, or method: random/bayes",
                ".".join(path) if where else "parameters",
            )
            return


def _warn_values(report: Reporter, params: Any, path: tuple[str, ...]) -> None:
    """Warn about values that are probably not what the author meant.

    An item the loader already warned about (`1e-5`, `no`) is not warned
    about again, and a list whose items were warned about is not also
    reported as mixing types: one line per problem.
    """
    if not isinstance(params, dict):
        return
    already = {(f.line, f.column) for f in report.loaded.findings}
    for name, spec in params.items():
        if not isinstance(spec, dict):
            continue
        here = path + (str(name),)
        if "parameters" in spec:
            _warn_values(report, spec["parameters"], here)
        values = spec.get("values")
        if isinstance(values, MarkedList):
            warned = False
            for i, v in enumerate(values):
                mark = values.item_marks[i]
                if (mark.line, mark.column) in already:
                    warned = True
                elif isinstance(v, str) and _looks_numeric(v):
                    report.warn(
                        param_path(here) + ("values", i),
                        None,
                        f"'{v}' is a string, not a number; the program gets text",
                    )
                    warned = True
            kinds = {type(v) for v in values if v is not None}
            if not warned and len(kinds) > 1 and not (kinds <= {int, float}):
                report.warn(
                    param_path(here),
                    "values",
                    "mixes types (" + ", ".join(sorted(k.__name__ for k in kinds)) + ")",
                )


def _check_flat_names(report: Reporter, specs: dict) -> None:
    """`a.b` and a nested `a: {parameters: {b}}` would both be the run config key `a.b`."""
    seen: dict[str, tuple[str, ...]] = {}
    for path in flatten_specs(specs):
        name = ".".join(path)
        if name in seen:
            report.error(
                param_path(path),
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
