"""`sweepci validate`: check sweep files without running anything."""

from __future__ import annotations

import click

from orchestrator.cli.common import add_option, json_option, print_json, set_option
from orchestrator.config.sweep import validate_file
from orchestrator.errors import EXIT_BAD_INPUT, ConfigError


@click.command()
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False))
@set_option
@add_option
@click.option("--strict", is_flag=True, help="Treat warnings as errors (exit 2).")
@json_option
def validate(
    files: tuple[str, ...], overrides: tuple[str, ...], add: bool, strict: bool, as_json: bool
) -> int:
    """Check sweep FILES the way W&B reads them.

    Also an error: a `program` that the command runs (`${program}`) but that
    does not exist relative to the working directory.

    Prints one line per error or warning as FILE:LINE:COL: KIND: KEY: MESSAGE.
    Exits 2 when any file has an error (or a warning, with --strict).
    """
    report = []
    failed = False
    for path in files:
        try:
            result = validate_file(path, list(overrides), add, check_program=True)
            errors, warnings = result.errors, result.warnings
        except ConfigError as err:
            from orchestrator.config.problems import Problem

            errors, warnings = [Problem(err.location, err.message, err.key)], []  # type: ignore[arg-type]
        bad = bool(errors) or (strict and bool(warnings))
        failed = failed or bad
        report.append(
            {
                "file": path,
                "ok": not bad,
                "errors": [_problem_json(p) for p in errors],
                "warnings": [_problem_json(p) for p in warnings],
            }
        )
        if not as_json:
            for p in errors + warnings:
                click.echo(p.one_line(), err=True)
            if not bad:
                note = (
                    f" ({len(warnings)} warning{'s' if len(warnings) != 1 else ''})"
                    if warnings
                    else ""
                )
                click.echo(f"{path}: ok{note}")
    if as_json:
        print_json(report)
    return EXIT_BAD_INPUT if failed else 0


def _problem_json(p) -> dict:
    return {
        "file": p.location.file,
        "line": p.location.line,
        "column": p.location.column,
        "key": p.key,
        "severity": p.severity,
        "message": p.message,
    }
