"""Baseline: the best result of the latest prod sweep of main, and this sweep's delta to it.

`find_baseline` is the boundary a backend implements: given where baselines
live and which metric to compare, return a `Baseline` or None. The local
backend's version reads a store file (or a directory holding one, such as a
downloaded CI artifact). A W&B version (the prod project on the W&B server)
can be added beside it without touching the renderers, which only see
`BaselineComparison`.

A missing baseline is a normal state (the first sweep ever, a fork without
artifacts) and is reported as such; only a file that exists but is not a
readable store is an error, since that means the CI wiring is wrong.
"""

from __future__ import annotations

import contextlib
import math
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from orchestrator.errors import StoreError
from orchestrator.store import Store, open_store
from orchestrator.store.queries import best_run
from orchestrator.store.records import SweepRecord

BASELINE_ENV = "prod"
BASELINE_BRANCH = "main"
#: a downloaded artifact holds one store; do not crawl a whole disk by mistake
MAX_STORE_FILES = 20


@dataclass
class Baseline:
    """The value to beat: the best run of one earlier sweep."""

    source: str  # the store file it came from
    sweep_id: str
    sweep_name: str | None
    branch: str | None
    sha: str | None
    run_id: str
    metric_name: str
    metric_goal: str | None
    value: float
    created_at: float

    def to_json(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass
class BaselineComparison:
    """This sweep's best against a baseline; `baseline` None means none was found (see `note`)."""

    baseline: Baseline | None
    current: float | None
    note: str

    @property
    def delta(self) -> float | None:
        if self.baseline is None or self.current is None:
            return None
        return self.current - self.baseline.value

    @property
    def relative(self) -> float | None:
        """Delta as a fraction of the baseline value (None when the baseline is 0)."""
        if self.delta is None or self.baseline is None or self.baseline.value == 0:
            return None
        return self.delta / abs(self.baseline.value)

    @property
    def direction(self) -> str:
        """better, worse or same by the metric goal; none without two values to compare."""
        delta = self.delta
        if delta is None or self.baseline is None:
            return "none"
        if math.isclose(delta, 0.0, abs_tol=1e-12):
            return "same"
        minimize = self.baseline.metric_goal == "minimize"
        return "better" if (delta < 0) == minimize else "worse"

    def to_json(self) -> dict[str, Any]:
        return {
            "found": self.baseline is not None,
            "baseline": self.baseline.to_json() if self.baseline else None,
            "current": self.current,
            "delta": self.delta,
            "relative": self.relative,
            "direction": self.direction,
            "note": self.note,
        }


def store_files(source: Path) -> list[Path]:
    """The store file itself, or the *.db files under a directory (nearest first)."""
    if source.is_file():
        return [source]
    found = sorted(source.rglob("*.db"), key=lambda p: (len(p.parts), str(p)))
    return found[:MAX_STORE_FILES]


@contextlib.contextmanager
def _open_copy(file: Path) -> Iterator[Store]:
    """Open a private copy of a store file.

    A baseline usually is a downloaded artifact: it may sit in a read-only
    directory, carry an un-checkpointed -wal file, or come from an older
    sweepci whose schema must be migrated before it can be read. Working on a
    copy handles all three and never changes the original.
    """
    with tempfile.TemporaryDirectory(prefix="sweepci-baseline-") as tmp:
        copy = Path(tmp) / "baseline.db"
        shutil.copyfile(file, copy)
        wal = file.with_name(file.name + "-wal")
        if wal.is_file():
            shutil.copyfile(wal, copy.with_name(copy.name + "-wal"))
        with open_store(copy, create=False) as store:
            yield store


def _latest_in(
    file: Path, metric_name: str, env: str, branch: str, exclude: str | None
) -> Baseline | None:
    with _open_copy(file) as store:
        rows = store.query(
            "SELECT * FROM sweeps WHERE env = ? AND metric_name = ? ORDER BY created_at DESC",
            (env, metric_name),
        )
        for row in rows:
            sweep = SweepRecord.from_row(row)
            if sweep.id == exclude or sweep.context.get("branch") != branch:
                continue
            best = best_run(store, sweep)
            if best is None or best.metric_value is None:
                continue  # a sweep without a finished value cannot be a baseline
            return Baseline(
                source=str(file),
                sweep_id=sweep.id,
                sweep_name=sweep.name,
                branch=sweep.context.get("branch"),
                sha=sweep.context.get("sha"),
                run_id=best.id,
                metric_name=metric_name,
                metric_goal=sweep.metric_goal,
                value=best.metric_value,
                created_at=sweep.created_at,
            )
    return None


def find_baseline(
    source: str | Path,
    metric_name: str,
    *,
    exclude_sweep_id: str | None = None,
    env: str = BASELINE_ENV,
    branch: str = BASELINE_BRANCH,
) -> tuple[Baseline | None, str]:
    """The latest sweep with `env` and context branch `branch` that measured `metric_name`
    and has a finished run with a value. Returns (baseline or None, a sentence saying why).

    `source` is a store file (an unreadable one is an error) or a directory, whose
    *.db files that are not sweepci stores are skipped."""
    path = Path(source)
    if not path.exists():
        return None, f"no baseline: {path} does not exist"
    files = store_files(path)
    if not files:
        return None, f"no baseline: no store file (*.db) in {path}"
    found: list[Baseline] = []
    for file in files:
        try:
            baseline = _latest_in(file, metric_name, env, branch, exclude_sweep_id)
        except StoreError:
            if path.is_file():
                raise
            continue
        if baseline is not None:
            found.append(baseline)
    if found:
        latest = max(found, key=lambda b: b.created_at)
        return latest, f"latest {env} sweep of {branch} with metric {metric_name}"
    return None, f"no baseline: no {env} sweep of {branch} with a finished {metric_name} in {path}"


def compare(
    sweep: SweepRecord, current: float | None, source: str | Path | None
) -> BaselineComparison:
    """Compare this sweep's best value with the baseline found in `source` (if any)."""
    if source is None:
        return BaselineComparison(None, current, "no baseline given (--baseline)")
    if not sweep.metric_name:
        return BaselineComparison(None, current, "no baseline: this sweep has no metric")
    baseline, note = find_baseline(source, sweep.metric_name, exclude_sweep_id=sweep.id)
    if baseline is not None and sweep.metric_goal and baseline.metric_goal != sweep.metric_goal:
        # the direction of "better" is this sweep's to decide
        baseline.metric_goal = sweep.metric_goal
    if baseline is not None and current is None:
        note = "this sweep has no finished run with a metric value to compare"
    return BaselineComparison(baseline, current, note)
