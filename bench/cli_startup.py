"""Startup time of `sweepci --help`, against `python -c "import click"`.

Anchor, measured in the same run and interleaved with the subject: a Python
process that only imports click (the least any click CLI can cost). Prints
the median of each and their ratio, then which heavy modules `--help`
imports, with the import chain that pulls each one in.

    python bench/cli_startup.py [--repeat 10]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import time

from _util import env, ratio_line

HEAVY = ("numpy", "scipy", "pydantic", "yaml", "git", "wandb", "sklearn", "matplotlib")


def sweepci_command() -> list[str]:
    """The installed console script next to this interpreter, else `python -m orchestrator`."""
    script = shutil.which("sweepci", path=os.path.dirname(sys.executable))
    return [script] if script else [sys.executable, "-m", "orchestrator"]


def timed(cmd: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(cmd, env=env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
    return time.perf_counter() - start


def import_chains(cmd_args: list[str]) -> dict[str, list[str]]:
    """Heavy top-level packages imported by `sweepci ARGS`, each with the chain that imports it.

    `-X importtime` prints a module after everything it imports, indented by
    depth, so a module's importer is the next line with less indentation.
    """
    proc = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "orchestrator", *cmd_args],
        env=env(),
        capture_output=True,
        text=True,
    )
    rows = []
    for line in proc.stderr.splitlines():
        if not line.startswith("import time:") or "|" not in line or "imported package" in line:
            continue
        name_part = line.rsplit("|", 1)[1]
        name = name_part.strip()
        depth = (len(name_part) - len(name_part.lstrip())) // 2
        rows.append((depth, name))
    chains: dict[str, list[str]] = {}
    for i, (depth, name) in enumerate(rows):
        # the package's own line (printed after its submodules), not the first submodule's
        if name not in HEAVY or name in chains:
            continue
        chain, level = [name], depth
        for d, importer in rows[i + 1 :]:
            if d < level:
                chain.append(importer)
                level = d
        chains[name] = list(reversed(chain))
    return chains


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=10)
    args = parser.parse_args()

    subject = [*sweepci_command(), "--help"]
    anchor = [sys.executable, "-c", "import click"]
    timed(subject), timed(anchor)  # warm the file cache
    ours, base = [], []
    for _ in range(args.repeat):
        ours.append(timed(subject))
        base.append(timed(anchor))
    print(
        ratio_line(
            "sweepci --help (median)",
            statistics.median(ours),
            "import click",
            statistics.median(base),
        )
    )

    chains = import_chains(["--help"])
    print(
        f"heavy modules imported by `sweepci --help`: {', '.join(sorted(chains)) or 'none'}"
        f" (checked: {', '.join(HEAVY)})"
    )
    for top, chain in sorted(chains.items()):
        print(f"  {top}: {' -> '.join(chain)}")


if __name__ == "__main__":
    main()
