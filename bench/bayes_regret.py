"""Simple regret of sweepci's bayes sampler on Branin and Hartmann-6, beside Optuna TPE.

    python bench/bayes_regret.py            # full: 10 seeds at n=50, 5 at n=200
    python bench/bayes_regret.py --quick    # 5 seeds at n=50, 3 at n=200

Regret is the best value found minus the known optimum, median over seeds.
Optuna's TPE and random search are measured in the same run; W&B's bayes
engine cannot be installed beside numpy 2, so its figures are constants
measured earlier on this machine and labelled as such. Latency is the
median time of one suggestion once 150-199 trials exist (n=200 runs),
as wall time and as CPU time (which a busy machine does not inflate).
"""

from __future__ import annotations

import argparse
import math
import statistics
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from typing import Any

from sweeploop import SweepResult, run_optuna_tpe, run_sweepci

BRANIN_SPECS = {
    ("x1",): {"distribution": "uniform", "min": -5.0, "max": 10.0},
    ("x2",): {"distribution": "uniform", "min": 0.0, "max": 15.0},
}
BRANIN_MIN = 0.397887357729739
HARTMANN_SPECS = {
    (f"x{i}",): {"distribution": "uniform", "min": 0.0, "max": 1.0} for i in range(1, 7)
}
HARTMANN_MIN = -3.322368011415515
HARTMANN_A = [
    [10, 3, 17, 3.5, 1.7, 8],
    [0.05, 10, 17, 0.1, 8, 14],
    [3, 3.5, 1.7, 10, 17, 8],
    [17, 8, 0.05, 10, 0.1, 14],
]
HARTMANN_P = [
    [0.1312, 0.1696, 0.5569, 0.0124, 0.8283, 0.5886],
    [0.2329, 0.4135, 0.8307, 0.3736, 0.1004, 0.9991],
    [0.2348, 0.1451, 0.3522, 0.2883, 0.3047, 0.6650],
    [0.4047, 0.8828, 0.8732, 0.5743, 0.1091, 0.0381],
]
HARTMANN_ALPHA = [1.0, 1.2, 3.0, 3.2]

#: W&B's `sweeps` bayes engine, median regret measured earlier on this machine (not re-run)
WANDB_BAYES = {
    ("branin", 50): 0.0053,
    ("branin", 200): 0.00037,
    ("hartmann6", 50): 0.42,
    ("hartmann6", 200): 0.164,
}
WANDB_LATENCY_MS = 66.0
TARGET_FACTOR = 0.8


def branin(config: dict[str, Any]) -> float:
    """Branin-Hoo on [-5, 10] x [0, 15]; three global minima of 0.397887."""
    x1, x2 = config["x1"], config["x2"]
    b, c = 5.1 / (4 * math.pi**2), 5 / math.pi
    return (x2 - b * x1**2 + c * x1 - 6) ** 2 + 10 * (1 - 1 / (8 * math.pi)) * math.cos(x1) + 10


def hartmann6(config: dict[str, Any]) -> float:
    """Hartmann-6 on the unit cube; one global minimum of -3.32237 and several local ones."""
    x = [config[f"x{i}"] for i in range(1, 7)]
    total = 0.0
    for alpha, a, p in zip(HARTMANN_ALPHA, HARTMANN_A, HARTMANN_P):
        total += alpha * math.exp(-sum(aj * (xj - pj) ** 2 for aj, xj, pj in zip(a, x, p)))
    return -total


PROBLEMS = {
    "branin": (BRANIN_SPECS, branin, BRANIN_MIN),
    "hartmann6": (HARTMANN_SPECS, hartmann6, HARTMANN_MIN),
}


def run_one(job: tuple[str, str, int, int]) -> tuple[tuple[str, str, int, int], SweepResult, float]:
    """One (method, problem, n, seed) sweep; returns it with its wall time."""
    method, problem, n, seed = job
    specs, objective, _ = PROBLEMS[problem]
    start = time.perf_counter()
    if method == "optuna-tpe":
        result = run_optuna_tpe(specs, objective, n, seed)
    else:
        result = run_sweepci(method, specs, objective, n, seed)
    return job, result, time.perf_counter() - start


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="5/3 seeds instead of 10/5")
    parser.add_argument("--jobs", type=int, default=2, help="parallel processes (default 2)")
    parser.add_argument("--problems", default="branin,hartmann6", help="comma-separated")
    parser.add_argument("--methods", default="bayes,optuna-tpe,random", help="comma-separated")
    args = parser.parse_args(argv)
    seeds = {50: 5, 200: 3} if args.quick else {50: 10, 200: 5}
    problems = args.problems.split(",")
    methods = args.methods.split(",")
    jobs = [(m, p, n, s) for p in problems for n in seeds for s in range(seeds[n]) for m in methods]
    # longest first so the pool does not end on one straggler
    jobs.sort(key=lambda j: -j[2])
    started = time.perf_counter()
    results: dict[tuple[str, str, int], list[SweepResult]] = {}
    wall: dict[str, float] = {}
    with ProcessPoolExecutor(args.jobs) as pool:
        for (method, problem, n, _), result, seconds in pool.map(run_one, jobs):
            results.setdefault((method, problem, n), []).append(result)
            wall[method] = wall.get(method, 0.0) + seconds
    print_table(results, problems, methods, seeds)
    print()
    print("CPU seconds per method:", ", ".join(f"{m} {s:.0f}" for m, s in wall.items()))
    print(f"total wall time {time.perf_counter() - started:.0f} s with {args.jobs} processes")
    return 0


def ratio(value: float, anchor: float) -> str:
    """value / anchor to two significant digits, or '-' when the anchor was not measured."""
    return f"{value / anchor:.2g}" if math.isfinite(anchor) and anchor > 0 else "-"


def print_table(
    results: dict, problems: list[str], methods: list[str], seeds: dict[int, int]
) -> None:
    """Regret per (problem, n) and method, with ratios against the anchors."""
    header = f"{'problem':<10} {'n':>4} {'seeds':>5} {'method':<11} {'regret':>10} {'vs TPE':>7} {'vs W&B':>7} {'target':>10} {'ok':>3}"
    print(header)
    print("-" * len(header))
    for problem in problems:
        optimum = PROBLEMS[problem][2]
        for n in seeds:
            regret = {
                m: statistics.median(r.best_after(n) - optimum for r in results[(m, problem, n)])
                for m in methods
                if (m, problem, n) in results
            }
            wandb = WANDB_BAYES[(problem, n)]
            tpe = regret.get("optuna-tpe", math.inf)
            target = TARGET_FACTOR * min(tpe, wandb)
            for m, value in regret.items():
                ok = ("yes" if value <= target else "NO") if m == "bayes" else ""
                print(
                    f"{problem:<10} {n:>4} {seeds[n]:>5} {m:<11} {value:>10.3g} "
                    f"{ratio(value, tpe):>7} {ratio(value, wandb):>7} {target:>10.3g} {ok:>3}"
                )
            print(
                f"{problem:<10} {n:>4} {'':>5} {'W&B bayes*':<11} {wandb:>10.3g} {ratio(wandb, tpe):>7}"
            )
    print("* W&B's bayes engine: figures measured earlier on this machine, quoted as constants")
    print()
    print(
        "suggestion latency at n=150-199 (the n=200 runs), median, ms: wall / CPU of this process"
    )
    for problem in problems:
        cells = []
        for m in methods:
            runs = results.get((m, problem, 200), [])
            if runs:
                wall = statistics.median(t for r in runs for t in r.latencies[150:200])
                cpu = statistics.median(t for r in runs for t in r.cpu_times[150:200])
                cells.append(f"{m} {1000 * wall:.1f} / {1000 * cpu:.1f}")
        print(
            f"  {problem:<10} " + "; ".join(cells) + f"; W&B bayes* ~{WANDB_LATENCY_MS:.0f} (wall)"
        )


if __name__ == "__main__":
    sys.exit(main())
