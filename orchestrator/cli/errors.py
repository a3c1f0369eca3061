"""Turn any error into one line on stderr and an exit code (pre-commit style)."""

from __future__ import annotations

import os
from collections.abc import Callable

import click

from orchestrator.errors import EXIT_BAD_INPUT, EXIT_INTERRUPTED, SweepCIError


def _in_actions() -> bool:
    return os.environ.get("GITHUB_ACTIONS") == "true"


def _annotate(err: SweepCIError) -> None:
    """In GitHub Actions, also emit an ::error annotation pointing at the file line."""
    if not _in_actions():
        return
    from orchestrator.github.commands import command

    props: dict[str, str | int] = {}
    if err.location is not None:
        props["file"] = err.location.file
        if err.location.line is not None:
            props["line"] = err.location.line
        if err.location.column is not None:
            props["col"] = err.location.column
    command("error", err.one_line(), **props)


def _print_traceback(file=None) -> None:
    # traceback and tempfile load only on the error path: `sweepci --help` stays fast
    import traceback

    traceback.print_exc(file=file)


def handle_errors(body: Callable[[], object], debug: bool) -> int:
    """Run the CLI body; map known errors to one line and an exit code."""
    try:
        result = body()
        return result if isinstance(result, int) else 0
    except SweepCIError as err:
        if debug:
            _print_traceback()
        _annotate(err)
        click.echo(f"sweepci: error: {err.one_line()}", err=True)
        return err.exit_code
    except click.exceptions.Exit as exc:
        return exc.exit_code
    except click.exceptions.Abort:
        click.echo("sweepci: interrupted", err=True)
        return EXIT_INTERRUPTED
    except click.ClickException as exc:
        message = " ".join(exc.format_message().split())
        ctx = getattr(exc, "ctx", None)
        hint = f" (see '{ctx.command_path} --help')" if ctx is not None else ""
        click.echo(f"sweepci: error: {message}{hint}", err=True)
        return exc.exit_code if exc.exit_code != 1 else EXIT_BAD_INPUT
    except KeyboardInterrupt:
        click.echo("sweepci: interrupted", err=True)
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        return 0
    except Exception as exc:  # noqa: BLE001 - the last line of defence
        if debug:
            _print_traceback()
            return 1
        import tempfile

        fd, path = tempfile.mkstemp(prefix="sweepci-crash-", suffix=".log")
        with os.fdopen(fd, "w") as fh:
            _print_traceback(fh)
        click.echo(
            f"sweepci: internal error: {type(exc).__name__}: {exc} (traceback in {path}; please report it)",
            err=True,
        )
        return 1
