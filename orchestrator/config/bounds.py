"""Numbers a parameter may hold: sampling must stay inside the floats.

A span of -1e308..1e308 is inf, e^1000 overflows, a value divided by a tiny q
overflows, an integer bound of 400 digits has no float: each would sample
inf or nan (or raise) at run time, so validation refuses it with the key.
"""

from __future__ import annotations

import math


def finite(value: object) -> bool:
    try:
        return math.isfinite(float(value))  # type: ignore[arg-type]
    except (OverflowError, TypeError, ValueError):
        return False  # an int too large for a float


_LOG_BOUNDS = {"log_uniform", "q_log_uniform", "inv_log_uniform"}
_LARGEST_EXP = 709.0  # math.exp overflows just above 709.78


def overflow_of(dist: str, s: dict) -> tuple[str, str] | None:
    """(message, key) when sampling would leave the floats: a span, an exponent or a
    quantisation step that overflows (e.g. min -1e308, max 1e308 spans inf)."""
    for key in ("min", "max", "mu", "sigma", "q"):
        if key in s and not finite(s[key]):
            shown = repr(s[key]) if len(repr(s[key])) <= 24 else repr(s[key])[:20] + "..."
            return f"{shown} is too large to sample from", key
    if "min" in s and not finite(float(s["max"]) - float(s["min"])):  # type: ignore[arg-type]
        return "max - min overflows a float, so samples would be inf/nan; narrow the range", "max"
    if dist in _LOG_BOUNDS:
        for key in ("min", "max"):
            if abs(float(s[key])) > _LARGEST_EXP:  # type: ignore[arg-type]
                return (
                    f"{dist} takes natural-log bounds, and e^{s[key]} overflows a float "
                    f"(|{key}| must be at most {_LARGEST_EXP:g}); did you mean {dist}_values?",
                    key,
                )
    if "sigma" in s and not finite(abs(float(s["mu"])) + 10 * float(s["sigma"])):  # type: ignore[arg-type]
        return "mu and sigma put samples beyond the floats", "sigma"
    if (
        dist in ("log_normal", "q_log_normal")
        and float(s["mu"]) + 10 * float(s["sigma"]) > _LARGEST_EXP
    ):  # type: ignore[arg-type]
        return "e^(mu + a few sigma) overflows a float; lower mu or sigma", "sigma"
    if "q" in s and "max" in s:
        reach = max(abs(float(s["min"])), abs(float(s["max"])))  # type: ignore[arg-type]
        if not finite(reach / float(s["q"])):  # type: ignore[arg-type]
            return "the values divided by q overflow a float; use a larger q", "q"
    return None
