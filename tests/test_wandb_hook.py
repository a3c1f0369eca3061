"""The start-up hook: what an unchanged script passes to wandb.log reaches the live file, row for row.

The child processes here load the hook the way site-packages does, from the
repository's own `sweepci-live.pth` (`site.addsitedir` on a folder holding a
copy), with the real wandb package offline. tests/e2e/ checks the same with
the .pth a real `pip install` of the wheel put in site-packages.
"""

from __future__ import annotations

import json
import math
import shutil
import subprocess
import sys
from pathlib import Path

from orchestrator.agent.channel import ChannelReader
from orchestrator.agent.wandb_files import read_run_dir
from tests.conftest import REPO_ROOT
from tests.test_wandb_files import wandb_env

SCRIPT = """\
import math, sys
import numpy as np
import wandb

run = wandb.init()
for i in range(6):
    wandb.log({"val/loss": 1.0 / (i + 1), "val": {"acc": i / 10}, "name": "x", "flag": True})
wandb.log({"a": np.float32(0.5)}, commit=False)      # merged into the next row
wandb.log({"a": 0.75, "b": np.int64(3)})
run.log({"late": 1.0}, step=10)                        # an explicit step opens a row ...
run.log({"late2": 2.0}, step=10)                       # ... that the same step joins
run.log({"dropped": 3.0}, step=4)                      # W&B drops an earlier step
run.log({"nan": math.nan, "inf": math.inf})           # no step: joins and commits row 10
run.log({"last": 1}, step=12)                          # open at the end: committed at finish
wandb.finish()
"""

LAUNCH = (
    "import runpy, site, sys; site.addsitedir(sys.argv[1]); "
    "sys.argv = sys.argv[2:]; runpy.run_path(sys.argv[0], run_name='__main__')"
)


def _site_with_hook(tmp: Path) -> Path:
    folder = tmp / "site"
    folder.mkdir(exist_ok=True)
    shutil.copy(REPO_ROOT / "sweepci-live.pth", folder / "sweepci-live.pth")
    return folder


def _run(tmp: Path, script: str, **env: str) -> subprocess.CompletedProcess:
    (tmp / "train.py").write_text(script)
    full = wandb_env(tmp, WANDB_RUN_ID="hookrun", PYTHONPATH=str(REPO_ROOT), **env)
    return subprocess.run(
        [sys.executable, "-c", LAUNCH, str(_site_with_hook(tmp)), str(tmp / "train.py")],
        env=full,
        cwd=tmp,
        capture_output=True,
        text=True,
        timeout=120,
    )


def _numeric(row: dict) -> dict:
    return {
        k: v
        for k, v in row.items()
        if (k == "_step" or not k.startswith("_"))
        and isinstance(v, (int, float))
        and not isinstance(v, bool)
    }


def test_hook_rows_equal_the_history_wandb_recorded(tmp_path: Path) -> None:
    live = tmp_path / "wandb-log.jsonl"
    proc = _run(tmp_path, SCRIPT, SWEEPCI_WANDB_LOG_FILE=str(live))
    assert proc.returncode == 0, proc.stderr[-3000:]
    reader = ChannelReader(live)
    rows = [row for batch in reader.drain() for row in batch]
    assert reader.skipped == 0
    recorded = read_run_dir(tmp_path / "runs", "hookrun")
    assert recorded is not None
    expected = [_numeric(row) for row in recorded.history]
    expected = [row for row in expected if len(row) > 1]
    got = [_numeric(row) for row in rows]
    # NaN != NaN: compare those keys apart
    for row in got + expected:
        for key in ("nan", "inf"):
            if key in row:
                assert not math.isfinite(row.pop(key))
    assert got == expected
    # the NaN/inf log (no step) joins the open row of step 10 and commits it
    assert [r["_step"] for r in got] == [0, 1, 2, 3, 4, 5, 6, 10, 12]
    assert got[6] == {"a": 0.75, "b": 3.0, "_step": 6}
    assert got[7] == {"late": 1.0, "late2": 2.0, "_step": 10}
    assert got[0] == {"val/loss": 1.0, "val.acc": 0.0, "_step": 0}


def test_without_the_variable_the_hook_does_nothing_and_imports_nothing(tmp_path: Path) -> None:
    probe = "import sys; print(sorted(m for m in ('wandb', 'orchestrator') if m in sys.modules))\n"
    proc = _run(tmp_path, probe)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "[]"
    # armed, it still imports neither: wandb only when the script does
    armed = _run(tmp_path, probe, SWEEPCI_WANDB_LOG_FILE=str(tmp_path / "x.jsonl"))
    assert armed.stdout.strip() == "['orchestrator']"
    assert not (tmp_path / "x.jsonl").exists()


def test_the_hook_never_changes_what_the_script_sees(tmp_path: Path) -> None:
    script = """\
import wandb
run = wandb.init()
try:
    wandb.log(["not", "a", "dict"])
except TypeError as exc:
    print("TypeError", exc)
wandb.log({"ok": 1.0})
print(type(wandb.sdk.wandb_run.Run._log).__name__)
wandb.finish()
"""
    live = tmp_path / "wandb-log.jsonl"
    unwritable = _run(tmp_path, script, SWEEPCI_WANDB_LOG_FILE=str(tmp_path / "no" / "dir.jsonl"))
    assert unwritable.returncode == 0, unwritable.stderr  # a file it cannot write: no harm
    proc = _run(tmp_path, script, SWEEPCI_WANDB_LOG_FILE=str(live))
    assert proc.returncode == 0, proc.stderr
    assert "TypeError wandb.log must be passed a dictionary" in proc.stdout
    assert [json.loads(line) for line in live.read_text().splitlines()] == [{"ok": 1.0, "_step": 0}]
