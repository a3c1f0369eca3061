"""`--set KEY=VALUE`: parameters pinned on the marked YAML, before any check runs.

The overrides are applied to the loaded data and the result is laid out as
YAML again, keeping the original file's line marks wherever a key survives,
so the validation that follows still names the line the user wrote.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import yaml

from orchestrator.config.problems import plain
from orchestrator.config.yamlload import (
    LoadedYAML,
    MarkedDict,
    MarkedList,
    load_yaml_file,
    load_yaml_text,
)
from orchestrator.errors import UsageError


def load_with_overrides(
    path: str | Path, overrides: list[str] | None = None, add: bool = False
) -> LoadedYAML:
    """Load a YAML file with marks, then pin the parameters `overrides` names."""
    loaded = load_yaml_file(path)
    if not overrides or not isinstance(loaded.data, dict):
        return loaded
    patched = apply_overrides(plain(loaded.data), overrides, add)
    relaid = load_yaml_text(yaml.safe_dump(patched, sort_keys=False), str(path))
    relaid.findings = loaded.findings
    return _merge_marks(loaded, relaid)


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
