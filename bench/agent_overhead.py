"""Per-trial overhead and parallel speed-up of the local agent.

Anchors, measured in the same run:
- overhead: N bare `subprocess.run` spawns of the same trivial program (target <= 1.10x).
  Printed twice: the whole `sweepci run` process (its ~0.5 s start-up included),
  and per trial, from the slope between sweeps of N and 2N runs (start-up cancels).
  One pass of each varied by +-20% on a shared machine, so --passes rounds of
  (bare N, sweep N, bare 2N, sweep 2N) alternate and the medians are compared;
- parallelism: the same 40 one-second runs with 1 agent (target 2 agents <= 0.6x).

    python bench/agent_overhead.py [--n 40] [--passes 5] [--quick]
"""

from __future__ import annotations

import argparse
import sqlite3
import statistics
import subprocess
import sys
import time

from _util import env, git_repo, ratio_line, sweepci

TRIVIAL = "import json, os\nopen(os.environ['SWEEPCI_METRICS_FILE'], 'a').write(json.dumps({'metrics': {'v': 1.0}}) + '\\n')\n"
SLEEP = "import time\ntime.sleep(1.0)\n"


def bare_spawns(repo, n: int) -> float:
    start = time.perf_counter()
    for _ in range(n):
        subprocess.run(
            [sys.executable, "p.py"],
            cwd=repo,
            env=dict(env(), SWEEPCI_METRICS_FILE=str(repo / "m.jsonl")),
            check=True,
        )
    return time.perf_counter() - start


def sweep(repo, n: int, parallel: int = 1, program: str = "p.py") -> float:
    (repo / "s.yaml").write_text(
        f"method: random\nprogram: {program}\nparameters:\n  x: {{min: 0, max: 1000000}}\n"
    )
    start = time.perf_counter()
    sweepci(
        [
            "run",
            "s.yaml",
            "--count",
            str(n),
            "--parallel",
            str(parallel),
            "--quiet",
            "--store",
            f"s{parallel}-{time.time()}.db",
        ],
        repo,
    )
    return time.perf_counter() - start


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=40)
    ap.add_argument("--passes", type=int, default=5, help="alternating rounds (default 5)")
    ap.add_argument("--quick", action="store_true")
    args = ap.parse_args()
    n = 10 if args.quick else args.n
    passes = 1 if args.quick else max(args.passes, 1)
    repo = git_repo({"p.py": TRIVIAL, "sleep.py": SLEEP})
    sweep(repo, 2)  # warm caches
    rounds = []
    for _ in range(passes):
        rounds.append(
            (bare_spawns(repo, n), sweep(repo, n), bare_spawns(repo, 2 * n), sweep(repo, 2 * n))
        )
    bare, swept = (statistics.median(r[k] for r in rounds) for k in (0, 1))
    per_bare = statistics.median((r[2] - r[0]) / n for r in rounds)
    per_sweep = statistics.median((r[3] - r[1]) / n for r in rounds)
    print(f"per-trial overhead, runs of a trivial program ({n} and {2 * n}; median of {passes})")
    print(ratio_line(f"whole sweepci run --count {n}", swept, "bare spawns", bare))
    print(ratio_line("per trial (slope N -> 2N)", per_sweep, "bare spawn", per_bare, "<= 1.10x"))
    print(f"  start-up of sweepci run: {swept - n * per_sweep:.2f} s")
    m = 10 if args.quick else 40
    one = sweep(repo, m, 1, "sleep.py")
    two = sweep(repo, m, 2, "sleep.py")
    print(f"parallelism, {m} runs of a 1 s program")
    print(ratio_line("2 agents", two, "1 agent", one, "<= 0.60x"))
    # 8 agents on a 64-point grid: duplicates and losses
    (repo / "g.yaml").write_text(
        "method: grid\nprogram: p.py\nparameters:\n  a: {min: 1, max: 8}\n  b: {min: 1, max: 8}\n"
    )
    sweepci(
        ["run", "g.yaml", "--parallel", "8", "--count", "100", "--quiet", "--store", "grid.db"],
        repo,
    )
    conn = sqlite3.connect(repo / "grid.db")
    keys = [r[0] for r in conn.execute("SELECT config_key FROM runs WHERE state = 'finished'")]
    print(
        f"8 agents on a 64-point grid: {len(keys)} finished, {len(keys) - len(set(keys))} duplicates, {64 - len(set(keys))} lost"
    )


if __name__ == "__main__":
    main()
