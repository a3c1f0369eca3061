"""`--gpus` on the wandb backend: one W&B agent (W&B's own agent code) per GPU, each run
seeing its agent's device and tagged with it; a stand-in `nvidia-smi` and W&B API."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from tests.conftest import clean_env, make_repo, sweepci
from tests.servers.wandb_api import WandbStandIn, make_sdk_env
from tests.test_gpus import SWEEP, _smi

pytest_plugins = ["tests.servers.wandb_fixtures"]

PROBE = """\
import os, wandb
run = wandb.init()
run.log({"score": float(wandb.config.x)})
run.summary["cvd"] = os.environ.get("CUDA_VISIBLE_DEVICES", "")
run.finish()
"""


@pytest.mark.slow
def test_run_on_wandb_with_gpus_starts_one_wandb_agent_per_device(
    tmp_path: Path, wandb_server: WandbStandIn
) -> None:
    repo = make_repo(
        tmp_path / "vision-lab", branch="feature/gpu", files={"probe.py": PROBE, "s.yaml": SWEEP}
    )
    bin_dir = _smi(tmp_path / "bin", "printf '0\\n1\\n'")
    sdk = make_sdk_env(tmp_path / "sdk", wandb_server)
    sdk["PATH"] = f"{bin_dir}{os.pathsep}{sdk['PATH']}"
    env = clean_env(
        **sdk, SWEEPCI_WANDB_POLL="0.2", SWEEPCI_GPU_LOCK_DIR=str(tmp_path / "gpu-locks")
    )
    env.pop("CUDA_VISIBLE_DEVICES", None)

    proc = sweepci(
        "run", "s.yaml", "--backend", "wandb", "--gpus", "auto", "--count", "4", "--json",
        cwd=repo, env=env, timeout=600,
    )  # fmt: skip

    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "--gpus auto: 2 GPU(s) from nvidia-smi (0,1); 2 agent(s)" in proc.stderr
    runs = list(wandb_server.state.runs.values())
    assert len(runs) == 4, "the sweep's 4 runs, shared by the two agents"
    seen = set()
    for run in runs:
        gpu_tags = [t for t in run["tags"] if t.startswith("gpu:")]
        assert gpu_tags == [f"gpu:{run['summary']['cvd']}"], (gpu_tags, run["summary"])
        seen.add(run["summary"]["cvd"])
    assert seen == {"0", "1"}
    assert len(json.loads(proc.stdout)["runs"]) == 4
