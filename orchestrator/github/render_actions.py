"""YAML fragments of the workflow from sweepci.yaml's `actions:` settings (render.py puts
them in the template): runs-on, env blocks, setup steps, and the concurrency rule that
lets a newer push cancel a dev sweep but never a prod one.

Every string here was validated by `config/actions.py` (no expression, no control
character); each is still written as a JSON string, which YAML reads back verbatim.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence

from orchestrator.config.actions import RunsOn, SetupStep
from orchestrator.config.project import ProjectConfig

#: routing patterns the concurrency expression can state exactly
_EXACT = re.compile(r"[A-Za-z0-9._/-]+")
_PREFIX = re.compile(r"([A-Za-z0-9._/-]+)\*+")


def q(text: str) -> str:
    return json.dumps(text)


_PLAIN = re.compile(r"[A-Za-z][A-Za-z0-9_.-]*")
_YAML_WORDS = {"true", "false", "yes", "no", "on", "off", "null", "y", "n"}


def label(text: str) -> str:
    """A runner label as a plain YAML scalar when that reads back the same, else quoted."""
    if _PLAIN.fullmatch(text) and text.lower() not in _YAML_WORDS:
        return text
    return q(text)


def runs_on(value: RunsOn) -> str:
    """`ubuntu-latest`, `[self-hosted, gpu]`, or `{group: g, labels: [...]}` (flow YAML)."""
    if value.group is not None:
        body = f"group: {label(value.group)}"
        if value.labels:
            body += ", labels: [" + ", ".join(map(label, value.labels)) + "]"
        return "{" + body + "}"
    if len(value.labels) == 1:
        return label(value.labels[0])
    return "[" + ", ".join(map(label, value.labels)) + "]"


def env_block(env: dict[str, str], indent: int) -> str:
    """`env:` with one `NAME: "value"` line each ("" when empty)."""
    if not env:
        return ""
    pad = " " * indent
    lines = [f"{pad}env:"] + [f"{pad}  {name}: {q(value)}" for name, value in env.items()]
    return "\n".join(lines) + "\n"


def steps_block(steps: Sequence[SetupStep], indent: int) -> str:
    """The project's setup steps as workflow steps ("" when none)."""
    pad = " " * indent
    out = []
    for step in steps:
        first = True

        def line(text: str) -> None:
            nonlocal first
            out.append(pad + ("- " if first else "  ") + text)
            first = False

        if step.name:
            line(f"name: {q(step.name)}")
        if step.uses:
            line(f"uses: {q(step.uses)}")
        if step.with_:
            line("with:")
            out.extend(f"{pad}    {k}: {q(v)}" for k, v in step.with_.items())
        if step.env:
            line("env:")
            out.extend(f"{pad}    {k}: {q(v)}" for k, v in step.env.items())
        if step.run:
            line(f"run: {q(step.run)}")
    return "\n".join(out) + ("\n" if out else "")


def cancel_in_progress(project: ProjectConfig, prod: str = "prod") -> str:
    """The workflow's `cancel-in-progress`: true only where the branch cannot route to an
    environment other than dev, so a newer push never cancels a prod (or staging) sweep
    halfway. Patterns an expression cannot state exactly give `false` (never cancel)."""
    conditions = []
    for rule in project.environments:
        if rule.name == "dev":
            continue
        for pattern in rule.branches:
            exact, prefix = _EXACT.fullmatch(pattern), _PREFIX.fullmatch(pattern)
            if exact:
                conditions.append(f"github.ref_name != '{pattern}'")
            elif prefix:
                conditions.append(f"!startsWith(github.ref_name, '{prefix.group(1)}')")
            else:
                return "false"
    if "dev" not in project.environment_names():
        return "false"
    # a tag push or a manual run on any branch: only branch pushes are ever cancelled
    conditions.insert(0, "github.event_name == 'push'")
    return "${{ " + " && ".join(conditions) + " }}"
