"""Simple regret of sweepci's bayes sampler beside the strongest peers, in one run.

    nice -n 19 python bench/bayes_regret.py                     # everything: 6 problems x 5 seeds
    python bench/bayes_regret.py --problems hartmann6 --seeds 3 --peers sweepci,optuna-gp
    python bench/bayes_regret.py --reuse peers.jsonl --reuse-only smac,skopt,botorch  # no slow peer reruns

Peers (each bench-only, skipped with a line when not installed): Optuna's
TPE (independent and multivariate) and GPSampler, BoTorch (SingleTaskGP +
LogEI), scikit-optimize (gp_minimize's settings), SMAC3's blackbox facade,
random search. Every sweep runs sequentially to the largest n and is scored
at each n by the best of its first n evaluations (a sampler here does not
know its budget, except SMAC, which is told --smac-n). Regret is the
noiseless value of the best observed point minus the optimum, median over
seeds. Latency is the time of one suggestion with 90-99 finished trials,
median over those and the seeds, as CPU time of the process (which a busy
machine inflates less than wall time) and as wall time.

Per sampler it also counts exact repeats (every parameter equal to an
earlier evaluation), near-duplicates (every numeric parameter within 1% of
its range of an earlier evaluation, same categories) and suggestions on a
bound of a continuous parameter.
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import sys
import time
import warnings
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from peers import PEERS, make_peer, missing
from problems import PROBLEMS, Problem

from orchestrator.search import Space
from orchestrator.search.encoding import Encoder

NEAR = 0.01
LATENCY_WINDOW = (90, 100)
STRICT_FACTOR = 0.8


@dataclass
class Sweep:
    peer: str
    problem: str
    seed: int
    observed: list[float]
    true: list[float]
    cpu: list[float]
    wall: list[float]
    repeats: list[int] = field(default_factory=list)  # suggestion indices
    near: list[int] = field(default_factory=list)
    on_bound: list[int] = field(default_factory=list)

    def regret(self, n: int, optimum: float) -> float:
        """Noiseless value of the best observed point among the first n, minus the optimum."""
        head = self.observed[:n]
        return self.true[int(np.argmin(head))] - optimum


def run_sweep(job: tuple[str, str, int, int]) -> Sweep:
    """One sequential sweep of a peer on a problem."""
    peer_name, problem_name, seed, n = job
    warnings.filterwarnings("ignore")  # the peers' deprecation chatter, once per sweep
    peer = make_peer(peer_name, PROBLEMS[problem_name].specs, seed, n)
    return drive(peer, peer_name, problem_name, seed, n)


def drive(peer: Any, peer_name: str, problem_name: str, seed: int, n: int) -> Sweep:
    """n rounds of ask, evaluate, tell, each suggestion timed."""
    problem = PROBLEMS[problem_name]
    sweep = Sweep(peer_name, problem_name, seed, [], [], [], [])
    configs = []
    for i in range(n):
        wall, cpu = time.perf_counter(), time.process_time()
        config = peer.ask()
        sweep.cpu.append(time.process_time() - cpu)
        sweep.wall.append(time.perf_counter() - wall)
        observed, true = problem.observe(config, seed, i)
        peer.tell(config, observed)
        configs.append(config)
        sweep.observed.append(observed)
        sweep.true.append(true)
    sweep.repeats, sweep.near, sweep.on_bound = closeness(problem, configs)
    return sweep


def closeness(problem: Problem, configs: list[dict[str, Any]]) -> tuple[list[int], ...]:
    """Indices of exact repeats, near-duplicates and on-bound suggestions, in sweepci's unit cube."""
    encoder = Encoder(Space.from_specs(problem.specs))
    points = np.array([encoder.encode(c) for c in configs])
    keys = [encoder.key(c) for c in configs]
    continuous = np.array(
        [not p.is_categorical and not p.is_integer for p in encoder.params], dtype=bool
    )[encoder.groups]
    repeats, near, bound = [], [], []
    for i in range(len(points)):
        if keys[i] in keys[:i]:
            repeats.append(i)
        if i and (np.abs(points[:i] - points[i]).max(1) <= NEAR).any():
            near.append(i)
        x = points[i][continuous]
        if ((x <= 1e-6) | (x >= 1 - 1e-6)).any():
            bound.append(i)
    return repeats, near, bound


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--problems", default=",".join(PROBLEMS), help="comma-separated")
    parser.add_argument("--peers", default=",".join(PEERS), help="comma-separated")
    parser.add_argument("--seeds", type=int, default=5, help="seeds 0..N-1 (default 5)")
    parser.add_argument("--n", default="30,100", help="budgets to score (default 30,100)")
    parser.add_argument("--smac-n", type=int, default=30, help="SMAC's budget (it is slow)")
    parser.add_argument("--jobs", type=int, default=2, help="parallel processes (default 2)")
    parser.add_argument("--record", type=Path, help="append every finished sweep to this JSONL")
    parser.add_argument(
        "--reuse", type=Path, help="take sweeps found in this JSONL instead of running them"
    )
    parser.add_argument(
        "--reuse-only",
        default="",
        help="comma-separated peers taken from --reuse and never run (a sweep not recorded there is left out)",
    )
    args = parser.parse_args(argv)
    problems = args.problems.split(",")
    budgets = sorted(int(n) for n in args.n.split(","))
    peers = []
    for name in args.peers.split(","):
        reason = missing(name)
        if reason:
            print(reason)
        else:
            peers.append(name)
    reused = load(args.reuse) if args.reuse else {}
    reuse_only = set(filter(None, args.reuse_only.split(",")))
    sweeps: dict[tuple[str, str, int], Sweep] = {}
    jobs = []
    for problem in problems:
        for seed in range(args.seeds):
            for peer in peers:
                n = min(budgets[-1], args.smac_n) if peer == "smac" else budgets[-1]
                key = (peer, problem, seed)
                if key in reused and len(reused[key].observed) >= n:
                    sweeps[key] = reused[key]
                elif peer not in reuse_only:
                    jobs.append((peer, problem, seed, n))
    started = time.perf_counter()
    # quick peers first (a long run can be cut short and still say something), BoTorch last
    cost = {"botorch": 3, "skopt": 2, "smac": 1}
    jobs.sort(key=lambda j: cost.get(j[0], 0))
    with ProcessPoolExecutor(args.jobs) as pool:
        futures = [pool.submit(run_sweep, job) for job in jobs]
        for future in as_completed(futures):
            sweep = future.result()
            sweeps[(sweep.peer, sweep.problem, sweep.seed)] = sweep
            if args.record:
                with args.record.open("a") as f:
                    f.write(json.dumps(asdict(sweep)) + "\n")
    print_regret(sweeps, problems, peers, budgets, args.seeds)
    print_latency(sweeps, problems, peers)
    print_closeness(sweeps, problems, peers, budgets[-1])
    note = f", {len(sweeps) - len(jobs)} sweeps taken from {args.reuse}" if reused else ""
    print(
        f"\n{len(jobs)} sweeps in {time.perf_counter() - started:.0f} s wall with {args.jobs} processes{note}"
    )
    return 0


def load(path: Path) -> dict[tuple[str, str, int], Sweep]:
    out = {}
    for line in path.read_text().splitlines():
        s = Sweep(**json.loads(line))
        out[(s.peer, s.problem, s.seed)] = s
    return out


def median_regret(sweeps: dict, peer: str, problem: str, n: int, seeds: int) -> float | None:
    runs = [sweeps.get((peer, problem, s)) for s in range(seeds)]
    if any(r is None or len(r.observed) < n for r in runs):
        return None
    return statistics.median(r.regret(n, PROBLEMS[problem].optimum) for r in runs)


def print_regret(
    sweeps: dict, problems: list[str], peers: list[str], budgets: list[int], seeds: int
) -> None:
    print(
        f"\nmedian simple regret over {seeds} seeds (noisy problem: noiseless value of the best observed point)"
    )
    header = f"{'problem':<26} {'n':>4} " + " ".join(f"{p:>10}" for p in peers)
    print(header)
    print("-" * len(header))
    summary = []
    for problem in problems:
        for n in budgets:
            values = {p: median_regret(sweeps, p, problem, n, seeds) for p in peers}
            cells = " ".join(
                f"{v:>10.3g}" if v is not None else f"{'-':>10}" for v in values.values()
            )
            print(f"{PROBLEMS[problem].label[:26]:<26} {n:>4} {cells}")
            rivals = {p: v for p, v in values.items() if p != "sweepci" and v is not None}
            if values.get("sweepci") is not None and rivals:
                best = min(rivals, key=rivals.get)
                summary.append((problem, n, values["sweepci"], best, rivals[best]))
    if not summary:
        return
    print(
        f"\nsweepci against the best peer of each cell (target: <= 1 everywhere, <= {STRICT_FACTOR} in 9 of 12)"
    )
    print(f"{'problem':<44} {'n':>4} {'sweepci':>10} {'best peer':>22} {'ratio':>6}  ok")
    met = strict = 0
    for problem, n, ours, best, theirs in summary:
        r = ours / theirs if theirs > 0 else (1.0 if ours <= 0 else math.inf)
        met += r <= 1.0
        strict += r <= STRICT_FACTOR
        mark = f"<={STRICT_FACTOR}" if r <= STRICT_FACTOR else ("<=1" if r <= 1 else "NO")
        print(
            f"{PROBLEMS[problem].label:<44} {n:>4} {ours:>10.3g} {best + ' ' + format(theirs, '.3g'):>22} {r:>6.2f}  {mark}"
        )
    print(
        f"cells at most the best peer: {met} of {len(summary)}; at most {STRICT_FACTOR}x: {strict} of {len(summary)}"
    )


def print_latency(sweeps: dict, problems: list[str], peers: list[str]) -> None:
    lo, hi = LATENCY_WINDOW
    print(f"\nsuggestion latency with {lo}-{hi - 1} trials, median, ms CPU (wall)")
    header = f"{'problem':<26} " + " ".join(f"{p:>14}" for p in peers)
    print(header)
    ratios = []
    for problem in problems:
        row = {}
        for p in peers:
            runs = [
                s
                for (q, pr, _), s in sweeps.items()
                if q == p and pr == problem and len(s.cpu) >= hi
            ]
            if runs:
                cpu = statistics.median(t for r in runs for t in r.cpu[lo:hi])
                wall = statistics.median(t for r in runs for t in r.wall[lo:hi])
                row[p] = (cpu, wall)
        cells = " ".join(
            f"{1000 * row[p][0]:>7.1f} ({1000 * row[p][1]:>4.0f})" if p in row else f"{'-':>14}"
            for p in peers
        )
        print(f"{PROBLEMS[problem].label[:26]:<26} {cells}")
        if "sweepci" in row and "optuna-gp" in row:
            ratios.append(row["sweepci"][0] / row["optuna-gp"][0])
    if ratios:
        print(
            "sweepci / Optuna GPSampler CPU time per suggestion: "
            + ", ".join(f"{r:.2f}" for r in ratios)
            + f" (target <= 0.5; worst {max(ratios):.2f})"
        )


def print_closeness(sweeps: dict, problems: list[str], peers: list[str], n: int) -> None:
    print(
        f"\nof {n} suggestions, over all problems and seeds: exact repeats, near-duplicates (within {NEAR:.0%} of every range), on a bound"
    )
    for p in peers:
        runs = [
            s
            for (q, pr, _), s in sweeps.items()
            if q == p and pr in problems and len(s.observed) >= n
        ]
        if not runs:
            continue
        total = len(runs) * n
        repeats = sum(len(r.repeats) for r in runs if PROBLEMS[r.problem].noise_sd == 0)
        near = sum(len(r.near) for r in runs) / total
        bound = sum(len(r.on_bound) for r in runs) / total
        stuck = [
            r
            for r in runs
            if r.problem.startswith("hartmann6") and r.regret(n, PROBLEMS[r.problem].optimum) > 0.1
        ]
        hartmann = [r for r in runs if r.problem.startswith("hartmann6")]
        line = f"  {p:<10} repeats {repeats:>4} (noiseless problems)  near-duplicates {near:5.2f}  on a bound {bound:5.2f}"
        if hartmann:
            line += f"  Hartmann-6 sweeps ending above regret 0.1: {len(stuck)} of {len(hartmann)}"
        print(line)


if __name__ == "__main__":
    sys.exit(main())
