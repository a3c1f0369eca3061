"""Print the reliability suite's figures: `python -m tests.reliability.figures`.

Each test of tests/reliability records its figures under
.pytest_cache/d/sweepci-reliability/ (see conftest.py). Counts are summed over
tests, throughput is the lowest seen. Run the suite first:
`python -m pytest -q -n 2 --dist loadfile tests/reliability`.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
FOLDER = ROOT / ".pytest_cache" / "d" / "sweepci-reliability"
ROWS = [
    ("bad_inputs", "bad inputs tried (sweep files, project files, stores, events, arguments)"),
    ("bad_input_tracebacks", "tracebacks / internal errors on bad input"),
    ("bad_input_writes", "bad inputs that wrote or changed a file"),
    ("faults", "faults injected (SIGKILL, disk full, lock, hang, flood, clock jump)"),
    ("runs_lost", "finished runs lost after resume"),
    ("runs_twice", "runs done twice (duplicates)"),
    ("orphans", "orphan processes left"),
    ("foreign_signals", "processes not the run's that were signalled (pid / group reuse)"),
    ("load_runs", "runs in the load test (8 agents, one store)"),
    ("runs_per_s", "load throughput, runs/s (lowest seen)"),
    ("secret_places", "places searched for the canary secrets (files, outputs, store bytes)"),
    ("leaks", "canary secret found (leaks)"),
    ("injection_inputs", "injection payloads tried"),
    ("injections", "payloads that reached a shell or the workflow command stream"),
    (
        "untrusted_runs",
        "untrusted workflow runs offered as baseline (fork, pull request, other event)",
    ),
    ("untrusted_used", "untrusted runs whose artifact was used"),
    ("workflows_linted", "workflows linted (actionlint + zizmor)"),
]


def collect(folder: Path = FOLDER) -> dict[str, float]:
    totals: dict[str, float] = {}
    for path in sorted(folder.glob("*.json")):
        for name, value in json.loads(path.read_text())["figures"].items():
            if name == "runs_per_s":
                totals[name] = min(totals.get(name, value), value)
            else:
                totals[name] = totals.get(name, 0) + value
    return totals


def main() -> int:
    totals = collect()
    if not totals:
        print(f"no figures under {FOLDER}; run the reliability suite first", file=sys.stderr)
        return 1
    print("| figure | value |\n|---|---|")
    for key, label in ROWS:
        if key in totals:
            value = totals[key]
            print(
                f"| {label} | {value:.1f} |"
                if key == "runs_per_s"
                else f"| {label} | {int(value)} |"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
