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

from orchestrator import __version__
from orchestrator.config.actions import DEFAULT_AGENT_TIMEOUT, DEFAULT_LIGHT_TIMEOUT
from orchestrator.config.project import ProjectConfig
from orchestrator.github.render_caller import REUSABLE_PATH
from orchestrator.templating.jinja import render


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
        key_env="inputs.wandb-key != 'repository' && ",
        inp=lambda name: f"${{{{ inputs.{name} }}}}",
    )
    return render(WORKFLOW_TEMPLATE, **context)


__all__ = ["REUSABLE_PATH", "render_reusable_workflow"]
