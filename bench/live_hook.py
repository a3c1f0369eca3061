"""Cost of the wandb.log start-up hook (orchestrator/agent/wandb_hook.py) per logged step.

Anchor, measured in the same process and interleaved with the subject: bare
offline `wandb.log`. A fresh interpreter loads the hook the way
site-packages does (`site.addsitedir` on a folder holding
`sweepci-live.pth`, SWEEPCI_WANDB_LOG_FILE set), calls `wandb.init()`, and
then logs `--steps` steps (two metrics each) in blocks of 10, switching
`Run._log` between the hook's wrapper and the wrapped original at every
block, so both modes share the same run, the same wandb-core process and
the same load on the machine. Prints each mode's time per step, the cost
the hook adds as a ratio to a bare `wandb.log`, and what that adds to a
whole script that logs `--steps` steps (start-up, init, loop and finish
timed from outside on an unhooked run).

    OMP_NUM_THREADS=1 nice -n 19 python bench/live_hook.py [--steps 1000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _util import ROOT, env

SCRIPT = """\
import json, sys, time
import wandb
from wandb.sdk.wandb_run import Run

steps, block = int(sys.argv[1]), 10
hooked = Run._log
bare = getattr(hooked, "__wrapped__", None)
assert bare is not None, "the hook is not armed"
from orchestrator.agent import wandb_hook

inside = [0.0]
logged = wandb_hook.Recorder.logged


def timed_logged(self, *args):
    start = time.perf_counter()
    logged(self, *args)
    inside[0] += time.perf_counter() - start


wandb_hook.Recorder.logged = timed_logged
run = wandb.init()
spent = {"bare": 0.0, "hooked": 0.0}
i = 0
for b in range(2 * steps // block):
    mode = ("bare", "hooked")[b % 2] if (b // 2) % 2 == 0 else ("hooked", "bare")[b % 2]
    Run._log = bare if mode == "bare" else hooked
    start = time.perf_counter()
    for _ in range(block):
        wandb.log({"val/loss": 1.0 / (i + 1), "epoch": i})
        i += 1
    spent[mode] += time.perf_counter() - start
Run._log = hooked
wandb.finish()
spent["recorder"] = inside[0]
print(json.dumps(spent))
"""

LAUNCH = (
    "import runpy, site, sys; site.addsitedir(sys.argv[1]); "
    "sys.argv = sys.argv[2:]; runpy.run_path(sys.argv[0], run_name='__main__')"
)


def child_env(work: Path, run_dir: Path, hooked: bool) -> dict[str, str]:
    (run_dir / "wandb").mkdir(parents=True)
    child = env()
    child.update(
        WANDB_MODE="offline",
        WANDB_SILENT="true",
        WANDB_DIR=str(run_dir),
        HOME=str(work / "home"),
        WANDB_CONFIG_DIR=str(work / "home"),
        WANDB_CACHE_DIR=str(work / "home"),
    )
    if hooked:
        child["SWEEPCI_WANDB_LOG_FILE"] = str(run_dir / "wandb-log.jsonl")
    return child


def interleaved(work: Path, steps: int, index: int) -> dict[str, float]:
    """Seconds spent in `steps` bare and `steps` hooked wandb.log calls of one run."""
    run_dir = work / f"run{index}"
    out = subprocess.run(
        [sys.executable, "-c", LAUNCH, str(work / "site"), str(work / "train.py"), str(steps)],
        env=child_env(work, run_dir, hooked=True),
        capture_output=True,
        text=True,
        check=True,
    )
    rows = (run_dir / "wandb-log.jsonl").read_text().splitlines()
    assert len(rows) == steps, f"the hook wrote {len(rows)} rows for {steps} hooked steps"
    return json.loads(out.stdout.strip().splitlines()[-1])


def whole_script(work: Path, steps: int, index: int) -> float:
    """Wall time of an unhooked script that logs `steps` steps, start to exit."""
    run_dir = work / f"whole{index}"
    (work / "plain.py").write_text(
        "import sys, wandb\nrun = wandb.init()\n"
        "for i in range(int(sys.argv[1])):\n    wandb.log({'val/loss': 1.0 / (i + 1), 'epoch': i})\n"
        "wandb.finish()\n"
    )
    start = time.perf_counter()
    subprocess.run(
        [sys.executable, str(work / "plain.py"), str(steps)],
        env=child_env(work, run_dir, hooked=False),
        capture_output=True,
        check=True,
    )
    return time.perf_counter() - start


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="sweepci-bench-hook-"))
    try:
        (work / "site").mkdir()
        (work / "home").mkdir()
        shutil.copy(ROOT / "sweepci-live.pth", work / "site" / "sweepci-live.pth")
        (work / "train.py").write_text(SCRIPT)
        runs = [interleaved(work, args.steps, i) for i in range(args.repeat)]
        wholes = [whole_script(work, args.steps, i) for i in range(args.repeat)]
    finally:
        shutil.rmtree(work, ignore_errors=True)
    bare = statistics.median(r["bare"] for r in runs) / args.steps
    hooked = statistics.median(r["hooked"] for r in runs) / args.steps
    added = hooked - bare
    direct = statistics.median(r["recorder"] for r in runs) / args.steps
    spread = sorted((r["hooked"] - r["bare"]) / args.steps * 1e6 for r in runs)
    whole = statistics.median(wholes)
    print(f"{args.steps} steps per mode, median of {args.repeat} runs (blocks of 10, alternating)")
    print(f"bare wandb.log (anchor)   {bare * 1e6:8.1f} us per step")
    print(
        f"wandb.log with the hook   {hooked * 1e6:8.1f} us per step   ratio {hooked / bare:5.3f}x"
    )
    print(
        f"difference                {added * 1e6:8.1f} us per step = {added / bare:+.1%} of a bare "
        f"wandb.log (per run: {', '.join(f'{d:.0f}' for d in spread)} us; noisy under load)"
    )
    print(
        f"the hook's own code       {direct * 1e6:8.1f} us per step = {direct / bare:+.1%} of a bare "
        "wandb.log (timed inside the hooked calls)"
    )
    for name, cost in (("difference", added), ("hook's own code", direct)):
        print(
            f"a script logging {args.steps} steps takes {whole:.2f} s unhooked; by the {name} the "
            f"hook adds {cost * args.steps:.3f} s = {cost * args.steps / whole:+.1%} (goal: at most +5%)"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
