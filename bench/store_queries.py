"""Store speed on a sweep of 100k runs: leaderboard and `runs --commit`.

Targets: leaderboard <= 1 s, runs --commit <= 50 ms. Anchor, measured in the
same run: a raw `SELECT id, metric_value FROM runs` of every row (sqlite3 alone).
The `sweepci leaderboard` command is timed end to end as a subprocess.

    python bench/store_queries.py [--runs 100000]
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import tempfile
import time
from pathlib import Path

from _util import ROOT  # noqa: F401 - puts the repository on sys.path

from orchestrator.store import open_store
from orchestrator.store import runs as R
from orchestrator.store.queries import find_runs, leaderboard


def build(path: Path, n: int) -> tuple[str, str]:
    with open_store(path) as store:
        sweep = R.create_sweep(
            store,
            project="p-dev",
            method="random",
            config={"method": "random"},
            metric_name="f1",
            metric_goal="maximize",
            env="dev",
        )
        rng = random.Random(0)
        shas = [f"{rng.getrandbits(160):040x}" for _ in range(500)]
        rows = []
        for i in range(n):
            v = rng.random()
            rows.append(
                (
                    f"r{i:07d}",
                    sweep.id,
                    i,
                    f"k{i}",
                    json.dumps({"lr": v, "depth": i % 7}),
                    "finished",
                    json.dumps(["env:dev"]),
                    0.0 + i,
                    json.dumps({"f1": v, "accuracy": v}),
                    v,
                    "main",
                    shas[i % 500],
                    "dev",
                )
            )
        with store.transaction() as conn:
            conn.executemany(
                "INSERT INTO runs (id, sweep_id, seq, config_key, config_json, state, tags_json, created_at, summary_json,"
                " metric_value, branch, sha, env) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
                rows,
            )
        return sweep.id, shas[7]


def timed(fn, repeat: int = 5) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=100_000)
    args = ap.parse_args()
    path = Path(tempfile.mkdtemp()) / "big.db"
    sweep_id, sha = build(path, args.runs)
    with open_store(path) as store:
        sweep = R.get_sweep(store, sweep_id)
        anchor = timed(lambda: store.query("SELECT id, metric_value FROM runs"))
        top = timed(lambda: leaderboard(store, sweep, limit=20))
        full = timed(lambda: leaderboard(store, sweep), repeat=3)
        commit = timed(lambda: find_runs(store, commit=sha))
        prefix = timed(lambda: find_runs(store, commit=sha[:8]))
    import subprocess
    import sys

    from _util import env

    def cli() -> None:
        subprocess.run(
            [sys.executable, "-m", "orchestrator", "leaderboard", sweep_id, "--store", str(path)],
            env=env(),
            check=True,
            capture_output=True,
        )

    command = timed(cli, repeat=3)
    print(f"store with {args.runs} runs; anchor: raw fetch of all rows {anchor * 1000:.1f} ms")
    for name, value, target in [
        ("sweepci leaderboard (process)", command, 1.0),
        ("leaderboard() top 20", top, 1.0),
        ("leaderboard() all runs, parsed", full, None),
        ("runs --commit <full sha>", commit, 0.05),
        ("runs --commit <8-char prefix>", prefix, 0.05),
    ]:
        note = (
            ""
            if target is None
            else f"  (target <= {target * 1000:.0f} ms: {'ok' if value <= target else 'MISSED'})"
        )
        print(f"{name:<32} {value * 1000:8.1f} ms  ratio {value / anchor:6.2f}x anchor{note}")


if __name__ == "__main__":
    main()
