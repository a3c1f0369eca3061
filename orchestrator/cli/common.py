"""Options and helpers shared by several commands."""

from __future__ import annotations

import json
import math
import sys
from typing import Any

import click

json_option = click.option(
    "--json", "as_json", is_flag=True, help="Print machine-readable JSON instead of text."
)
set_option = click.option(
    "--set",
    "overrides",
    multiple=True,
    metavar="KEY=VALUE",
    help="Pin a parameter to one value (repeatable); VALUE is read as YAML. Dotted keys reach nested parameters.",
)
add_option = click.option(
    "--add", is_flag=True, help="Allow --set to add parameters the sweep file does not have."
)
api_url_option = click.option(
    "--api-url",
    envvar="GITHUB_API_URL",
    metavar="URL",
    help="GitHub API URL (GitHub Enterprise too). Default: $GITHUB_API_URL, else https://api.github.com.",
)
repo_option = click.option(
    "--repo",
    metavar="OWNER/NAME",
    help="GitHub repository. Default: $GITHUB_REPOSITORY, else the `origin` remote.",
)
seed_option = click.option(
    "--seed", type=int, default=0, show_default=True, help="Seed for random and bayes search."
)
store_option = click.option(
    "--store",
    "store_path",
    type=click.Path(dir_okay=False),
    default=".sweepci/sweepci.db",
    show_default=True,
    envvar="SWEEPCI_STORE",
    help="SQLite store file (env: SWEEPCI_STORE).",
)


class Finite(click.FloatRange):
    """A finite number in a range (nan or inf would disable a limit or a check silently)."""

    name = "number"
    unit = ""

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        result = super().convert(value, param, ctx)
        if not math.isfinite(result):
            self.fail(f"{value!r} is not a finite number{self.unit}.", param, ctx)
        return result


class Seconds(Finite):
    """A duration in seconds: a finite number, at least `min`."""

    name = "seconds"
    unit = " of seconds"


def print_json(data: Any) -> None:
    click.echo(json.dumps(data, indent=2, sort_keys=False, default=str))


def warn(message: str) -> None:
    click.echo(f"sweepci: warning: {message}", err=True)


def is_tty() -> bool:
    return sys.stdout.isatty()


def format_value(value: Any) -> str:
    """Short human form of a parameter or metric value."""
    if isinstance(value, float):
        return f"{value:.6g}"
    from orchestrator.agent.progress import printable

    return printable(str(value))
