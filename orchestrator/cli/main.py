"""The `sweepci` command: parses arguments and dispatches. Commands load lazily
so that `sweepci --help` imports neither numpy nor pydantic."""

from __future__ import annotations

import importlib
import os
import sys

import click

from orchestrator import __version__
from orchestrator.cli.errors import handle_errors

# name -> (module, function, one-line help). The help is repeated here so the
# command list prints without importing every command module.
COMMANDS: dict[str, tuple[str, str, str]] = {
    "validate": (
        "orchestrator.cli.validate",
        "validate",
        "Check sweep files; report errors and warnings.",
    ),
    "plan": (
        "orchestrator.cli.plan",
        "plan",
        "Show the configs a sweep would run, without running.",
    ),
    "run": (
        "orchestrator.cli.run",
        "run",
        "Create a sweep and run agents for it (create + agent).",
    ),
    "create": ("orchestrator.cli.run", "create", "Create a sweep and print its id."),
    "agent": ("orchestrator.cli.run", "agent", "Join an existing sweep as an agent."),
    "show": ("orchestrator.cli.show", "show", "Show a sweep and its runs, or one run."),
    "leaderboard": (
        "orchestrator.cli.show",
        "leaderboard",
        "Runs of a sweep sorted by its metric.",
    ),
    "sweeps": ("orchestrator.cli.show", "sweeps", "List the sweeps in a store."),
    "runs": ("orchestrator.cli.runs", "runs", "Find runs by commit, branch, environment or time."),
    "reproduce": (
        "orchestrator.cli.reproduce",
        "reproduce",
        "Rerun a run from its commit and compare its metrics.",
    ),
    "merge": ("orchestrator.cli.merge", "merge", "Merge stores from parallel jobs into one."),
    "context": (
        "orchestrator.cli.context",
        "context",
        "Show branch, commit, environment and tags sweepci sees.",
    ),
    "report": (
        "orchestrator.cli.report",
        "report",
        "Write a Markdown, HTML or JSON report of a sweep.",
    ),
    "init": (
        "orchestrator.cli.workflow",
        "init",
        "Scaffold sweepci.yaml, a sweep file and the workflow.",
    ),
    "workflow": (
        "orchestrator.cli.workflow",
        "workflow",
        "Render or drift-check the GitHub Actions workflow.",
    ),
    "dispatch": (
        "orchestrator.cli.dispatch",
        "dispatch",
        "Start the sweep workflow on GitHub and follow it.",
    ),
    "baseline": (
        "orchestrator.cli.baseline",
        "baseline",
        "Fetch main's previous prod store from GitHub Actions.",
    ),
    "comment": (
        "orchestrator.cli.comment",
        "comment",
        "Post or update the sweep's report on the branch's pull request.",
    ),
    "chatops": (
        "orchestrator.cli.chatops",
        "chatops",
        "Start a sweep of a PR's branch from a /sweep comment.",
    ),
    "sync": ("orchestrator.cli.sync", "sync", "Upload a local sweep's offline runs to W&B."),
    "artifacts": (
        "orchestrator.cli.artifacts",
        "artifacts",
        "List, show and fetch model and dataset artifacts.",
    ),
    "promote": (
        "orchestrator.cli.artifacts",
        "promote",
        "Give the best prod run's model an alias (production).",
    ),
}


class LazyGroup(click.Group):
    """A group whose subcommands are imported only when used."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return list(COMMANDS)

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        spec = COMMANDS.get(name)
        if spec is None:
            return None
        module = importlib.import_module(spec[0])
        return getattr(module, spec[1])

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = [(name, COMMANDS[name][2]) for name in self.list_commands(ctx)]
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "--version", prog_name="sweepci")
@click.option("--debug", is_flag=True, envvar="SWEEPCI_DEBUG", help="Show tracebacks for errors.")
@click.pass_context
def cli(ctx: click.Context, debug: bool) -> None:
    """sweepci: run W&B sweep files from CI, on W&B or on the embedded offline engine.

    Start with `sweepci validate sweeps/wine.yaml`, `sweepci plan sweeps/wine.yaml`
    and `sweepci run sweeps/wine.yaml --count 20`.
    """
    ctx.ensure_object(dict)
    ctx.obj["debug"] = debug


def main(argv: list[str] | None = None) -> None:
    """Entry point of the `sweepci` console script."""
    args = sys.argv[1:] if argv is None else argv
    debug = "--debug" in args or os.environ.get("SWEEPCI_DEBUG") == "1"
    from orchestrator.cli.safe_output import install

    install()  # nothing printed from here on can drive a terminal or start a workflow command
    code = handle_errors(
        lambda: cli.main(args=args, prog_name="sweepci", standalone_mode=False), debug
    )
    sys.exit(code)
