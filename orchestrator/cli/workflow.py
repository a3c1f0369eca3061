"""`sweepci init` and `sweepci workflow render|check|plan|backend`."""

from __future__ import annotations

import os
from pathlib import Path

import click

from orchestrator.cli.common import json_option, print_json, warn

install_option = click.option(
    "--install",
    default=None,
    metavar="PIP_ARGS",
    help="What the workflow's jobs pip-install, as one line of pip arguments (a PEP 508 "
    "`name @ url` stays one argument). init saves it as `install:` in sweepci.yaml; on render "
    "and check it overrides sweepci.yaml for that one command. Default: `install:` of "
    "sweepci.yaml, else this released sweepci version (plus requirements.txt when present).",
)
project_file_option = click.option(
    "--project-file",
    type=click.Path(dir_okay=False),
    default=None,
    help="Project file (default: ./sweepci.yaml, or the defaults when there is none).",
)


@click.command()
@click.option(
    "--force",
    is_flag=True,
    help="Replace an existing sweepci.yaml and workflow (an existing sweep file is always kept).",
)
@click.option(
    "--backend",
    type=click.Choice(["auto", "local", "wandb"]),
    default="auto",
    show_default=True,
    help="Backend written to sweepci.yaml; auto uses W&B when WANDB_API_KEY is set.",
)
@click.option(
    "--python",
    "python_version",
    default="3.11",
    show_default=True,
    help="Python version the workflow sets up.",
)
@click.option(
    "--prod-branch",
    default="main",
    show_default=True,
    help="Branch whose sweeps go to the prod project.",
)
@click.option(
    "--sweep-file",
    default=None,
    help="Sweep file to use. Default: the repository's own sweep file when init finds one "
    "(kept, with its program), else sweeps/wine.yaml (an example, written with train.py).",
)
@install_option
@click.option(
    "--reusable",
    default=None,
    metavar="OWNER/NAME@SHA",
    help="Write a short caller of sweepci's reusable workflow in that repository, pinned by "
    "commit SHA, instead of the whole workflow (sweepci.yaml: actions.reusable).",
)
@json_option
def init(
    force, backend, python_version, prod_branch, sweep_file, install, reusable, as_json
) -> int:
    """Set this repository up for sweeps: sweepci.yaml, .github/workflows/sweep.yml, .gitignore.

    Keeps the repository's own sweep file and training script (an example is
    written only when there is none), routes the prod branch to the prod
    project and every other branch to dev, takes `base` from the origin
    remote's repository name, and makes git ignore .sweepci/ and wandb/.
    Refuses (exit 2) to replace sweepci.yaml or the workflow unless --force.
    """
    from orchestrator.github.scaffold import init_project

    root = Path.cwd()
    done = init_project(
        root,
        force=force,
        backend=backend,
        python=python_version,
        prod_branch=prod_branch,
        sweep_file=sweep_file,
        install=install,
        reusable=reusable,
    )
    if as_json:
        print_json([{"path": os.path.relpath(w.path, root), "action": w.action} for w in done])
        return 0
    for w in done:
        click.echo(f"{w.action:8}  {os.path.relpath(w.path, root)}")
    click.echo(
        "next: commit these files; add WANDB_API_KEY to the GitHub environments dev and prod to use W&B"
    )
    return 0


@click.group()
def workflow() -> None:
    """Render or drift-check the GitHub Actions sweep workflow, from sweepci.yaml."""


def _rendered_all(project_file: str | None, install: str | None):
    """(sweep workflow text, its path, [(text, path) of the other generated workflows])."""
    from orchestrator.config.project import load_project
    from orchestrator.github.render import (
        detect_options,
        is_sweepci_source,
        render_workflow,
        workflow_path,
    )
    from orchestrator.github.render_chatops import chatops_path, render_chatops_workflow

    root = Path.cwd()
    project = load_project(project_file)
    options = detect_options(root, project, install)
    others = [(render_chatops_workflow(project, options), chatops_path(root, project))]
    if is_sweepci_source(root):
        # sweepci's own repository also serves the reusable workflow that callers pin
        from orchestrator.github.render_reusable import REUSABLE_PATH, render_reusable_workflow

        others.append((render_reusable_workflow(), root / REUSABLE_PATH))
    return render_workflow(project, options), workflow_path(root, project), others


@workflow.command()
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, allow_dash=True),
    default=None,
    help="Where to write it (default: .github/workflows/<workflow from sweepci.yaml>; - for stdout).",
)
@project_file_option
@install_option
def render(output, project_file, install) -> int:
    """Write the sweep workflow rendered from sweepci.yaml (and, without -o, the ChatOps
    workflow beside it, which starts the sweep from a `/sweep` pull-request comment)."""
    text, default_path, others = _rendered_all(project_file, install)
    if output == "-":
        click.echo(text, nl=False)
        return 0
    written = [(text, Path(output) if output else default_path)]
    if not output:
        written += others
    for body, path in written:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(body, encoding="utf-8")
        click.echo(f"wrote {os.path.relpath(path)}")
    return 0


@workflow.command()
@click.option(
    "--path",
    "path",
    type=click.Path(dir_okay=False),
    default=None,
    help="Workflow file to check (default: .github/workflows/<workflow from sweepci.yaml>).",
)
@project_file_option
@install_option
def check(path, project_file, install) -> int:
    """Exit 1 and print a unified diff when the committed workflow differs from sweepci.yaml's."""
    from orchestrator.errors import CheckFailed
    from orchestrator.github.render import check_workflow

    text, default_path, others = _rendered_all(project_file, install)
    checked = [(text, Path(path) if path else default_path)] + ([] if path else others)
    for body, target in checked:
        name = os.path.relpath(target)
        diff = check_workflow(target, body, name)
        if diff:
            click.echo(diff, nl=False)
            raise CheckFailed(
                f"{name} drifted from sweepci.yaml; run `sweepci workflow render` and commit it"
            )
        click.echo(f"{name} is up to date")
    return 0


def _review_line(prepared) -> str:
    """What a reviewer of the environment sees on the run's page before approving."""
    from orchestrator.agent.progress import printable

    ctx = prepared.ctx
    sha = (ctx.sha or "unknown")[:12]
    who = f" by {printable(ctx.actor)[:40]}" if ctx.actor else ""
    branch = printable(ctx.branch or "?")[:80].replace("`", "'")
    return (
        f"\ncommit `{sha}` of branch `{branch}` ({ctx.event}{who}); "
        f"the sweep starts once environment `{prepared.route.env}` allows it\n"
    )


@workflow.command()
@click.option("--count", default="", help="Runs in the sweep (empty: 20).")
@click.option(
    "--agents", default="", help="Agents, i.e. matrix jobs (empty: `agents` of sweepci.yaml)."
)
@click.option(
    "--dataset",
    default="",
    help="Pin the sweep's `dataset` parameter (empty: as the sweep file says).",
)
@click.option(
    "--sweep-file",
    default="",
    help="Sweep file inside the repository (empty: `sweep_file` of sweepci.yaml).",
)
@click.option(
    "--backend", default="", help="auto, local or wandb (empty: `backend` of sweepci.yaml)."
)
@project_file_option
@json_option
def plan(count, agents, dataset, sweep_file, backend, project_file, as_json) -> int:
    """Check the sweep workflow's inputs and split the runs among the agents.

    The generated workflow's plan job runs this with its raw inputs; it writes
    the step outputs sweep-file, dataset, count, backend, matrix and
    local-sweep-id. It also applies the prod guard, so a refused sweep stops here.
    """
    from orchestrator.ci.prepare import prepare
    from orchestrator.config.project import load_project
    from orchestrator.github.commands import append_summary, set_outputs
    from orchestrator.github.jobplan import plan_workflow

    project = load_project(project_file)
    result = plan_workflow(
        project,
        Path.cwd(),
        count=count,
        agents=agents,
        dataset=dataset,
        sweep_file=sweep_file,
        backend=backend,
        warn=warn,
    )
    prepared = prepare(project_file)  # raises GuardError when prod is refused
    outputs = result.outputs()
    set_outputs(outputs)
    append_summary(
        f"### Sweep plan\n\n`{result.sweep_file}` on {prepared.route.env} (`{prepared.route.project}`): "
        f"{result.count} run(s), {len(result.agents)} agent(s), backend {result.backend}"
        + (f", dataset `{result.dataset}`" if result.dataset else "")
        + "\n"
        + _review_line(prepared)
    )
    if as_json:
        print_json(
            {
                **outputs,
                "matrix": [a.to_json() for a in result.agents],
                "env": prepared.route.env,
                "project": prepared.route.project,
            }
        )
    else:
        click.echo(
            f"sweep file  {result.sweep_file}"
            + (f" (dataset={result.dataset})" if result.dataset else "")
        )
        click.echo(
            f"runs        {result.count} over {len(result.agents)} agent(s): "
            + ", ".join(f"{a.index}/{a.of}: {a.count}" for a in result.agents)
        )
        click.echo(f"backend     {result.backend}")
        click.echo(
            f"goes to     {prepared.route.env} ({prepared.route.project}); {prepared.route.why}"
        )
    return 0


@workflow.command()
@click.argument("requested", default="auto")
def backend(requested) -> int:
    """Choose the agents' backend and write it as the step output `backend`.

    REQUESTED is auto, local or wandb: auto is wandb when WANDB_API_KEY is set,
    else local; wandb without a key is an error (exit 2).
    """
    from orchestrator.github.commands import set_outputs
    from orchestrator.github.jobplan import resolve_backend

    chosen, why = resolve_backend(requested)
    set_outputs({"backend": chosen})
    click.echo(f"backend {chosen} ({why})")
    return 0
