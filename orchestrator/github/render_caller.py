"""The short caller a team commits instead of the whole workflow (`actions.reusable` in
sweepci.yaml): its triggers, inputs and concurrency as the whole workflow has them, and one
job that `uses:` sweepci's reusable workflow (render_reusable.py) pinned by commit SHA."""

from __future__ import annotations

import json
from pathlib import Path

from orchestrator.config.actions import RunsOn
from orchestrator.config.project import ProjectConfig
from orchestrator.templating.jinja import render

REUSABLE_PATH = Path(".github") / "workflows" / "sweepci.yml"
CALLER_TEMPLATE = "workflows/caller.yml.j2"


def render_caller(project: ProjectConfig, context: dict) -> str:
    """The caller workflow: triggers and inputs as the whole workflow has them, one job
    that `uses:` the reusable workflow pinned by SHA and hands it sweepci.yaml's settings."""
    actions = project.actions
    assert actions.reusable is not None
    repo, sha = actions.reusable.split("@")
    setup = "\n".join(step.run or "" for step in actions.agents.setup)
    with_ = {
        "python-version": str(project.python),
        "install": json.dumps(context["install_args"]),
        "runs-on": json.dumps(_runs_on_json(actions.runs_on)),
        "agent-runs-on": json.dumps(_runs_on_json(actions.agents.runs_on)),
        "timeout-minutes": actions.timeout_minutes,
        "agent-timeout-minutes": actions.agents.timeout_minutes,
        "promote": context["promote"],
    }
    if actions.wandb_key != "environment":
        with_["wandb-key"] = actions.wandb_key
    if actions.agents.gpus:
        with_.update({"gpus": actions.agents.gpus, "gpus-per-run": actions.agents.gpus_per_run})
    if setup.strip():
        with_["setup"] = setup
    return render(
        CALLER_TEMPLATE,
        **context,
        uses=f"{repo}/{REUSABLE_PATH.as_posix()}@{sha}",
        with_={k: _yaml_value(v) for k, v in with_.items()},
    )


def _runs_on_json(value: RunsOn) -> object:
    if value.group is not None:
        return {"group": value.group, **({"labels": value.labels} if value.labels else {})}
    return value.labels[0] if len(value.labels) == 1 else value.labels


def _yaml_value(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    text = str(value)
    if "'" not in text and text.isprintable():
        return f"'{text}'"  # JSON reads best in YAML's single quotes (nothing is escaped)
    return json.dumps(text)
