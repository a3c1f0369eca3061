"""The ChatOps workflow (`.github/workflows/sweep-chatops.yml`) rendered from sweepci.yaml.

A `/sweep` comment on a pull request runs it (`issue_comment`); it starts the
sweep workflow on the pull request's branch with `sweepci chatops`. Rendered
and drift-checked beside the sweep workflow (`sweepci workflow render|check`).
"""

from __future__ import annotations

import shlex
from pathlib import Path

from orchestrator import __version__
from orchestrator.config.project import ProjectConfig
from orchestrator.github.pins import PINS
from orchestrator.github.render import WORKFLOW_DIR, WorkflowOptions, _quoted
from orchestrator.github.render_actions import runs_on
from orchestrator.promotion.base import PROD
from orchestrator.templating.jinja import render

CHATOPS_TEMPLATE = "workflows/chatops.yml.j2"
CHATOPS_FILE = "sweep-chatops.yml"


def render_chatops_workflow(project: ProjectConfig, options: WorkflowOptions) -> str:
    """The text of the ChatOps workflow for this project."""
    return render(
        CHATOPS_TEMPLATE,
        version=__version__,
        pins=PINS,
        q=_quoted,
        workflow_file=project.workflow,
        python=str(project.python),
        python_value=_quoted(str(project.python)),
        reusable=False,
        light_runs_on=runs_on(project.actions.runs_on),
        install=" ".join(shlex.quote(a) for a in options.install),
        cache_paths=options.cache_paths,
        # a comment-triggered workflow runs with the default branch's rights: no shared cache
        pip_cache=False,
        prod=PROD,
    )


def chatops_path(root: Path, project: ProjectConfig) -> Path:
    """Beside the sweep workflow; its name must differ from the sweep workflow's."""
    name = CHATOPS_FILE if project.workflow != CHATOPS_FILE else "sweepci-chatops.yml"
    return root / WORKFLOW_DIR / name
