"""The `command:` of a sweep file: a list of strings with W&B's macros, each a whole item."""

from __future__ import annotations

import re

from orchestrator.config.problems import Reporter, did_you_mean, type_name

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


def check_command(report: Reporter, data: dict) -> list[str]:
    """The sweep's command (W&B's default when absent); problems go to `report`."""
    if "command" not in data:
        return list(DEFAULT_COMMAND)
    command = data["command"]
    if not isinstance(command, list) or not command:
        report.error((), "command", "must be a non-empty list of strings")
        return list(DEFAULT_COMMAND)
    out: list[str] = []
    for i, part in enumerate(command):
        if isinstance(part, (dict, list)) or part is None:
            report.error(
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
                report.error(
                    ("command", i),
                    None,
                    f"unknown macro '${{{name}}}'{did_you_mean(name, MACROS)}; known: "
                    + ", ".join(f"${{{n}}}" for n in sorted(MACROS))
                    + ", ${envvar:NAME}",
                    f"command[{i}]",
                )
            elif m.group(0) != text:
                report.error(
                    ("command", i),
                    None,
                    f"'${{{name}}}' must be a whole command item, not part of '{text}'",
                    f"command[{i}]",
                )
        out.append(text)
    return out
