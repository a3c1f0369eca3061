"""A running run's live metrics, from both live files, in bounded memory.

Two files feed it, both tailed with `ChannelReader`:
- `wandb-log.jsonl`: what the script passed to `wandb.log`, written by the
  start-up hook (`orchestrator.agent.wandb_hook`) when the script is Python
  and sweepci is installed where it runs; the script needs no change.
- `metrics.jsonl` (`$SWEEPCI_METRICS_FILE`): what any program appends itself
  (or through `orchestrator.report_metric`).
What the hook saw of `wandb.log` wins; the channel fills in when the hook
saw nothing (a program that is not Python, a metric logged only there).

Whatever the files hold, this keeps: the sweep metric's trace (a few numbers
per run, see trials/trace.py), the last value of at most MAX_SUMMARY_KEYS
keys, and at most MAX_HISTORY_VALUES values of history rows (evenly thinned
beyond that), used only when the run leaves no W&B file.
"""

from __future__ import annotations

from collections.abc import Collection
from pathlib import Path
from typing import Any

from orchestrator.agent.channel import ChannelReader
from orchestrator.trials.trace import MetricTrace

HOOK_FILE = "wandb-log.jsonl"
CHANNEL_FILE = "metrics.jsonl"
MAX_HISTORY_ROWS = 10_000
MAX_HISTORY_VALUES = 200_000
MAX_SUMMARY_KEYS = 10_000


class ThinnedRows:
    """History rows in bounded space: past the cap, every other row is dropped, evenly."""

    def __init__(self, max_rows: int = MAX_HISTORY_ROWS, max_values: int = MAX_HISTORY_VALUES):
        self.rows: list[dict[str, Any]] = []
        self.max_rows, self.max_values = max_rows, max_values
        self.stride, self.seen, self.values = 1, 0, 0

    def add(self, row: dict[str, Any]) -> None:
        if self.seen % self.stride == 0:
            self.rows.append(row)
            self.values += len(row)
            while len(self.rows) > 1 and (
                len(self.rows) >= self.max_rows or self.values > self.max_values
            ):
                self.rows = self.rows[::2]
                self.values = sum(len(r) for r in self.rows)
                self.stride *= 2
        self.seen += 1


class _Source:
    def __init__(self, path: Path, metric: str | None, bands: Collection[int]):
        self.reader = ChannelReader(path)
        self.metric, self.bands = metric, bands
        self.trace = MetricTrace()
        self.history = ThinnedRows()
        self.last: dict[str, Any] = {}
        self.keys_dropped = 0

    def take(self, rows: list[dict[str, Any]]) -> None:
        for row in rows:
            row.setdefault("_step", self.history.seen)
            self.history.add(row)
            for key, value in row.items():
                if key.startswith("_"):
                    continue
                if key in self.last or len(self.last) < MAX_SUMMARY_KEYS:
                    self.last[key] = value
                else:
                    self.keys_dropped += 1
            if self.metric is not None and self.metric in row:
                self.trace.add(row[self.metric], self.bands)


class LiveMetrics:
    """Both live files of one run; `update()` while it goes, `finish()` once it exited."""

    def __init__(self, run_dir: Path, metric: str | None, bands: Collection[int] = ()):
        self.hook = _Source(run_dir / HOOK_FILE, metric, bands)
        self.channel = _Source(run_dir / CHANNEL_FILE, metric, bands)

    def update(self) -> bool:
        """Read what was written since; True when any row arrived."""
        got = False
        for source in (self.hook, self.channel):
            rows = source.reader.read()
            source.take(rows)
            got = got or bool(rows)
        return got

    def finish(self) -> None:
        """Read the rest of both files, the last unfinished line included."""
        for source in (self.hook, self.channel):
            for rows in source.reader.drain():
                source.take(rows)

    def _main(self) -> _Source:
        return self.hook if self.hook.history.seen else self.channel

    def trace(self) -> MetricTrace:
        """The sweep metric so far: wandb.log's values, else the channel's."""
        return self.hook.trace if self.hook.trace.n else self.channel.trace

    def history(self) -> list[dict[str, Any]]:
        return self._main().history.rows

    def summary(self) -> dict[str, Any]:
        """The last value of each key, wandb.log's first, the channel's for keys it lacks."""
        out = dict(self.hook.last)
        for key, value in self.channel.last.items():
            out.setdefault(key, value)
        return out

    def warnings(self, run_id: str) -> list[str]:
        """One line per file that had lines skipped or keys dropped (none when all was well)."""
        lines = []
        for source in (self.hook, self.channel):
            text = source.reader.warning(run_id)
            if source.keys_dropped:
                extra = f"{source.keys_dropped} value(s) of keys past the first {MAX_SUMMARY_KEYS} left out of the summary"
                text = (
                    f"{text}; {extra}"
                    if text
                    else f"run {run_id}: {source.reader.path.name}: {extra}"
                )
            if text:
                lines.append(text)
        return lines
