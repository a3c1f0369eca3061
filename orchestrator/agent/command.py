"""Building the child's command line and environment exactly as a real `wandb agent` does."""

from __future__ import annotations

import json
import os
import re
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from orchestrator.agent.wandb_hook import WANDB_LOG_FILE_ENV

_ENVVAR = re.compile(r"\$\{envvar:([A-Z0-9_]*)\}")

#: environment variables never passed to a local-backend child: secrets must not
#: reach a program that may print its environment into logs we keep.
SECRET_VARIABLES = (
    "WANDB_API_KEY",
    "GITHUB_TOKEN",
    "GH_TOKEN",
    "ACTIONS_RUNTIME_TOKEN",
    "ACTIONS_ID_TOKEN_REQUEST_TOKEN",
    "ACTIONS_ID_TOKEN_REQUEST_URL",
)


def command_args(params: Mapping[str, Any]) -> dict[str, list[str]]:
    """The argument forms W&B's agent offers as macros, from the run's top-level params."""
    flags, no_hyphens, no_booleans, no_equals, hydra_add, hydra_override = [], [], [], [], [], []
    for name, value in params.items():
        flag = f"{name}={_text(value)}"
        flags.append("--" + flag)
        no_hyphens.append(flag)
        no_equals += ["--" + name, _text(value)]
        hydra_add.append("+" + flag)
        hydra_override.append("++" + flag)
        if isinstance(value, bool):
            if value:
                no_booleans.append("--" + name)
        else:
            no_booleans.append("--" + flag)
    return {
        "args": flags,
        "args_no_hyphens": no_hyphens,
        "args_no_boolean_flags": no_booleans,
        "args_no_equals": no_equals,
        "args_append_hydra": hydra_add,
        "args_override_hydra": hydra_override,
        "args_json": [json.dumps(dict(params))],
    }


def _text(value: Any) -> str:
    # W&B formats with Python's str(): True -> "True", [1, 2] -> "[1, 2]"
    return str(value)


def interpreter() -> str:
    """W&B's ${interpreter} is `python` from PATH; sweepci uses the interpreter it runs
    under (the same thing in an activated venv), overridable with SWEEPCI_INTERPRETER."""
    return os.environ.get("SWEEPCI_INTERPRETER") or sys.executable or "python"


def build_argv(
    command: Sequence[str],
    program: str | None,
    params: Mapping[str, Any],
    args_json_file: Path,
    env: Mapping[str, str],
) -> list[str]:
    """Expand W&B's command macros. A whole `${name}` item becomes a list of items;
    `${envvar:NAME}` inside an item is replaced by that variable (or NAME if unset)."""
    macros = command_args(params)
    macros["env"] = ["/usr/bin/env"] if os.name != "nt" else []
    macros["interpreter"] = [interpreter()]
    macros["program"] = [program] if program else []
    macros["args_json_file"] = [str(args_json_file)]
    argv: list[str] = []
    for item in command:
        text = str(item)
        if text.startswith("${") and text.endswith("}") and text[2:-1] in macros:
            argv += macros[text[2:-1]]
            continue
        text = _ENVVAR.sub(lambda m: env.get(m.group(1), m.group(1)), text)
        argv.append(text)
    return argv


def write_param_file(
    path: Path, params: Mapping[str, Any], extra: Mapping[str, Any] | None = None
) -> None:
    """The YAML file WANDB_SWEEP_PARAM_PATH names: `wandb_version: 1` and `name: {value: ...}`."""
    items = list(params.items()) + list((extra or {}).items())
    # JSON flow mappings are valid YAML and an order of magnitude faster to write
    # than yaml.safe_dump, which matters for sweeps of short runs
    lines = ["wandb_version: 1", ""]
    for name, value in items:
        lines.append(
            f"{json.dumps(str(name))}: {json.dumps({'value': value}, ensure_ascii=False, default=str)}"
        )
    text = "\n".join(lines) + "\n"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def child_environment(
    base: Mapping[str, str],
    *,
    sweep_id: str,
    run_id: str,
    project: str,
    entity: str | None,
    tags: Sequence[str],
    group: str,
    param_path: Path,
    wandb_dir: Path,
    metrics_file: Path,
    wandb_log_file: Path | None = None,
    notes: str | None = None,
    offline: bool = True,
    strip_secrets: bool = True,
) -> dict[str, str]:
    """The environment a real `wandb agent` gives its child, plus sweepci's live channel."""
    env = dict(base)
    if strip_secrets:
        for name in SECRET_VARIABLES:
            env.pop(name, None)
    env.update(
        WANDB_SWEEP_ID=sweep_id,
        WANDB_RUN_ID=run_id,
        WANDB_PROJECT=project,
        WANDB_RUN_GROUP=group,
        WANDB_SWEEP_PARAM_PATH=str(param_path),
        WANDB_DIR=str(wandb_dir),
        # staged artifact files stay with the run (for capture and a later `wandb sync`)
        # instead of piling up in ~/.local/share/wandb
        WANDB_DATA_DIR=str(wandb_dir / "data"),
        SWEEPCI_METRICS_FILE=str(metrics_file),
        SWEEPCI_RUN_ID=run_id,
        PYTHONUNBUFFERED="1",
    )
    # the start-up hook (agent/wandb_hook.py) copies wandb.log's values there, live
    if wandb_log_file is not None:
        env[WANDB_LOG_FILE_ENV] = str(wandb_log_file)
    else:
        env.pop(WANDB_LOG_FILE_ENV, None)
    if entity:
        env["WANDB_ENTITY"] = entity
    else:
        env.pop("WANDB_ENTITY", None)
    # an empty WANDB_TAGS makes wandb.init fail, so leave it out when there are none
    if tags:
        env["WANDB_TAGS"] = ",".join(tags)
    else:
        env.pop("WANDB_TAGS", None)
    # the CI context: in the run's notes, never in its config (agent/notes.py)
    if notes:
        env["WANDB_NOTES"] = notes
    else:
        env.pop("WANDB_NOTES", None)
    if offline:
        env["WANDB_MODE"] = "offline"
        env.setdefault("WANDB_SILENT", "true")
    return env


def redact(text: str, secrets: Sequence[str]) -> str:
    """Replace each secret value (8+ chars) in text with ***."""
    for value in secrets:
        if value and len(value) >= 8:
            text = text.replace(value, "***")
    return text


def secret_values(env: Mapping[str, str] | None = None) -> list[str]:
    source = os.environ if env is None else env
    return [source[name] for name in SECRET_VARIABLES if source.get(name)]
