"""A team reproduces one of its runs with the installed sweepci: their repository, their
script, a real pip install, `sweepci run`, a new commit, `sweepci reproduce`."""

from __future__ import annotations

import json
from pathlib import Path

from tests.e2e.conftest import UserInstall, git, make_user_repo

# the team's own script: ridge classification of sklearn's digits, deterministic for a given alpha
SCRIPT = """\
import wandb
from sklearn.datasets import load_digits
from sklearn.linear_model import RidgeClassifier
from sklearn.metrics import f1_score
from sklearn.model_selection import train_test_split

run = wandb.init()
X, y = load_digits(return_X_y=True)
Xtr, Xte, ytr, yte = train_test_split(X / 16.0, y, test_size=0.3, random_state=0)
pred = RidgeClassifier(alpha=wandb.config.alpha).fit(Xtr, ytr).predict(Xte)
run.log({"val/f1": f1_score(yte, pred, average="macro"), "val/acc": float((pred == yte).mean())})
run.finish()
"""
SWEEP = """\
program: src/fit.py
method: random
metric: {name: val/f1, goal: maximize}
parameters:
  alpha: {distribution: log_uniform_values, min: 0.01, max: 10.0}
"""


def test_a_user_reproduces_a_run_from_a_later_commit(
    tmp_path: Path, user_install: UserInstall
) -> None:
    repo = make_user_repo(
        tmp_path / "digits-lab",
        script=SCRIPT,
        sweep=SWEEP,
        files={".gitignore": ".sweepci/\nwandb/\n"},
    )
    env = user_install.env(HOME=str(tmp_path / "home"))
    swept = user_install.run(
        "run", "sweeps/digits.yaml", "--count", "1", "--json", cwd=repo, env=env, timeout=300
    )
    assert swept.returncode == 0, swept.stdout + swept.stderr
    (original,) = json.loads(swept.stdout)["runs"]
    assert original["state"] == "finished" and "val/f1" in original["summary"]
    first = git(repo, "rev-parse", "HEAD")
    (repo / "src" / "fit.py").write_text((repo / "src" / "fit.py").read_text() + "# tuned later\n")
    git(repo, "commit", "-qam", "later work")
    before = (git(repo, "status", "--porcelain"), (repo / ".git" / "index").read_bytes())

    again = user_install.run("reproduce", original["id"], cwd=repo, env=env, timeout=300)

    assert again.returncode == 0, again.stdout + again.stderr
    assert f"original   {original['id']} at {first}: finished" in again.stdout
    assert "reproduced: 2 metric(s) within rtol=1e-06, atol=1e-09" in again.stdout
    assert (git(repo, "status", "--porcelain"), (repo / ".git" / "index").read_bytes()) == before
    assert git(repo, "rev-parse", "HEAD") != first
    shown = json.loads(user_install.run("show", original["id"], "--json", cwd=repo, env=env).stdout)
    assert len(shown["reproduced_by"]) == 1 and shown["reproduced_by"][0]["state"] == "finished"
