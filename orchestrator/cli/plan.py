"""`sweepci plan`: the configurations a sweep would run, without running them."""

from __future__ import annotations

import click

from orchestrator.agent.plan import load_sweep_with_warnings, plan_configs
from orchestrator.cli.common import (
    add_option,
    format_value,
    json_option,
    print_json,
    seed_option,
    set_option,
    warn,
)


@click.command()
@click.argument("file", type=click.Path(dir_okay=False))
@click.option(
    "--count",
    "-n",
    type=click.IntRange(min=1),
    default=None,
    help="How many configs (grid: all unless smaller; default 10 for random/bayes).",
)
@seed_option
@set_option
@add_option
@json_option
def plan(
    file: str, count: int | None, seed: int, overrides: tuple[str, ...], add: bool, as_json: bool
) -> int:
    """Show the configs the sweep in FILE would run.

    Grid sweeps list every point (count ignored unless smaller). Random sweeps
    list the first COUNT samples for SEED. Bayes sweeps list the initial
    random design; later points depend on results.
    """
    config = load_sweep_with_warnings(file, list(overrides), add, warn)
    configs, total, note = plan_configs(config, count, seed)
    if as_json:
        print_json(
            {
                "file": file,
                "method": config.method,
                "total": total,
                "configs": configs,
                "note": note,
            }
        )
        return 0
    names = sorted({k for c in configs for k in c})
    rows = [
        [str(i + 1)] + [format_value(c.get(n, "")) for n in names] for i, c in enumerate(configs)
    ]
    header = ["#"] + names
    widths = [
        max(len(h), *(len(r[j]) for r in rows)) if rows else len(h) for j, h in enumerate(header)
    ]
    click.echo("  ".join(h.ljust(w) for h, w in zip(header, widths)))
    for r in rows:
        click.echo("  ".join(v.ljust(w) for v, w in zip(r, widths)))
    summary = f"{len(configs)} config(s), method {config.method}"
    if total is not None:
        summary += f", grid of {total}"
    click.echo(summary + (f"; {note}" if note else ""))
    return 0
