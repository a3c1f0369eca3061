"""Report rendering on a 10k-run sweep, as ratios to two anchors measured in the same process.

Anchors (so the numbers mean the same on a fast laptop and a slow CI runner):
  text-leaderboard  `sweepci leaderboard`'s own path for all 10k runs:
                    store.queries.leaderboard() + results.leaderboard_rows() + render_table()
  mpl-scatter-N     a bare matplotlib Figure with one scatter of N (= --runs) points, saved as SVG

Each measurement is the best of --repeat runs after one warm-up (imports, font cache).
Usage: python bench/report_10k.py [--runs 10000] [--repeat 3] [--keep DIR]
"""

from __future__ import annotations

import argparse
import io
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from orchestrator.report import render_report  # noqa: E402
from orchestrator.report.leaderboard import leaderboard_rows, render_table  # noqa: E402
from orchestrator.store import open_store  # noqa: E402
from orchestrator.store.queries import leaderboard  # noqa: E402
from orchestrator.store.runs import get_sweep  # noqa: E402
from tests.test_report import build_store, failing_every  # noqa: E402


def best_time(fn: Callable[[], object], repeat: int) -> float:
    fn()  # warm-up: imports, matplotlib font cache, SQLite page cache
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def text_leaderboard(db: Path) -> str:
    with open_store(db, create=False, readonly=True) as store:
        sweep = get_sweep(store, "latest")
        runs = leaderboard(store, sweep)
    return render_table(*leaderboard_rows(sweep, runs))


def mpl_scatter(n: int) -> str:
    import matplotlib

    matplotlib.use("Agg")
    import numpy as np
    from matplotlib.figure import Figure

    rng = np.random.default_rng(0)
    fig = Figure(figsize=(8, 4.2))
    fig.add_subplot().scatter(np.arange(n), rng.random(n), s=4)
    buf = io.StringIO()
    with matplotlib.rc_context({"svg.fonttype": "none"}):
        fig.savefig(buf, format="svg")
    return buf.getvalue()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10_000, help="runs in the synthetic sweep")
    parser.add_argument("--repeat", type=int, default=3, help="timed repetitions (best is kept)")
    parser.add_argument("--keep", type=Path, default=None, help="write the store and reports here")
    args = parser.parse_args()
    if args.keep:
        args.keep.mkdir(parents=True, exist_ok=True)
        return measure(args, args.keep)
    with tempfile.TemporaryDirectory(prefix="sweepci-bench-") as tmp:
        return measure(args, Path(tmp))


def measure(args: argparse.Namespace, work: Path) -> int:
    """Build the store in `work`, time the anchors and the three formats, print the table."""
    db = work / "sweepci.db"
    if db.exists():
        db.unlink()
    start = time.perf_counter()
    build_store(
        db, runs=args.runs, state=failing_every(20), history_runs=args.runs, history_steps=10
    )
    print(
        f"store: {args.runs} runs, 10 history steps each, built in {time.perf_counter() - start:.1f}s ({db})"
    )

    anchors = {
        "text-leaderboard": best_time(lambda: text_leaderboard(db), args.repeat),
        f"mpl-scatter-{args.runs}": best_time(lambda: mpl_scatter(args.runs), args.repeat),
    }
    outputs: dict[str, str] = {}

    def report(fmt: str) -> Callable[[], object]:
        def run() -> None:
            outputs[fmt] = render_report(db, fmt=fmt, top=10)

        return run

    timings = {fmt: best_time(report(fmt), args.repeat) for fmt in ("md", "json", "html")}
    for name, seconds in anchors.items():
        print(f"anchor {name:<17} {seconds * 1000:8.1f} ms")
    for fmt, seconds in timings.items():
        size = len(outputs[fmt].encode())
        ratios = "  ".join(f"{seconds / a:6.2f}x {n}" for n, a in anchors.items())
        print(f"report {fmt:<17} {seconds * 1000:8.1f} ms  {size / 1024:8.1f} KiB  {ratios}")
        if args.keep:
            (work / f"report.{fmt}").write_text(outputs[fmt], encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
