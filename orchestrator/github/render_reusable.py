"""The reusable sweep workflow of this repository, and the short caller a team commits.

`.github/workflows/sweepci.yml` here is the whole sweep workflow behind
`on: workflow_call`: its runners, time limits, GPUs, setup commands, Python and
install spec are inputs, its results (env, sweep id, best run) are outputs. A team's
repository then keeps only a caller (`actions.reusable: OWNER/NAME@<sha>` in
sweepci.yaml, `sweepci init --reusable OWNER/NAME@<sha>`), rendered and drift-checked
like the whole workflow; an upgrade is a new SHA in one line.
"""

from __future__ import annotations

import json
from pathlib import Path

from orchestrator import __version__
from orchestrator.config.actions import DEFAULT_AGENT_TIMEOUT, DEFAULT_LIGHT_TIMEOUT
from orchestrator.config.project import ProjectConfig
from orchestrator.github.render_actions import runs_on
from orchestrator.templating.jinja import render

REUSABLE_FILE = "sweepci.yml"
REUSABLE_PATH = Path(".github") / "workflows" / REUSABLE_FILE
CALLER_TEMPLATE = "workflows/caller.yml.j2"


def render_reusable_workflow() -> str:
    """The text of `.github/workflows/sweepci.yml` (`on: workflow_call`)."""
    from orchestrator.github.render import WORKFLOW_TEMPLATE, WorkflowOptions, workflow_context

    context = workflow_context(
        ProjectConfig(), WorkflowOptions(install=[f"sweepci[wandb]=={__version__}"], cache_paths=[])
    )
    context.update(
        reusable=True,
        light_runs_on="${{ fromJSON(inputs.runs-on) }}",
        light_timeout="${{ inputs.timeout-minutes }}",
        agent_runs_on="${{ fromJSON(inputs.agent-runs-on) }}",
        agent_timeout="${{ inputs.agent-timeout-minutes }}",
        agent_env="",
        agent_setup="",
        python_value="${{ inputs.python-version }}",
        default_install=json.dumps([f"sweepci[wandb]=={__version__}"]),
        light_default_timeout=DEFAULT_LIGHT_TIMEOUT,
        agent_default_timeout=DEFAULT_AGENT_TIMEOUT,
        # the caller's files are not known here: no shared pip cache keyed on them
        pip_cache=False,
        promote=True,
        inp=lambda name: f"${{{{ inputs.{name} }}}}",
    )
    return render(WORKFLOW_TEMPLATE, **context)


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


def _runs_on_json(value) -> object:
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


__all__ = ["REUSABLE_PATH", "render_caller", "render_reusable_workflow", "runs_on"]
