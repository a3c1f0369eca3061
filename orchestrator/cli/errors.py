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


_STORE_CODE = ("/orchestrator/store/", "/orchestrator/trials/")
_DAMAGE = ("malformed", "not a database", "corrupt", "no such table", "no such column")


def damaged_store(exc: BaseException) -> str | None:
    """One line naming the store file when `exc` comes from a damaged store (a flipped byte:
    SQLite's "malformed"; a column whose JSON does not parse, read by the store's code),
    else None. A store from elsewhere is untrusted: damage is bad input, not a bug."""
    import json
    import sqlite3

    from orchestrator.store.db import OPENED

    if not OPENED:
        return None
    if isinstance(exc, sqlite3.DatabaseError):
        if not any(word in str(exc).lower() for word in _DAMAGE):
            return None
    elif isinstance(exc, (json.JSONDecodeError, UnicodeDecodeError)):
        tb, frames = exc.__traceback__, []
        while tb is not None:
            frames.append(tb.tb_frame.f_code.co_filename.replace("\\", "/"))
            tb = tb.tb_next
        # raised while the store's own code decoded a column it read
        if not any(part in f for f in frames for part in _STORE_CODE):
            return None
    else:
        return None
    what = " ".join(f"{type(exc).__name__}: {exc}".split())[:200]
    return (
        f"{OPENED[-1]}: the store is damaged ({what}); restore it from a copy or an artifact, "
        "or point --store at another file"
    )


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
        damaged = damaged_store(exc)
        if damaged is not None:
            click.echo(f"sweepci: error: {damaged}", err=True)
            return EXIT_BAD_INPUT
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
