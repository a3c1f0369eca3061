"""One error hierarchy for sweepci. Each class carries the exit code the CLI uses.

Exit codes: 0 ok, 1 the sweep ran but failed (or a check found drift),
2 bad input (files, arguments, guard refusals), 3 backend/environment trouble,
130 interrupted.
"""

from __future__ import annotations

from dataclasses import dataclass

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_BAD_INPUT = 2
EXIT_BACKEND = 3
EXIT_INTERRUPTED = 130


@dataclass(frozen=True)
class Location:
    """Where in a file a problem is: 1-based line and column."""

    file: str
    line: int | None = None
    column: int | None = None

    def __str__(self) -> str:
        parts = [self.file]
        if self.line is not None:
            parts.append(str(self.line))
            if self.column is not None:
                parts.append(str(self.column))
        return ":".join(parts)


class SweepCIError(Exception):
    """Base of every error sweepci expects; the CLI prints it on one line."""

    exit_code = EXIT_BAD_INPUT

    def __init__(self, message: str, location: Location | None = None, key: str | None = None):
        super().__init__(message)
        self.message = message
        self.location = location
        self.key = key

    def one_line(self) -> str:
        """The message as printed: ``<file>:<line>:<col>: <key>: <message>``."""
        text = " ".join(self.message.split())
        if self.key:
            text = f"{self.key}: {text}"
        if self.location is not None:
            text = f"{self.location}: {text}"
        return text


class ConfigError(SweepCIError):
    """A sweep file or project file is invalid."""


class UsageError(SweepCIError):
    """Command-line arguments that cannot work together."""


class NotFoundError(SweepCIError):
    """A sweep, run, store or artifact that was asked for does not exist."""


class StoreError(SweepCIError):
    """The store file is unreadable, of the wrong kind, or locked."""


class GuardError(SweepCIError):
    """Writing to an environment (prod) is refused."""


class BackendError(SweepCIError):
    """A backend (W&B, GitHub) refused or failed."""

    exit_code = EXIT_BACKEND


class MissingDependencyError(SweepCIError):
    """An optional package is needed for this command."""

    exit_code = EXIT_BACKEND


class SweepFailed(SweepCIError):
    """The sweep ran, but every run failed (or the failure budget was spent)."""

    exit_code = EXIT_FAILED


class CheckFailed(SweepCIError):
    """A check (e.g. workflow drift) found a difference."""

    exit_code = EXIT_FAILED


class Interrupted(SweepCIError):
    """Ctrl-C or SIGTERM; the sweep can be resumed."""

    exit_code = EXIT_INTERRUPTED
