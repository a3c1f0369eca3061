"""One agent per GPU: 4 agents on 4 stand-in devices against one agent on one device.

A stand-in `nvidia-smi` on PATH reports 4 GPUs (there is no GPU here; the runs only
sleep, as a GPU-bound run leaves the CPU mostly idle). Anchor, measured in the same
run: the same sweep of 1-second runs with one agent (`--gpus 1`). Target: 4 agents
(`--gpus auto`) in at most 0.30x the anchor's time. Also checks, from what the runs
saw, that no device ever ran two runs at once.

    OMP_NUM_THREADS=1 nice -n 19 python bench/gpu_agents.py [--n 40] [--quick]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _util import env, git_repo, ratio_line

SLEEP = """\
import json, os, time
start = time.time()
time.sleep(1.0)
with open(os.path.join(os.environ["SEEN_DIR"], os.environ["WANDB_RUN_ID"]), "w") as fh:
    json.dump([os.environ.get("CUDA_VISIBLE_DEVICES"), start, time.time()], fh)
"""


def sweep(repo: Path, n: int, gpus: str, bin_dir: Path, seen: Path) -> float:
    (repo / "s.yaml").write_text(
        "method: random\nprogram: sleep.py\nparameters:\n  x: {min: 0, max: 1000000}\n"
    )
    run_env = dict(
        env(),
        PATH=f"{bin_dir}{os.pathsep}{os.environ['PATH']}",
        SEEN_DIR=str(seen),
        SWEEPCI_GPU_LOCK_DIR=str(repo / "locks"),
    )
    run_env.pop("CUDA_VISIBLE_DEVICES", None)
    store = f"gpus-{gpus}-{time.time()}.db"
    argv = [sys.executable, "-m", "orchestrator", "run", "s.yaml", "--count", str(n)]
    argv += ["--gpus", gpus, "--quiet", "--store", store]
    start = time.perf_counter()
    subprocess.run(argv, cwd=repo, env=run_env, check=True, capture_output=True)
    return time.perf_counter() - start


def shared_devices(seen: Path) -> int:
    """Pairs of runs that overlapped in time on one device (must be 0)."""
    spans: dict[str, list[tuple[float, float]]] = {}
    for p in seen.iterdir():
        device, start, end = json.loads(p.read_text())
        spans.setdefault(device, []).append((start, end))
    clashes = 0
    for runs in spans.values():
        runs.sort()
        clashes += sum(b[0] < a[1] for a, b in zip(runs, runs[1:]))
    return clashes


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=40, help="runs per sweep")
    ap.add_argument("--quick", action="store_true", help="12 runs per sweep")
    args = ap.parse_args()
    n = 12 if args.quick else args.n
    repo = git_repo({"sleep.py": SLEEP})
    bin_dir = Path(tempfile.mkdtemp(prefix="sweepci-bench-bin-"))
    smi = bin_dir / "nvidia-smi"
    smi.write_text("#!/bin/sh\nprintf '0\\n1\\n2\\n3\\n'\n")
    smi.chmod(0o755)
    seen_one, seen_four = repo / "seen-1", repo / "seen-4"
    seen_one.mkdir()
    seen_four.mkdir()
    one = sweep(repo, n, "1", bin_dir, seen_one)
    four = sweep(repo, n, "auto", bin_dir, seen_four)
    devices = sorted({json.loads(p.read_text())[0] for p in seen_four.iterdir()})
    print(f"one agent per GPU, {n} runs of a 1 s program, stand-in nvidia-smi with 4 GPUs")
    print(ratio_line("4 agents (--gpus auto)", four, "1 agent (--gpus 1)", one, "<= 0.30x"))
    print(
        f"  devices used: {','.join(devices)}; runs sharing a device at once: "
        f"{shared_devices(seen_four)} (4 agents), {shared_devices(seen_one)} (1 agent)"
    )


if __name__ == "__main__":
    main()
