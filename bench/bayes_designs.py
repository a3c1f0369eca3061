"""Which basin a sweep ends in: each sampler from its own first points and from the others'.

    python bench/bayes_designs.py                                  # Hartmann-6, 40 seeds, 2 peers
    python bench/bayes_designs.py --problems hartmann6-noisy --seeds 20 --jobs 2

A Bayesian sampler starts from a handful of points it does not choose by
model: sweepci from a scrambled Sobol sequence (the dimension plus five
points), Optuna's GPSampler from ten uniform draws of its RandomSampler.
On a function with a deep local minimum, such as Hartmann-6 (regret 0.119
there), the basin the first good point lands in decides much of the
sweep. This bench separates that from the model: every peer runs once
from its own start-up and once from the other's, given as its first
evaluations (Optuna's enqueued trials; told to sweepci's trial list), and
the table gives, per peer and design, the median regret at n and how many
sweeps end above --stuck (and how many of those sit in the local minimum).
The third design is Optuna's start-up again, drawn with seeds 10000 on:
the same kind of points, other draws, to tell a design's kind from its luck.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
import warnings
from concurrent.futures import ProcessPoolExecutor

from bayes_regret import Sweep, drive
from peers import PEERS, make_peer, missing
from problems import PROBLEMS
from sweeploop import START_UPS, start_up

#: the peers that take first points (`start_with`): sweepci's and Optuna's
SUPPORTED = ("sweepci", "optuna-gp", "tpe", "tpe-mv")
#: the design each peer starts from by itself (marked * in the table)
NATIVE = {"sweepci": "sobol", "optuna-gp": "optuna", "tpe": "optuna", "tpe-mv": "optuna"}
#: Hartmann-6's second-best minimum, -3.2032 (regret 0.119)
LOCAL_REGRET = (0.10, 0.14)


def run(job: tuple[str, str, str, int, int]) -> tuple[str, Sweep]:
    peer_name, kind, problem_name, seed, n = job
    warnings.filterwarnings("ignore")
    peer = make_peer(peer_name, PROBLEMS[problem_name].specs, seed, n)
    if kind != NATIVE[peer_name]:
        peer.start_with(start_up(kind, PROBLEMS[problem_name].specs, seed))
    return kind, drive(peer, peer_name, problem_name, seed, n)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--problems", default="hartmann6", help="comma-separated")
    parser.add_argument(
        "--peers", default="sweepci,optuna-gp", help=f"comma-separated, of {', '.join(SUPPORTED)}"
    )
    parser.add_argument(
        "--designs", default=",".join(START_UPS), help="comma-separated, of " + ", ".join(START_UPS)
    )
    parser.add_argument("--seeds", type=int, default=40, help="seeds 0..N-1 (default 40)")
    parser.add_argument("--n", type=int, default=100, help="budget (default 100)")
    parser.add_argument(
        "--stuck", type=float, default=0.1, help="regret counted as a failed sweep (default 0.1)"
    )
    parser.add_argument("--jobs", type=int, default=2, help="parallel processes (default 2)")
    args = parser.parse_args(argv)
    problems, peers, kinds = (a.split(",") for a in (args.problems, args.peers, args.designs))
    for name in peers:
        if name not in SUPPORTED:
            parser.error(
                f"--peers: {name} cannot be given first points here (one of {', '.join(SUPPORTED)})"
            )
        if missing(name):
            parser.error(missing(name))
    for name in problems:
        if name not in PROBLEMS:
            parser.error(f"--problems: no problem {name} (one of {', '.join(PROBLEMS)})")
    for kind in kinds:
        if kind not in START_UPS:
            parser.error(f"--designs: no design {kind} (one of {', '.join(START_UPS)})")
    jobs = [
        (p, k, pr, s, args.n)
        for pr in problems
        for p in peers
        for k in kinds
        for s in range(args.seeds)
    ]
    started = time.perf_counter()
    with ProcessPoolExecutor(args.jobs) as pool:
        results = list(pool.map(run, jobs, chunksize=1))
    sweeps = {(s.problem, s.peer, kind, s.seed): s for kind, s in results}
    for problem in problems:
        optimum = PROBLEMS[problem].optimum
        print(
            f"\n{PROBLEMS[problem].label}, n={args.n}, seeds 0-{args.seeds - 1}: median regret;"
            f" sweeps above {args.stuck:g} (of them at the local minimum, regret {LOCAL_REGRET[0]:g}-{LOCAL_REGRET[1]:g})"
        )
        header = f"{'peer':<30}" + "".join(f"{START_UPS[k]:>26}" for k in kinds)
        print(header)
        print("-" * len(header))
        for peer in peers:
            cells = []
            for kind in kinds:
                regrets = [
                    sweeps[(problem, peer, kind, s)].regret(args.n, optimum)
                    for s in range(args.seeds)
                ]
                above = sum(r > args.stuck for r in regrets)
                local = sum(LOCAL_REGRET[0] <= r <= LOCAL_REGRET[1] for r in regrets)
                mark = "*" if kind == NATIVE[peer] else " "
                cells.append(f"{statistics.median(regrets):.2g}; {above} ({local}){mark}")
            print(f"{PEERS[peer][1]:<30}" + "".join(f"{c:>26}" for c in cells))
    if any(NATIVE[p] in kinds for p in peers):
        print("* the peer's own start-up")
    print(
        f"\n{len(jobs)} sweeps in {time.perf_counter() - started:.0f} s wall with {args.jobs} processes"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
