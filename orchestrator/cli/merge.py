"""`sweepci merge`: one store from the stores of parallel jobs."""

from __future__ import annotations

import click

from orchestrator.cli.common import json_option, print_json, warn
from orchestrator.errors import UsageError


@click.command()
@click.argument("sources", nargs=-1, required=True, type=click.Path(dir_okay=True))
@click.option(
    "-o",
    "--output",
    required=True,
    type=click.Path(dir_okay=False),
    help="The merged store (created or added to).",
)
@json_option
def merge(sources: tuple[str, ...], output: str, as_json: bool) -> int:
    """Merge SOURCES (store files, or directories searched for *.db) into OUTPUT.

    Runs already in OUTPUT are skipped and artifact versions are matched by
    content, so merging twice changes nothing. An alias OUTPUT already gives
    another version is kept, with a warning.
    """
    from pathlib import Path

    from orchestrator.store.merge import merge_stores

    files: list[str] = []
    for src in sources:
        p = Path(src)
        if p.is_dir():
            found = sorted(str(f) for f in p.rglob("*.db"))
            if not found:
                raise UsageError(f"{src}: no .db store files in this directory")
            files += found
        else:
            files.append(src)
    result = merge_stores(files, output)
    if as_json:
        print_json(result.__dict__)
    else:
        click.echo(
            f"merged {len(result.sources)} store(s) into {output}: {result.sweeps_added} sweep(s), "
            f"{result.runs_added} run(s) added, {result.runs_skipped} already there, "
            f"{result.artifacts_added} artifact version(s) added"
        )
    for conflict in result.conflicts:
        warn(conflict)
    if result.blobs_missing:
        warn(
            f"{len(result.blobs_missing)} artifact file(s) missing from the sources were not copied"
        )
    return 0
