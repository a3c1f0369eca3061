"""Sweep parameters: W&B's 18 distributions, their defaults and inference rules.

The rules follow W&B's published sweep schema: a parameter with `value` is a
constant, with `values` categorical (`probabilities` optional), with integer
`min`/`max` int_uniform, with other numeric `min`/`max` uniform; every other
distribution must be named. `log_uniform`, `q_log_uniform` and
`inv_log_uniform` take natural-log bounds; the `_values` variants take the
values themselves. `q` defaults to 1.0, `mu`/`sigma` to 0/1, `a`/`b` to 1/1.
"""

from __future__ import annotations

import difflib
import math
import re
from dataclasses import dataclass, field

from orchestrator.config.yamlload import SCI_NUMBER, float_spelling

# distribution -> (required keys, {optional key: default})
DISTRIBUTIONS: dict[str, tuple[tuple[str, ...], dict[str, object]]] = {
    "constant": (("value",), {}),
    "categorical": (("values",), {}),
    "categorical_w_probabilities": (("values", "probabilities"), {}),
    "int_uniform": (("min", "max"), {}),
    "uniform": (("min", "max"), {}),
    "q_uniform": (("min", "max"), {"q": 1.0}),
    "log_uniform": (("min", "max"), {}),
    "log_uniform_values": (("min", "max"), {}),
    "q_log_uniform": (("min", "max"), {"q": 1.0}),
    "q_log_uniform_values": (("min", "max"), {"q": 1.0}),
    "inv_log_uniform": (("min", "max"), {}),
    "inv_log_uniform_values": (("min", "max"), {}),
    "normal": ((), {"mu": 0.0, "sigma": 1.0}),
    "q_normal": ((), {"mu": 0.0, "sigma": 1.0, "q": 1.0}),
    "log_normal": ((), {"mu": 0.0, "sigma": 1.0}),
    "q_log_normal": ((), {"mu": 0.0, "sigma": 1.0, "q": 1.0}),
    "beta": ((), {"a": 1.0, "b": 1.0}),
    "q_beta": ((), {"a": 1.0, "b": 1.0, "q": 1.0}),
}

#: distributions a grid can enumerate (int_uniform and q_uniform are discretised).
GRID_DISTRIBUTIONS = {"constant", "categorical", "int_uniform", "q_uniform"}
#: distributions whose `min`/`max` are the values themselves and must be > 0.
POSITIVE_MIN = {"log_uniform_values", "q_log_uniform_values", "inv_log_uniform_values"}

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


@dataclass
class ParamSpec:
    """One validated parameter with its distribution inferred and defaults filled."""

    distribution: str
    settings: dict[str, object] = field(default_factory=dict)

    def to_dict(self) -> dict[str, object]:
        return {"distribution": self.distribution, **self.settings}


def is_number(value: object) -> bool:
    """A YAML number: int or float, but not a boolean."""
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def closest(word: str, choices: set[str] | list[str]) -> str | None:
    """The choice most like `word`, if any is close enough to be a likely typo."""
    match = difflib.get_close_matches(str(word), sorted(choices), n=1, cutoff=0.6)
    return match[0] if match else None


def did_you_mean(word: str, choices: set[str] | list[str]) -> str:
    match = closest(word, choices)
    return f" (did you mean '{match}'?)" if match else ""


def infer_distribution(raw: dict) -> str | None:
    """The distribution W&B infers for a parameter written without one."""
    keys = set(raw)
    if "value" in keys:
        return "constant"
    if "values" in keys:
        return "categorical_w_probabilities" if "probabilities" in keys else "categorical"
    if {"min", "max"} <= keys:
        if is_int(raw["min"]) and is_int(raw["max"]):
            return "int_uniform"
        return "uniform"
    return None


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


def type_name(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int):
        return "an integer"
    if isinstance(value, float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    return type(value).__name__


def flatten_specs(specs: dict, prefix: tuple[str, ...] = ()) -> dict[tuple[str, ...], ParamSpec]:
    """Nested specs -> {path: ParamSpec}, in W&B's sorted order."""
    flat: dict[tuple[str, ...], ParamSpec] = {}
    for name in sorted(specs):
        value = specs[name]
        if isinstance(value, ParamSpec):
            flat[prefix + (name,)] = value
        else:
            flat.update(flatten_specs(value, prefix + (name,)))
    return flat
