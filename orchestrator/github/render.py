"""The sweep workflow (`.github/workflows/sweep.yml`) rendered from sweepci.yaml.

Everything the workflow depends on is decided here, from the project file and
from facts about the repository (is this sweepci itself? is there a
requirements.txt?), so `sweepci workflow check` renders the same text again
and any difference is drift. The YAML itself lives in
`templates/workflows/sweep.yml.j2`.
"""

from __future__ import annotations

import difflib
import re
import shlex
from dataclasses import dataclass
from pathlib import Path

from orchestrator import __version__
from orchestrator.config.project import BACKENDS, ProjectConfig
from orchestrator.errors import ConfigError, NotFoundError
from orchestrator.github.pins import PINS
from orchestrator.github.render_actions import cancel_in_progress, env_block, runs_on, steps_block
from orchestrator.promotion.base import PROD, WORSE_PHRASE
from orchestrator.templating.jinja import render

WORKFLOW_TEMPLATE = "workflows/sweep.yml.j2"
WORKFLOW_DIR = Path(".github") / "workflows"
DEFAULT_COUNT = 20  # as `sweepci run` (orchestrator.commands.sweep.DEFAULT_COUNT)
# changes to these never start a sweep
PATHS_IGNORE = ("**.md", "docs/**")
# characters with a meaning in GitHub's branch filter syntax but none in fnmatch
_FILTER_SPECIAL = re.compile(r"([+!])")


@dataclass
class WorkflowOptions:
    """What the workflow needs besides sweepci.yaml."""

    install: list[str]  # arguments to `python -m pip install`
    cache_paths: list[str]  # files whose hash keys setup-python's pip cache
    datasets: tuple[str, ...] = ()  # choices of the `dataset` input; () for no such input
    count: int = DEFAULT_COUNT
    paths_ignore: tuple[str, ...] = PATHS_IGNORE
    workflow_file: str = "sweep.yml"


def is_sweepci_source(root: Path) -> bool:
    """True in a checkout of sweepci itself (its pyproject names the distribution)."""
    pyproject = root / "pyproject.toml"
    if not pyproject.is_file():
        return False
    return (
        re.search(r'(?m)^name\s*=\s*"sweepci"\s*$', pyproject.read_text(encoding="utf-8"))
        is not None
    )


def default_install_for(root: Path) -> list[str]:
    """What the jobs install when sweepci.yaml has no `install:`.

    sweepci's own checkout installs itself from the tree; any other repository
    installs this released version of sweepci from the package index, plus its
    requirements.txt when it has one.
    """
    from orchestrator.config.install import default_install

    if is_sweepci_source(root):
        return [".[wandb]"]
    args = default_install(__version__)
    if (root / "requirements.txt").is_file():
        args += ["-r", "requirements.txt"]
    return args


def detect_options(
    root: Path,
    project: ProjectConfig,
    install: str | None = None,
    datasets: list[str] | None = None,
) -> WorkflowOptions:
    """Options from the repository at `root`: the same files give the same workflow.

    The jobs pip-install `install:` of sweepci.yaml, else `default_install_for`;
    `install` (pip arguments as one line, `--install` of render/check) overrides
    both for one rendering. The `dataset` input's choices are `datasets`, else
    sweepci.yaml's `datasets:`, else the sweep file's `dataset` values.
    """
    from orchestrator.config.install import split_install
    from orchestrator.github.inputs import dataset_choices

    workflow_file = project.workflow
    if install is not None:
        args = split_install(install)
    elif project.install is not None:
        args = list(project.install)
    else:
        args = default_install_for(root)
    if not args:
        raise ConfigError("--install needs at least one pip argument")
    cache = [name for name in ("requirements.txt", "pyproject.toml") if (root / name).is_file()]
    # the workflow names the sweepci version it installs, so it keys the cache too
    cache.append((WORKFLOW_DIR / workflow_file).as_posix())
    if datasets is None or project.datasets is not None:
        datasets = dataset_choices(root, project)
    return WorkflowOptions(
        install=args,
        cache_paths=cache,
        datasets=tuple(datasets),
        workflow_file=workflow_file,
    )


def branch_filter(pattern: str) -> str:
    """A sweepci.yaml branch pattern (fnmatch: `*` crosses `/`) as a GitHub push filter.

    GitHub's `*` stops at `/` and `**` does not, so `*` becomes `**`; `?` is a
    quantifier to GitHub, so it widens to `**` too (the plan job's routing,
    which uses the real pattern, still decides); `+` and a leading `!` are escaped.
    """
    text = re.sub(r"\*+", "**", pattern).replace("?", "**")
    text = re.sub(r"(\*\*)+", "**", text)
    return _FILTER_SPECIAL.sub(r"\\\1", text)


def branch_filters(project: ProjectConfig) -> list[str]:
    """The union of every environment's branch patterns, in order, without repeats."""
    filters: list[str] = []
    for rule in project.environments:
        for pattern in rule.branches:
            converted = branch_filter(pattern)
            if converted not in filters:
                filters.append(converted)
    if "**" in filters:
        return ["**"]
    return filters


def uses_pip_cache(branches: list[str]) -> bool:
    """False when a push to a release branch can start the workflow.

    Release branches publish results (to prod), and a dependency cache is
    shared across workflow runs, so such a workflow installs without one (the
    rule zizmor's cache-poisoning audit applies: "release" in a branch filter).
    """
    return not any("release" in b.lower() for b in branches)


def _quoted(text: str) -> str:
    """A YAML double-quoted scalar (JSON strings are valid YAML)."""
    import json

    return json.dumps(text)


def render_workflow(project: ProjectConfig, options: WorkflowOptions) -> str:
    """The text of the sweep workflow for this project: the whole workflow, or with
    `actions.reusable` a short caller of sweepci's reusable workflow pinned by SHA."""
    context = workflow_context(project, options)
    if project.actions.reusable:
        from orchestrator.github.render_caller import render_caller

        return render_caller(project, context)
    return render(WORKFLOW_TEMPLATE, **context)


def workflow_context(project: ProjectConfig, options: WorkflowOptions) -> dict:
    """The template's variables, from sweepci.yaml and the repository."""
    if project.backend not in BACKENDS:
        raise ConfigError(f"backend must be one of {', '.join(BACKENDS)}", key="backend")
    actions = project.actions
    branches = actions.branches if actions.branches is not None else branch_filters(project)
    if not branches:
        raise ConfigError(
            "no environment lists a branch, so no push would start a sweep; add branches to 'environments'",
            key="environments",
        )
    return dict(
        reusable=False,
        version=__version__,
        pins=PINS,
        q=_quoted,
        branches=branches,
        paths_ignore=list(actions.paths_ignore),
        paths=list(actions.paths),
        triggers=actions.triggers,
        # without workflow_dispatch there are no inputs: the plan job gets "" (the defaults)
        inp=lambda name: (
            f"${{{{ inputs.{name} }}}}" if "workflow_dispatch" in actions.triggers else '""'
        ),
        cancel_in_progress=cancel_in_progress(project, PROD),
        workflow_env=env_block(actions.env, 0),
        light_runs_on=runs_on(actions.runs_on),
        light_timeout=actions.timeout_minutes,
        agent_runs_on=runs_on(actions.agents.runs_on),
        agent_timeout=actions.agents.timeout_minutes,
        agent_env=env_block(actions.agents.env, 4),
        agent_setup=steps_block(actions.agents.setup, 6),
        gpus=actions.agents.gpus,
        gpus_per_run=actions.agents.gpus_per_run,
        environments=project.environment_names(),
        count=options.count,
        datasets=list(options.datasets),
        sweep_file=project.sweep_file,
        agents=project.agents,
        backend=project.backend,
        backends=list(BACKENDS),
        python=str(project.python),
        python_value=_quoted(str(project.python)),
        install=" ".join(shlex.quote(a) for a in options.install),
        install_args=list(options.install),
        cache_paths=options.cache_paths,
        pip_cache=uses_pip_cache(branches),
        # only a project with a prod environment has sweeps to promote
        promote=project.promote and PROD in project.environment_names(),
        # the condition an environment line of a job needing the key starts with; None: no line
        key_env=None if actions.wandb_key == "repository" else "",
        prod=PROD,
        worse_phrase=WORSE_PHRASE,
    )


def workflow_path(root: Path, project: ProjectConfig) -> Path:
    return root / WORKFLOW_DIR / project.workflow


def drift(committed: str, rendered: str, name: str) -> str:
    """A unified diff from the committed file to the rendered one ("" when equal)."""
    return "".join(
        difflib.unified_diff(
            committed.splitlines(keepends=True),
            rendered.splitlines(keepends=True),
            fromfile=f"{name} (committed)",
            tofile=f"{name} (rendered from sweepci.yaml)",
        )
    )


def check_workflow(path: Path, rendered: str, name: str | None = None) -> str:
    """The diff from the committed workflow at `path` to `rendered` ("" when none)."""
    name = name or str(path)
    if not path.is_file():
        raise NotFoundError(
            f"{name}: no workflow to check; write it with `sweepci workflow render`"
        )
    return drift(path.read_text(encoding="utf-8"), rendered, name)
