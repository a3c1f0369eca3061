"""Whatever a program writes to its live metrics files never crashes the agent or loses a result.

Issue 16's metrics-line class: one odd line used to raise an internal error
(the run stayed `running`, every resume crashed again), and the agent read
the whole file into memory. Each program below writes bad lines of every kind
into `$SWEEPCI_METRICS_FILE` and into the wandb hook's file; the run must end
in its real state with its result, with one warning line per file, and the
agent's memory must not follow the file's size.
"""

from __future__ import annotations

import json
import sqlite3
import tracemalloc
from pathlib import Path

from orchestrator.agent.livemetrics import LiveMetrics
from tests.conftest import clean_env, make_repo, sweepci

BAD_LINES = [
    "[1, 2]",
    '"just a string"',
    "not json at all",
    '{"step": NaN, "metrics": {"score": 0.5}}',
    '{"step": Infinity, "metrics": {"score": 0.5}}',
    '{"step": "3", "metrics": {"score": 0.5}}',
    '{"_step": -4, "score": 0.5}',
    '{"_step": 1.5, "score": 0.5}',
    '{"metrics": [1]}',
    "{}",
    '{"a": ' * 5000 + "1" + "}" * 5000,
    '{"pad": "' + "z" * 200_000 + '"}',
    "\x00\x01\x1b[31m",
]

PROGRAM = """\
import json, os, sys
lines = json.loads(open("bad.json").read())
for target in (os.environ["SWEEPCI_METRICS_FILE"], os.environ["SWEEPCI_WANDB_LOG_FILE"]):
    with open(target, "a") as fh:
        fh.write(json.dumps({"step": 0, "metrics": {"score": 0.25}}) + "\\n")
        for line in lines:
            fh.write(line + "\\n")
        fh.write(json.dumps({"score": 0.75, "_step": 1}) + "\\n")
        fh.write('{"score": 0.')  # cut off mid-line
sys.exit(int(os.environ.get("EXIT", "0")))
"""

SWEEP = """\
method: grid
program: prog.py
metric: {name: score, goal: maximize}
parameters:
  x: {values: [1]}
"""


def _runs(repo: Path) -> list[sqlite3.Row]:
    conn = sqlite3.connect(repo / ".sweepci" / "sweepci.db")
    conn.row_factory = sqlite3.Row
    try:
        return conn.execute("SELECT state, metric_value, summary_json FROM runs").fetchall()
    finally:
        conn.close()


def test_bad_metrics_lines_are_skipped_counted_and_the_result_kept(tmp_path: Path, figures) -> None:
    repo = make_repo(
        tmp_path / "p",
        branch="feature/x",
        files={"prog.py": PROGRAM, "s.yaml": SWEEP, "bad.json": json.dumps(BAD_LINES)},
    )
    proc = sweepci("run", "s.yaml", cwd=repo, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr and "internal error" not in proc.stderr
    (run,) = _runs(repo)
    assert run["state"] == "finished"
    assert run["metric_value"] == 0.75  # the last good value: the summary W&B would show
    warnings = [line for line in proc.stderr.splitlines() if "skipped" in line]
    # one line per file, naming the count; no raw control character reaches the terminal
    assert len(warnings) == 2, proc.stderr
    n = len(BAD_LINES) + 1  # and the unfinished last line
    assert all(f"{n} line(s) of" in w for w in warnings)
    assert not any(c in proc.stderr for c in "\x00\x01\x1b")
    # a resume of the finished sweep does not trip over the same file again
    again = sweepci("run", "--resume", "latest", cwd=repo, timeout=60)
    assert "Traceback" not in again.stderr
    figures(bad_inputs=2 * n, bad_input_tracebacks=0)


def test_a_failing_run_with_bad_lines_ends_failed_not_running(tmp_path: Path, figures) -> None:
    repo = make_repo(
        tmp_path / "p",
        branch="feature/x",
        files={"prog.py": PROGRAM, "s.yaml": SWEEP, "bad.json": json.dumps(BAD_LINES)},
    )
    proc = sweepci("run", "s.yaml", cwd=repo, timeout=120)
    assert proc.returncode == 0
    proc = sweepci("run", "s.yaml", cwd=repo, env=clean_env(EXIT="3"), timeout=120)
    assert proc.returncode == 1, proc.stderr
    assert "Traceback" not in proc.stderr
    states = sorted(r["state"] for r in _runs(repo))
    assert states == ["failed", "finished"]
    figures(bad_inputs=len(BAD_LINES) + 1, runs_lost=0)


def test_memory_stays_bounded_whatever_the_metrics_file_holds(tmp_path: Path, figures) -> None:
    """A 64 MiB file of long lines, a 16 MiB line never finished, and 200k good lines."""
    path = tmp_path / "metrics.jsonl"
    junk = b'{"pad": "' + b"q" * (1 << 20) + b'"}\n'
    with open(path, "wb") as fh:
        for _ in range(64):
            fh.write(junk)
        good = b"".join(b'{"loss": %d, "k%d": 1}\n' % (i, i % 50_000) for i in range(200_000))
        fh.write(good)
        fh.write(b'{"pad": "' + b"w" * (16 << 20))
    size = path.stat().st_size
    tracemalloc.start()
    try:
        live = LiveMetrics(tmp_path, "loss", bands={1, 3, 9})
        for _ in range(20):
            live.update()
        live.finish()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    trace = live.trace()
    assert trace.n == 200_000 and trace.latest == 199_999.0 and trace.at[9] == 8.0
    assert live.channel.reader.skipped == 65
    # bounded by the reader's chunk and line limits and the kept rows, not by the file
    assert peak < 48 * (1 << 20) < size, (peak, size)
    assert len(live.history()) < 10_000
    figures(faults=1)
