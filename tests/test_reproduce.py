"""`sweepci reproduce RUN` on the local backend: real git repositories, real runs."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

from tests.conftest import clean_env, git, make_repo, sweepci

# deterministic: the metrics follow from the config alone
DETERMINISTIC = """import json, os, sys
x = int(sys.argv[1].split("=")[1])
with open(os.environ["SWEEPCI_METRICS_FILE"], "a") as out:
    out.write(json.dumps({"metrics": {"f1": x / 7, "loss": 1 - x / 9}}) + "\\n")
"""
# the result depends on a file outside git (its path from the environment)
READS_DATA = """import json, os
value = float(open(os.environ["REPRO_DATA"]).read())
with open(os.environ["SWEEPCI_METRICS_FILE"], "a") as out:
    out.write(json.dumps({"metrics": {"f1": value}}) + "\\n")
"""
# the result depends on an ignored file in the checkout, which a fresh checkout lacks
READS_IGNORED = """import json, os
value = float(open("data/value.txt").read())
with open(os.environ["SWEEPCI_METRICS_FILE"], "a") as out:
    out.write(json.dumps({"metrics": {"f1": value}}) + "\\n")
"""
# an unseeded random number (f1), a deterministic one (x_seen)
UNSEEDED = """import json, os, random, sys
x = int(sys.argv[1].split("=")[1])
with open(os.environ["SWEEPCI_METRICS_FILE"], "a") as out:
    out.write(json.dumps({"metrics": {"f1": random.random(), "x_seen": x}}) + "\\n")
"""
# the command uses W&B's macros: the rerun must expand them as the agent did
SWEEP = (
    "method: grid\nprogram: p.py\nmetric: {name: f1, goal: maximize}\n"
    'command: ["${env}", "${interpreter}", "${program}", "${args_no_hyphens}"]\n'
    "parameters:\n  x: {values: [3]}\n"
)


def _project(tmp_path: Path, program: str, branch: str = "feature/x") -> tuple[Path, Path]:
    repo = make_repo(tmp_path / "proj", branch=branch, files={"p.py": program, "s.yaml": SWEEP})
    return repo, tmp_path / "store.db"


def _run_once(repo: Path, store: Path, env: dict[str, str] | None = None, *args: str) -> dict:
    proc = sweepci("run", "s.yaml", "--store", str(store), "--json", *args, cwd=repo, env=env)
    assert proc.returncode == 0, proc.stderr
    (run,) = json.loads(proc.stdout)["runs"]
    return run


def _commit(repo: Path, name: str, text: str) -> str:
    (repo / name).write_text(text)
    git(repo, "add", name)
    git(repo, "commit", "-qm", f"change {name}")
    return git(repo, "rev-parse", "HEAD")


def _checkout_state(repo: Path) -> tuple[str, bytes, str, str]:
    return (
        git(repo, "status", "--porcelain"),
        (repo / ".git" / "index").read_bytes(),
        git(repo, "rev-parse", "HEAD"),
        git(repo, "worktree", "list", "--porcelain"),
    )


def test_a_deterministic_run_reproduces_from_a_later_commit_without_touching_the_checkout(
    tmp_path: Path,
) -> None:
    repo, store = _project(tmp_path, DETERMINISTIC)
    sha = git(repo, "rev-parse", "HEAD")
    original = _run_once(repo, store, None, "--seed", "7")
    _commit(repo, "p.py", DETERMINISTIC.replace("x / 7", "x / 8"))  # later code gives other values
    (repo / "p.py").write_text(DETERMINISTIC.replace("x / 7", "x / 5"))  # and an uncommitted edit
    (repo / "notes.txt").write_text("untracked\n")
    before = _checkout_state(repo)
    proc = sweepci("reproduce", original["id"], "--store", str(store), cwd=repo)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert _checkout_state(repo) == before  # tree, index, HEAD and worktrees as they were
    assert f"original   {original['id']} at {sha}: finished" in proc.stdout
    lines = proc.stdout.splitlines()
    f1 = next(line for line in lines if line.startswith("f1 ")).split()
    assert f1[1] == f1[2] == f"{3 / 7:.10g}" and f1[-1] == "ok"
    assert "reproduced: 2 metric(s) within rtol=1e-06, atol=1e-09" in proc.stdout
    # the rerun is in the store, linked to the original, and ran the original's commit
    shown = json.loads(
        sweepci("show", original["id"], "--store", str(store), "--json", cwd=repo).stdout
    )
    (again,) = shown["reproduced_by"]
    rerun = json.loads(
        sweepci("show", again["id"], "--store", str(store), "--json", cwd=repo).stdout
    )
    assert rerun["reproduces"] == original["id"] and rerun["commit"]["sha"] == sha
    assert rerun["config"] == original["config"] and rerun["state"] == "finished"
    assert f"reproduces:{original['id']}" in rerun["tags"] and "trigger:reproduce" in rerun["tags"]
    assert rerun["sweep"]["reproduction"] is True
    sweeps = json.loads(sweepci("sweeps", "--store", str(store), "--json", cwd=repo).stdout)
    by_id = {s["id"]: s for s in sweeps}
    assert by_id[rerun["sweep"]["id"]]["seed"] == by_id[original["sweep_id"]]["seed"] == 7
    # nothing of the temporary checkout is left
    assert not list(Path(clean_env().get("TMPDIR", "/tmp")).glob("sweepci-reproduce-*/tree/p.py"))


def test_a_result_from_a_data_file_outside_git_that_changed_is_not_reproduced(
    tmp_path: Path,
) -> None:
    repo, store = _project(tmp_path, READS_DATA)
    data = tmp_path / "data.txt"
    data.write_text("0.75\n")
    env = clean_env(REPRO_DATA=str(data))
    original = _run_once(repo, store, env)
    data.write_text("0.5\n")  # the data changed since; the code did not
    proc = sweepci("reproduce", original["id"], "--store", str(store), "--json", cwd=repo, env=env)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    result = json.loads(proc.stdout)
    assert result["reproduced"] is False
    (f1,) = result["metrics"]
    assert (f1["name"], f1["original"], f1["again"], f1["within"]) == ("f1", 0.75, 0.5, False)
    assert f1["difference"] == -0.25 and abs(f1["relative"] + 1 / 3) < 1e-12
    text = sweepci("reproduce", original["id"], "--store", str(store), cwd=repo, env=env)
    assert text.returncode == 1 and "NOT reproduced (rtol=1e-06, atol=1e-09): f1" in text.stdout
    assert "DIFFERS" in text.stdout
    # a loose enough tolerance accepts it
    loose = sweepci(
        "reproduce", original["id"], "--atol", "0.3", "--store", str(store), cwd=repo, env=env
    )
    assert loose.returncode == 0, loose.stdout + loose.stderr


def test_an_ignored_data_file_missing_from_the_commit_makes_the_rerun_fail(tmp_path: Path) -> None:
    repo, store = _project(tmp_path, READS_IGNORED)
    (repo / ".gitignore").write_text(".sweepci/\nwandb/\ndata/\n")
    git(repo, "commit", "-qam", "ignore data")
    (repo / "data").mkdir()
    (repo / "data" / "value.txt").write_text("0.9\n")
    original = _run_once(repo, store)
    proc = sweepci("reproduce", original["id"], "--store", str(store), cwd=repo)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "rerun      " in proc.stdout and ": failed (exit code 1)" in proc.stdout
    assert "FileNotFoundError" in proc.stdout  # the rerun's stderr says why
    assert "NOT reproduced (rtol=1e-06, atol=1e-09): state finished -> failed, f1" in proc.stdout


def test_an_unseeded_random_number_is_not_reproduced_but_a_chosen_metric_is(
    tmp_path: Path,
) -> None:
    repo, store = _project(tmp_path, UNSEEDED)
    original = _run_once(repo, store)
    proc = sweepci("reproduce", original["id"], "--store", str(store), "--json", cwd=repo)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    by_name = {m["name"]: m for m in json.loads(proc.stdout)["metrics"]}
    assert [m["name"] for m in json.loads(proc.stdout)["metrics"]] == ["f1", "x_seen"]
    assert by_name["f1"]["within"] is False and by_name["x_seen"]["within"] is True
    assert by_name["f1"]["difference"] == by_name["f1"]["again"] - by_name["f1"]["original"]
    only = sweepci(
        "reproduce", original["id"], "--metric", "x_seen", "--store", str(store), cwd=repo
    )
    assert only.returncode == 0, only.stdout + only.stderr
    assert "x_seen" in only.stdout and "\nf1 " not in only.stdout
    unknown = sweepci(
        "reproduce", original["id"], "--metric", "auc", "--store", str(store), cwd=repo
    )
    assert unknown.returncode == 2 and unknown.stderr.count("\n") == 1
    assert (
        "--metric auc: the original run has no such metric (it has: f1, x_seen)" in unknown.stderr
    )


def test_a_commit_missing_from_the_repository_is_one_line_naming_the_fetch(
    tmp_path: Path,
) -> None:
    repo, store = _project(tmp_path, DETERMINISTIC)
    clone = tmp_path / "clone"
    git(tmp_path, "clone", "-q", str(repo), str(clone))
    sha = _commit(repo, "p.py", DETERMINISTIC + "# a commit the clone never fetched\n")
    original = _run_once(repo, store)
    rows_before = sqlite3.connect(store).execute("SELECT COUNT(*) FROM runs").fetchone()[0]
    before = _checkout_state(clone)
    proc = sweepci("reproduce", original["id"], "--store", str(store), cwd=clone)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert proc.stderr.count("\n") == 1 and "Traceback" not in proc.stderr
    assert f"commit {sha} of run {original['id']} is not in the repository" in proc.stderr
    assert f"fetch it first: git fetch origin {sha}" in proc.stderr
    assert _checkout_state(clone) == before
    assert sqlite3.connect(store).execute("SELECT COUNT(*) FROM runs").fetchone()[0] == rows_before


def test_a_recorded_commit_is_untrusted_and_must_be_a_full_sha(tmp_path: Path) -> None:
    repo, store = _project(tmp_path, DETERMINISTIC)
    original = _run_once(repo, store)
    for forged in ["--output=pwned", "HEAD", "abc123", "A" * 40, ""]:
        with sqlite3.connect(store) as conn:
            conn.execute("UPDATE runs SET sha = ? WHERE id = ?", (forged or None, original["id"]))
        proc = sweepci("reproduce", original["id"], "--store", str(store), cwd=repo)
        assert proc.returncode == 2, (forged, proc.stdout, proc.stderr)
        assert proc.stderr.count("\n") == 1 and "Traceback" not in proc.stderr
        expected = "no recorded commit" if not forged else "not a full hex sha"
        assert expected in proc.stderr, (forged, proc.stderr)
    assert not (repo / "pwned").exists()


def test_a_run_from_uncommitted_changes_needs_dirty_which_is_recorded(tmp_path: Path) -> None:
    repo, store = _project(tmp_path, DETERMINISTIC)
    (repo / "s.yaml").write_text(SWEEP + "# edited, not committed\n")
    original = _run_once(repo, store)
    refused = sweepci("reproduce", original["id"], "--store", str(store), cwd=repo)
    assert refused.returncode == 2 and "pass --dirty" in refused.stderr
    assert refused.stderr.count("\n") == 1
    proc = sweepci(
        "reproduce", original["id"], "--dirty", "--store", str(store), "--json", cwd=repo
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    result = json.loads(proc.stdout)
    assert result["rerun"]["dirty"] is True
    assert any("uncommitted changes" in note for note in result["notes"])
    sweeps = json.loads(sweepci("sweeps", "--store", str(store), "--json", cwd=repo).stdout)
    (again,) = [s for s in sweeps if s["flags"].get("reproduces") == original["id"]]
    assert again["flags"]["dirty"] is True
    # a reproduction sweep takes no further runs: an agent would search, in this checkout
    count = sqlite3.connect(store).execute("SELECT COUNT(*) FROM runs").fetchone()[0]
    for args in (["run", "--resume", again["id"]], ["agent", again["id"]]):
        proc = sweepci(*args, "--count", "1", "--store", str(store), cwd=repo)
        assert proc.returncode == 2 and "takes no more runs" in proc.stderr, proc.stderr
    assert sqlite3.connect(store).execute("SELECT COUNT(*) FROM runs").fetchone()[0] == count


def test_unknown_runs_and_places_are_one_line_errors(tmp_path: Path) -> None:
    repo, store = _project(tmp_path, DETERMINISTIC)
    original = _run_once(repo, store)
    for args, cwd, expected in [
        (["nosuchrun"], repo, "no run 'nosuchrun'"),
        ([original["id"], "--rtol", "nan"], repo, "not a finite number"),
        ([original["id"], "--atol", "-1"], repo, "--atol"),
        ([original["id"]], tmp_path, "not inside a git repository"),
    ]:
        proc = sweepci("reproduce", *args, "--store", str(store), cwd=cwd)
        assert proc.returncode == 2, (args, proc.stdout, proc.stderr)
        assert proc.stderr.count("\n") == 1 and expected in proc.stderr, (args, proc.stderr)


# the GPU the agent gave it decides the result
READS_GPU = """import json, os
value = float(os.environ["CUDA_VISIBLE_DEVICES"]) + 0.25
with open(os.environ["SWEEPCI_METRICS_FILE"], "a") as out:
    out.write(json.dumps({"metrics": {"f1": value}}) + "\\n")
"""


def test_the_rerun_gets_the_gpu_the_original_was_given(tmp_path: Path) -> None:
    repo, store = _project(tmp_path, READS_GPU)
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "nvidia-smi").write_text("#!/bin/sh\nprintf '0\\n1\\n'\n")  # a stand-in GPU host
    (bin_dir / "nvidia-smi").chmod(0o755)
    env = clean_env(
        PATH=f"{bin_dir}{os.pathsep}{os.environ['PATH']}",
        SWEEPCI_GPU_LOCK_DIR=str(tmp_path / "locks"),
    )
    env.pop("CUDA_VISIBLE_DEVICES", None)
    proc = sweepci(
        "run", "s.yaml", "--gpus", "1", "--store", str(store), "--json", cwd=repo, env=env
    )
    assert proc.returncode == 0, proc.stderr
    (original,) = json.loads(proc.stdout)["runs"]
    gpu = original["summary"]["f1"] - 0.25
    no_smi = clean_env(SWEEPCI_GPU_LOCK_DIR=str(tmp_path / "locks"))  # the recorded id, not a probe
    no_smi.pop("CUDA_VISIBLE_DEVICES", None)
    again = sweepci(  # --dirty on a clean run changes nothing and records nothing
        "reproduce",
        original["id"],
        "--dirty",
        "--store",
        str(store),
        "--json",
        cwd=repo,
        env=no_smi,
    )
    assert again.returncode == 0, again.stdout + again.stderr
    result = json.loads(again.stdout)
    assert result["metrics"][0]["again"] == gpu + 0.25
    assert result["rerun"]["dirty"] is False
    assert f"the rerun was given the original's GPU(s) {int(gpu)}" in " ".join(result["notes"])
    with sqlite3.connect(store) as conn:  # a forged device list never reaches the rerun
        conn.execute("UPDATE runs SET devices = ? WHERE id = ?", ("0;rm -rf /", original["id"]))
        count = conn.execute("SELECT COUNT(*) FROM sweeps").fetchone()[0]
    forged = sweepci("reproduce", original["id"], "--store", str(store), cwd=repo, env=no_smi)
    assert forged.returncode == 2 and "not a GPU index" in forged.stderr, forged.stderr
    assert sqlite3.connect(store).execute("SELECT COUNT(*) FROM sweeps").fetchone()[0] == count


SLOW_WHEN_ASKED = """import json, os, sys, time
if os.environ.get("REPRO_SLEEP"):
    open(os.environ["REPRO_SLEEP"], "w").write(os.getcwd())
    time.sleep(60)
with open(os.environ["SWEEPCI_METRICS_FILE"], "a") as out:
    out.write(json.dumps({"metrics": {"f1": 0.5}}) + "\\n")
"""


def test_ctrl_c_stops_the_rerun_and_removes_its_checkout(tmp_path: Path) -> None:
    repo, store = _project(tmp_path, SLOW_WHEN_ASKED)
    original = _run_once(repo, store)
    marker = tmp_path / "started"
    before = _checkout_state(repo)
    proc = subprocess.Popen(
        [sys.executable, "-m", "orchestrator", "reproduce", original["id"], "--store", str(store)],
        cwd=repo,
        env=clean_env(REPRO_SLEEP=str(marker)),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        while not marker.exists() and time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.1)
        assert marker.exists(), proc.communicate(timeout=30)
        checkout = Path(marker.read_text())
        assert checkout.is_dir() and checkout != repo
        proc.send_signal(signal.SIGINT)
        _out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 130, err
    assert not checkout.exists()
    assert _checkout_state(repo) == before
    rows = sqlite3.connect(store).execute(
        "SELECT state FROM runs WHERE reproduces = ?", (original["id"],)
    )
    assert [r[0] for r in rows] == ["interrupted"]


def test_a_sweep_started_in_a_subdirectory_reproduces_there_from_anywhere(tmp_path: Path) -> None:
    """The program's relative paths hold from where the sweep started; reproduce starts the
    rerun in the same directory of the checkout, whichever directory it runs from."""
    program = DETERMINISTIC.replace("x = int", 'open("cfg/settings.txt").read()\nx = int')
    repo = make_repo(
        tmp_path / "proj",
        branch="feature/x",
        files={"train/p.py": program, "train/s.yaml": SWEEP, "train/cfg/settings.txt": "ok\n"},
    )
    store = tmp_path / "store.db"
    proc = sweepci("run", "s.yaml", "--store", str(store), "--json", cwd=repo / "train")
    assert proc.returncode == 0, proc.stderr
    (original,) = json.loads(proc.stdout)["runs"]
    (repo / "docs").mkdir()
    for cwd in (repo, repo / "docs"):
        proc = sweepci("reproduce", original["id"], "--store", str(store), "--json", cwd=cwd)
        assert proc.returncode == 0, (cwd, proc.stdout, proc.stderr)
        assert json.loads(proc.stdout)["reproduced"] is True
    # the recorded directory is store text: a path out of the checkout is refused
    for forged in ["../..", "/etc", "train/../../x"]:
        with sqlite3.connect(store) as conn:
            conn.execute(
                "UPDATE sweeps SET context_json = json_set(context_json, '$.workdir', ?)",
                (forged,),
            )
        proc = sweepci("reproduce", original["id"], "--store", str(store), cwd=repo)
        assert proc.returncode == 2, (forged, proc.stdout, proc.stderr)
        assert proc.stderr.count("\n") == 1 and "not a path inside the repository" in proc.stderr
