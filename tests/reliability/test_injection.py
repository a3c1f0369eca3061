"""Injection: values with $(...), backticks, quotes, newlines and workflow commands reach
neither a shell nor the GitHub Actions command stream, and reach the program intact.

GitHub Actions mode is real to sweepci: GITHUB_ACTIONS=true with GITHUB_OUTPUT and
GITHUB_STEP_SUMMARY files. Step outputs must parse as heredocs with only the expected
names, and stdout must hold no line starting with `::` that sweepci did not mean.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml

from tests.conftest import clean_env, make_repo, sweepci

PAYLOADS = [
    "$(touch pwned)",
    "`touch pwned`",
    "'; touch pwned; echo '",
    '"; touch pwned; echo "',
    "a\n::set-output name=best-run::evil\n::add-mask::x",
    "::add-mask::everything",
    "%0A::warning::encoded",
    "two words ünïcode ✓",
    "line1\r\nline2",
]
PROBE = """\
import json, os, sys, yaml
params = yaml.safe_load(open(os.environ["WANDB_SWEEP_PARAM_PATH"]))
out = {"argv": sys.argv[1:], "config": {k: v["value"] for k, v in params.items() if k != "wandb_version"}}
with open(os.path.join(os.environ["PROBE_OUT"], os.environ["WANDB_RUN_ID"] + ".json"), "w") as fh:
    json.dump(out, fh)
open(os.environ["SWEEPCI_METRICS_FILE"], "a").write(json.dumps({"metrics": {"v": 1.0}}) + "\\n")
"""
HEREDOC = re.compile(r"^([A-Za-z0-9_-]+)<<(ghadelimiter_[0-9a-f]{32})\n(.*?)\n\2\n", re.S)


def parse_outputs(text: str) -> dict[str, str]:
    """GITHUB_OUTPUT as the runner reads it; fails on anything that is not a well-formed heredoc."""
    found: dict[str, str] = {}
    while text:
        m = HEREDOC.match(text)
        assert m, f"not a well-formed output entry: {text[:200]!r}"
        assert m.group(2) not in m.group(3)
        found[m.group(1)] = m.group(3)
        text = text[m.end() :]
    return found


def _actions_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    gh = tmp_path / "gh"
    gh.mkdir(exist_ok=True)
    return clean_env(
        GITHUB_ACTIONS="true",
        GITHUB_EVENT_NAME="workflow_dispatch",
        GITHUB_REF="refs/heads/feature/x",
        GITHUB_REF_NAME="feature/x",
        GITHUB_SHA="c" * 40,
        GITHUB_REPOSITORY="acme/wine-quality",
        GITHUB_OUTPUT=str(gh / "output"),
        GITHUB_STEP_SUMMARY=str(gh / "summary.md"),
        **extra,
    )


def _stdout_commands(stdout: str) -> list[str]:
    return [line for line in stdout.splitlines() if line.startswith("::")]


def test_sweep_values_reach_the_program_intact_and_nothing_else(tmp_path: Path, figures) -> None:
    sweep = {
        "method": "grid",
        "program": "probe.py",
        "metric": {"name": "v"},
        "command": ["${env}", "${interpreter}", "${program}", "${args}", "${args_json}"],
        "parameters": {"s": {"values": PAYLOADS}},
    }
    repo = make_repo(
        tmp_path / "wine-quality",
        branch="feature/x",
        files={"probe.py": PROBE, "s.yaml": yaml.safe_dump(sweep)},
    )
    out = tmp_path / "out"
    out.mkdir()
    env = _actions_env(tmp_path, PROBE_OUT=str(out))
    proc = sweepci(
        "run",
        "s.yaml",
        "--backend",
        "local",
        "--tag",
        "t\n::add-mask::tag",
        cwd=repo,
        env=env,
        timeout=180,
    )
    assert proc.returncode == 0, proc.stderr
    seen = {}
    for f in out.glob("*.json"):
        record = json.loads(f.read_text())
        value = record["config"]["s"]
        assert f"--s={value}" in record["argv"]  # one argv item, no shell splitting
        assert json.loads(record["argv"][-1]) == {"s": value}
        seen[value] = record
    assert sorted(seen) == sorted(PAYLOADS)
    assert not list(tmp_path.rglob("pwned")), "a value reached a shell"
    assert _stdout_commands(proc.stdout) == []
    outputs = parse_outputs((tmp_path / "gh" / "output").read_text())
    assert {k for k in outputs if not k.startswith("baseline-")} <= {
        "sweep-id",
        "sweep-url",
        "env",
        "project",
        "best-run",
        "best-metric",
    }
    assert outputs["best-run"] != "evil" and "\n" not in outputs["best-run"]
    figures(injection_inputs=len(PAYLOADS) + 1, injections=0)


@pytest.mark.parametrize("payload", PAYLOADS, ids=range(len(PAYLOADS)))
def test_workflow_inputs_do_not_reach_the_command_stream(
    payload: str, tmp_path: Path, figures
) -> None:
    sweep = "method: grid\nprogram: p.py\nparameters:\n  dataset: {values: [wine, iris]}\n"
    repo = make_repo(
        tmp_path / "wine-quality",
        branch="feature/x",
        files={
            "p.py": "print(1)\n",
            "sweeps/s.yaml": sweep,
            "sweepci.yaml": "sweep_file: sweeps/s.yaml\n",
        },
    )
    env = _actions_env(tmp_path)
    texts = []
    for argv in (
        ["workflow", "plan", "--dataset", payload],
        ["workflow", "plan", "--count", payload],
        ["workflow", "plan", "--sweep-file", payload],
        ["context", "--tag", payload, "--github-output"],
        ["workflow", "backend", payload],
    ):
        proc = sweepci(*argv, cwd=repo, env=env)
        assert "Traceback" not in proc.stderr
        texts.append(proc.stdout)
        for line in _stdout_commands(proc.stdout):  # only sweepci's own one-line annotations
            assert line.startswith("::error") and "\n" not in line, line
    output_file = tmp_path / "gh" / "output"
    if output_file.exists():
        parse_outputs(output_file.read_text())
    assert not list(tmp_path.rglob("pwned"))
    figures(injection_inputs=5, injections=0)
