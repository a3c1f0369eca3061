"""Progress lines while a sweep runs: which run, its config, its metric, best so far."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TextIO

from orchestrator.store.records import CRASHED, FAILED, FINISHED, RunRecord
from orchestrator.store.run_files import shown_path

#: stderr lines shown under a failed run's progress line
TAIL_LINES = 5

_CONTROL = {c: f"\\x{c:02x}" for c in range(32)} | {
    ord("\n"): "\\n",
    ord("\r"): "\\r",
    ord("\t"): "\\t",
    127: "\\x7f",
}


def printable(text: str) -> str:
    """`text` on one line: control characters escaped, so a parameter value can never start
    a line of its own (in CI logs, a line starting with `::` is a workflow command)."""
    return text.translate(_CONTROL)


def _short(value: object) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    text = printable(str(value))
    return text if len(text) <= 24 else text[:21] + "..."


class Progress:
    """Plain lines (fit for CI logs); `quiet` prints nothing."""

    def __init__(
        self,
        metric: str | None,
        maximize: bool,
        total: int | None = None,
        stream: TextIO | None = None,
        quiet: bool = False,
        prefix: str = "",
    ):
        self.metric = metric
        self.maximize = maximize
        self.total = total
        # progress goes to stderr, so stdout holds only results (a leaderboard, or --json)
        self.stream = stream or sys.stderr
        self.quiet = quiet
        self.prefix = prefix
        self.best: float | None = None
        self.best_run: str | None = None
        self.count = 0

    def _print(self, text: str) -> None:
        if not self.quiet:
            print(self.prefix + text, file=self.stream, flush=True)

    def message(self, text: str) -> None:
        self._print(text)

    def run_started(self, run: RunRecord) -> None:
        self.count += 1
        of = f"/{self.total}" if self.total else ""
        params = " ".join(f"{k}={_short(v)}" for k, v in run.config.items())
        self._print(f"run {self.count}{of} {run.id} started: {params}")

    def run_finished(self, run: RunRecord, duration: float, log: Path | None = None) -> None:
        value = run.metric_value
        improved = False
        if run.state == FINISHED and value is not None:
            if self.best is None or (value > self.best if self.maximize else value < self.best):
                self.best, self.best_run, improved = value, run.id, True
        parts = [f"run {run.id} {run.state}"]
        if self.metric and value is not None:
            parts.append(f"{self.metric}={value:.4g}")
        if run.reason and run.state != FINISHED:
            parts.append(f"({run.reason})")
        parts.append(f"in {duration:.1f}s")
        if self.best is not None:
            parts.append(
                f"| best {self.metric}={self.best:.4g} ({self.best_run})"
                + (" new best" if improved else "")
            )
        self._print(" ".join(parts))
        if run.state in (FAILED, CRASHED):
            # what went wrong, right under the run's line: its last stderr lines and the whole log
            for line in (run.stderr_tail or "").rstrip("\n").splitlines()[-TAIL_LINES:]:
                self._print("    | " + printable(line)[:300])
            if log is not None:
                self._print(f"    full log: {shown_path(log)}")
