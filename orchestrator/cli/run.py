"""`sweepci run`, `create` and `agent`: create sweeps and run agents for them."""

from __future__ import annotations

import os
from pathlib import Path

import click

from orchestrator.agent.options import AgentOptions, RunContext
from orchestrator.cli.common import Seconds, add_option, seed_option, set_option, store_option, warn
from orchestrator.errors import UsageError

backend_option = click.option(
    "--backend",
    type=click.Choice(["auto", "local", "wandb"]),
    default=None,
    help="auto (default; from sweepci.yaml): wandb when WANDB_API_KEY is set, else local.",
)
env_option = click.option(
    "--env",
    "env_override",
    default=None,
    help="Environment to write to (dev, prod, ...); prod is guarded.",
)
tag_option = click.option(
    "--tag", "tags", multiple=True, help="Extra tag for every run (repeatable)."
)
project_file_option = click.option(
    "--project-file",
    type=click.Path(dir_okay=False),
    default=None,
    help="Project file (default: ./sweepci.yaml if present).",
)
allow_dirty_option = click.option(
    "--allow-dirty",
    is_flag=True,
    help="Local use only: allow prod from a tree with uncommitted changes (recorded).",
)


def _request_options(shard_help: str, sweep_id_help: str):
    """The options that say which sweep file and where its sweep goes (run and create)."""

    def apply(f):
        for opt in reversed(
            [
                set_option,
                add_option,
                seed_option,
                store_option,
                backend_option,
                env_option,
                tag_option,
                project_file_option,
                allow_dirty_option,
                click.option("--shard", default=None, metavar="K/N", help=shard_help),
                click.option("--sweep-id", default=None, help=sweep_id_help),
            ]
        ):
            f = opt(f)
        return f

    return apply


_REQUEST_FIELDS = (
    "overrides", "add", "seed", "store_path", "backend", "env_override", "tags",
    "project_file", "allow_dirty", "shard", "sweep_id",
)  # fmt: skip


def _request(file: str, options: dict):
    """Move the request options out of a command's keyword arguments into a SweepRequest."""
    from orchestrator.commands.sweep import SweepRequest

    fields = {name: options.pop(name) for name in _REQUEST_FIELDS}
    fields["overrides"] = list(fields["overrides"])
    return SweepRequest(file=file, **fields)


def _agent_options(f):
    for opt in reversed(
        [
            click.option(
                "--gpus",
                default=None,
                metavar="auto|N|0,2,3",
                help="One agent per GPU, each run seeing only its agent's device(s) through "
                "CUDA_VISIBLE_DEVICES: auto (CUDA_VISIBLE_DEVICES if set, else nvidia-smi), "
                "a count N, or device ids (one device: 3,). No device runs two runs at once.",
            ),
            click.option(
                "--gpus-per-run",
                type=click.IntRange(min=1, max=64),
                default=1,
                show_default=True,
                help="GPUs each run gets (with --gpus): agents = GPUs // this.",
            ),
            click.option(
                "--run-timeout",
                type=Seconds(min=0.1),
                default=None,
                help="Stop a run after this many seconds (it is recorded as killed).",
            ),
            click.option(
                "--time-budget",
                type=Seconds(min=0.1),
                default=None,
                help="Start no run after this many seconds; stop the running one.",
            ),
            click.option(
                "--max-failures",
                type=click.IntRange(min=0),
                default=3,
                show_default=True,
                help="Stop after this many failures in a row (0: never).",
            ),
            click.option("--verbose", "-v", is_flag=True, help="Stream each run's output."),
            click.option("--quiet", "-q", is_flag=True, help="Print only the result."),
        ]
    ):
        f = opt(f)
    return f


def _gpu_slots(gpus: str | None, per_run: int, parallel: int = 1) -> list[tuple[str, ...]] | None:
    """The device slots of `--gpus` (one per agent), said on stderr; None without --gpus."""
    if gpus is None:
        if per_run != 1:
            raise UsageError("--gpus-per-run needs --gpus")
        return None
    if parallel != 1:
        raise UsageError("give --gpus or --parallel, not both: --gpus starts one agent per GPU")
    from orchestrator.agent.gpus import plan_slots

    groups, line = plan_slots(gpus, per_run)
    click.echo(f"sweepci: {line}", err=True)
    return groups


def _options(
    count, run_timeout, time_budget, max_failures, verbose, max_total=None
) -> AgentOptions:
    return AgentOptions(
        count=count,
        max_total=max_total,
        run_timeout=run_timeout,
        time_budget=time_budget,
        max_failures=max_failures,
        echo=verbose,
        workdir=Path.cwd(),
    )


@click.command()
@click.argument("file", required=False, type=click.Path(dir_okay=False))
@click.option(
    "--count",
    "-n",
    type=click.IntRange(min=1),
    default=None,
    help="Runs to do (default 20; a grid stops when done).",
)
@click.option(
    "--parallel",
    "-p",
    type=click.IntRange(min=1, max=64),
    default=1,
    show_default=True,
    help="Agents (processes) sharing the sweep.",
)
@click.option(
    "--resume",
    "resume_id",
    default=None,
    metavar="SWEEP_ID",
    help="Go on with a stopped sweep (local backend).",
)
@_request_options(
    shard_help="Run shard K of N (1-based) of a grid/random sweep, for matrix jobs.",
    sweep_id_help="Id for the new local sweep (shards of one matrix share it, so their stores merge).",
)
@_agent_options
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@click.pass_context
def run(ctx: click.Context, file, count, parallel, resume_id, **options) -> int:
    """Create a sweep from FILE and run it to the end (or --count runs).

    The local backend runs everything on this machine with the embedded engine
    and a SQLite store; the wandb backend uses the W&B sweep server. Runs are
    routed to the dev or prod project by branch (see `sweepci context`).
    """
    from orchestrator.cli.results import print_results
    from orchestrator.commands.sweep import resume_sweep, run_sweep

    req = _request(file, options)
    slots = _gpu_slots(options.pop("gpus"), options.pop("gpus_per_run"), parallel)
    agent_options = _options(
        count,
        options["run_timeout"],
        options["time_budget"],
        options["max_failures"],
        options["verbose"],
    )
    common = dict(
        count=count, parallel=parallel, options=agent_options, quiet=options["quiet"],
        debug=ctx.obj.get("debug", False), slots=slots,
    )  # fmt: skip
    if resume_id:
        if file:
            raise UsageError("give either FILE or --resume SWEEP_ID, not both")
        outcome = resume_sweep(resume_id, store_path=req.store_path, **common)
    else:
        if not file:
            req.file = _default_sweep_file(req.project_file)
        outcome = run_sweep(req, **common)
    print_results(
        outcome.handle, req.store_path, as_json=options["as_json"], quiet=options["quiet"]
    )
    return outcome.finish()


def _default_sweep_file(project_file: str | None) -> str:
    from orchestrator.config.project import load_project

    project = load_project(project_file)
    if not os.path.exists(project.sweep_file):
        raise UsageError(
            f"no FILE given and the default sweep file {project.sweep_file} does not exist"
        )
    return project.sweep_file


@click.command()
@click.argument("file", type=click.Path(dir_okay=False))
@_request_options(
    shard_help="Create shard K of N of a grid/random sweep.",
    sweep_id_help="Id for the new local sweep.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the sweep as JSON.")
def create(file, as_json, **options) -> int:
    """Create a sweep from FILE and print its id (like `wandb sweep`)."""
    from orchestrator.commands.sweep import create_sweep_from_file

    handle, _prepared, _config = create_sweep_from_file(_request(file, options), announce=warn)
    if as_json:
        from orchestrator.cli.common import print_json

        print_json(
            {
                "id": handle.id,
                "path": handle.path,
                "backend": handle.backend,
                "project": handle.project,
                "url": handle.url,
            }
        )
    else:
        click.echo(handle.path)
    return 0


@click.command()
@click.argument("sweep_id")
@click.option(
    "--count", "-n", type=click.IntRange(min=1), default=None, help="Runs this agent does at most."
)
@click.option("--max-total", type=click.IntRange(min=1), default=None, hidden=True)
@click.option("--prefix", default="", hidden=True)
@click.option("--devices", default=None, hidden=True)  # the slot given by a --gpus parent
@store_option
@_agent_options
def agent(
    sweep_id,
    count,
    max_total,
    prefix,
    devices,
    store_path,
    run_timeout,
    time_budget,
    max_failures,
    verbose,
    quiet,
    gpus,
    gpus_per_run,
) -> int:
    """Join sweep SWEEP_ID as an agent (like `wandb agent`).

    SWEEP_ID is a local sweep id (or 'latest'), or ENTITY/PROJECT/ID for a W&B sweep.
    With --gpus, one agent per GPU joins it; they share the --count runs.
    """
    from orchestrator.commands.sweep import join_sweep

    options = _options(count, run_timeout, time_budget, max_failures, verbose, max_total)
    if devices is not None:
        from orchestrator.agent.gpus import parse_device_list

        options.devices = parse_device_list(devices, "--devices") or None
    return join_sweep(
        sweep_id,
        store_path=store_path,
        quiet=quiet,
        prefix=prefix,
        options=options,
        slots=_gpu_slots(gpus, gpus_per_run),
    )


__all__ = ["RunContext", "agent", "create", "run"]
