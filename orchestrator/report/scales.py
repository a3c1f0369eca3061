"""What the sweep file says about its parameters, for tables and chart axes.

`swept_parameters` names every parameter the sweep searches (not a constant
`value:`), so the leaderboard keeps a column for each even when the top runs
share a value. `log_parameters` names those drawn from a log-scale
distribution, whose chart axes are logarithmic. Nested parameters use dotted
names, as the report's flattened configs do. The config is the sweep file as
stored (untrusted shape): anything unexpected is skipped.
"""

from __future__ import annotations

from typing import Any

LOG_DISTRIBUTIONS = frozenset(
    {
        "log_uniform", "log_uniform_values", "q_log_uniform", "q_log_uniform_values",
        "inv_log_uniform", "inv_log_uniform_values", "log_normal", "q_log_normal",
    }
)  # fmt: skip
MAX_DEPTH = 8


def _specs(parameters: Any, prefix: str = "", depth: int = 0) -> dict[str, dict[str, Any]]:
    if not isinstance(parameters, dict) or depth > MAX_DEPTH:
        return {}
    found: dict[str, dict[str, Any]] = {}
    for name, spec in parameters.items():
        if not isinstance(spec, dict):
            continue
        key = f"{prefix}{name}"
        if isinstance(spec.get("parameters"), dict):
            found.update(_specs(spec["parameters"], key + ".", depth + 1))
        else:
            found[key] = spec
    return found


def _is_swept(spec: dict[str, Any]) -> bool:
    if spec.get("distribution") == "constant" or ("value" in spec and "values" not in spec):
        return False
    values = spec.get("values")
    if isinstance(values, list) and len(values) < 2:
        return False
    return any(k in spec for k in ("values", "min", "max", "distribution", "mu", "sigma"))


def swept_parameters(config: dict[str, Any]) -> list[str]:
    """Dotted names of the parameters the sweep searches, in the file's order."""
    return [k for k, spec in _specs(config.get("parameters")).items() if _is_swept(spec)]


def log_parameters(config: dict[str, Any]) -> set[str]:
    """Dotted names of the parameters drawn from a log-scale distribution."""
    return {
        k
        for k, spec in _specs(config.get("parameters")).items()
        if spec.get("distribution") in LOG_DISTRIBUTIONS
    }
