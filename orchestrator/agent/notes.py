"""The CI context of a run, carried in its W&B notes instead of its config.

`wandb agent` gives a run's `wandb.config` the sweep's parameters and nothing
else, and scripts rely on it (`Model(**wandb.config)`). So sweepci keeps its
CI context (branch, commit, event, run URL, ...) out of the config: it goes to
the run's tags, the store, and the run's notes (`WANDB_NOTES`, which
`wandb.init` reads on both backends and W&B shows on the run page). The notes
are a readable line followed by one marked JSON line that sweepci reads back.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

#: the line of the notes that holds the context as JSON
MARKER = "sweepci-ci: "
#: W&B shows notes as Markdown; a context is a few hundred bytes, anything far larger is not ours
MAX_NOTES = 64 * 1024


def run_notes(ci: Mapping[str, Any]) -> str:
    """Notes for a run: `sweepci: push of main at <sha> (prod) <url>`, then the marked JSON."""
    parts = ["sweepci:"]
    if ci.get("event"):
        parts.append(f"{ci['event']}")
    if ci.get("branch"):
        parts.append(f"of {ci['branch']}")
    if ci.get("sha"):
        parts.append(f"at {ci['sha']}")
    if ci.get("env"):
        parts.append(f"({ci['env']})")
    if ci.get("run_url"):
        parts.append(str(ci["run_url"]))
    body = json.dumps(dict(ci), sort_keys=True, default=str, separators=(",", ":"))
    # one line each: no newline of a value can start a second marker line
    return " ".join(" ".join(parts).split()) + "\n\n" + MARKER + body


def ci_from_notes(notes: object) -> dict[str, Any] | None:
    """The context `run_notes` wrote, or None when the notes hold none (or hold junk)."""
    if not isinstance(notes, str) or len(notes) > MAX_NOTES:
        return None
    for line in notes.splitlines():
        if line.startswith(MARKER):
            try:
                value = json.loads(line[len(MARKER) :])
            except ValueError:
                return None
            return value if isinstance(value, dict) else None
    return None


def ci_of_run(config: Mapping[str, Any], notes: object) -> dict[str, Any]:
    """A W&B run's CI context: from its notes, else (runs sweepci made before) config `ci`."""
    found = ci_from_notes(notes)
    if found is not None:
        return found
    legacy = config.get("ci")
    return dict(legacy) if isinstance(legacy, dict) and "sha" in legacy else {}


def parameters_of_run(config: Mapping[str, Any], notes: object) -> dict[str, Any]:
    """A W&B run's config without the `ci` context older sweepci versions put there."""
    if ci_from_notes(notes) is None and isinstance(config.get("ci"), dict):
        if "sha" in config["ci"]:
            return {k: v for k, v in config.items() if k != "ci"}
    return dict(config)
