"""Characters that reach a shell, a terminal or the workflow command stream.

- A NUL in a value, a key, `program`, a command item or a --set value is
  refused when the file is read: one line, exit 2, nothing written.
- A program whose metric names, summary keys and stderr hold ESC, BEL, CR
  and newline-led workflow commands: what sweepci prints (`run`, `show`,
  `leaderboard`, `report`, error lines) and writes into the job summary holds
  no raw control character and no line that starts a workflow command.
- A comma in a branch name stays inside one `branch:` tag (WANDB_TAGS is
  comma-separated).
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest

from tests.conftest import clean_env, make_repo, sweepci
from tests.reliability.helpers import assert_one_line_error, changes, rows, snapshot, write

PROGRAM = "import json, os\nopen(os.environ['SWEEPCI_METRICS_FILE'], 'a').write(json.dumps({'metrics': {'v': 1.0}}) + '\\n')\n"
GOOD = 'method: grid\nprogram: p.py\nmetric: {name: v}\nparameters:\n  x: {values: ["a"]}\n'
NUL_SWEEPS = {
    "value": 'method: grid\nprogram: p.py\nparameters:\n  x: {values: ["a\\0b"]}\n',
    "constant": 'method: grid\nprogram: p.py\nparameters:\n  x: {value: "\\0"}\n',
    "program": 'method: grid\nprogram: "p\\0.py"\nparameters:\n  x: {values: [1]}\n',
    "command_item": 'method: grid\nprogram: p.py\ncommand: [python, "${program}", "--x\\0"]\n'
    "parameters:\n  x: {values: [1]}\n",
    "key": 'method: grid\nprogram: p.py\nparameters:\n  "x\\0y": {values: [1]}\n',
    "metric_name": 'method: grid\nprogram: p.py\nmetric: {name: "v\\0"}\nparameters:\n  x: {values: [1]}\n',
}
NUL_COMMANDS = {
    "validate": ["validate", "s.yaml"],
    "plan": ["plan", "s.yaml"],
    "run": ["run", "s.yaml", "--backend", "local"],
}
NUL_PARAMS = [(s, c) for s in NUL_SWEEPS for c in NUL_COMMANDS]


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("chars")
    return make_repo(root / "proj", branch="feature/x", files={"p.py": PROGRAM})


@pytest.mark.parametrize(("sweep", "command"), NUL_PARAMS, ids=[f"{s}-{c}" for s, c in NUL_PARAMS])
def test_a_nul_is_refused_when_the_file_is_read(
    sweep: str, command: str, template: Path, tmp_path: Path, cli, figures
) -> None:
    case = tmp_path / "case"
    shutil.copytree(template, case)
    write(case / "s.yaml", NUL_SWEEPS[sweep])
    before = snapshot(tmp_path)
    result = cli.run(*NUL_COMMANDS[command], cwd=case)
    if command == "validate":
        assert result.returncode == 2 and "NUL" in result.stderr, result.stderr
        assert "Traceback" not in result.stderr
    else:
        assert "NUL" in assert_one_line_error(result)
    assert changes(before, snapshot(tmp_path)) == []
    figures(injection_inputs=1, injections=0)


def test_a_nul_given_with_set_is_refused(template: Path, tmp_path: Path, cli, figures) -> None:
    case = tmp_path / "case"
    shutil.copytree(template, case)
    write(case / "s.yaml", GOOD)
    before = snapshot(tmp_path)
    line = assert_one_line_error(cli.run("plan", "s.yaml", "--set", 'x="a\\0b"', cwd=case))
    assert "NUL" in line
    assert changes(before, snapshot(tmp_path)) == []
    figures(injection_inputs=1, injections=0)


NASTY = "\x1b[31m\x07\r\n::add-mask::leak\n  ::stop-commands::tok\x1b]0;title\x07"
HOSTILE = f"""\
import json, os, sys
name = {NASTY!r}
sys.stderr.write("failing " + name + "\\n")
line = {{"metrics": {{"v" + name: 1.0, "v": 2.0}}}}
open(os.environ["SWEEPCI_METRICS_FILE"], "a").write(json.dumps(line) + "\\n")
x = int(sys.argv[-1].split("=")[1])
sys.exit(3 if x == 2 else 0)
"""
HOSTILE_SWEEP = (
    "method: grid\nprogram: p.py\n"
    'metric: {name: "v\\u001b[2J\\n::add-mask::metric", goal: maximize}\n'
    "parameters:\n  x: {values: [1, 2]}\n"
)
WORKFLOW_COMMAND = re.compile(r"^\s*::", re.M)
RAW_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


def _actions_env(tmp_path: Path) -> dict[str, str]:
    gh = tmp_path / "gh"
    gh.mkdir(exist_ok=True)
    return clean_env(
        GITHUB_ACTIONS="true", GITHUB_EVENT_NAME="push", GITHUB_REF="refs/heads/feature/x",
        GITHUB_REF_NAME="feature/x", GITHUB_SHA="c" * 40, GITHUB_REPOSITORY="acme/wine-quality",
        GITHUB_OUTPUT=str(gh / "output"), GITHUB_STEP_SUMMARY=str(gh / "summary.md"),
    )  # fmt: skip


def test_text_from_a_program_never_drives_the_terminal_or_the_command_stream(
    tmp_path: Path, figures
) -> None:
    repo = make_repo(tmp_path / "wine-quality", branch="feature/x",
                     files={"p.py": HOSTILE, "s.yaml": HOSTILE_SWEEP})  # fmt: skip
    env = _actions_env(tmp_path)
    texts = []
    for argv in (
        ("run", "s.yaml", "--backend", "local", "--max-failures", "5"),
        ("show",), ("leaderboard",), ("runs",), ("report", "--format", "md"),
        ("report", "--job-summary"),
    ):  # fmt: skip
        proc = sweepci(*argv, cwd=repo, env=env, timeout=180)
        assert "Traceback" not in proc.stderr, proc.stderr
        texts += [proc.stdout, proc.stderr]
    texts.append((tmp_path / "gh" / "summary.md").read_text())
    for text in texts:
        commands = [ln for ln in WORKFLOW_COMMAND.findall(text)]
        lines = [ln for ln in text.splitlines() if WORKFLOW_COMMAND.match(ln)]
        assert all(ln.lstrip().startswith("::error") for ln in lines), lines
        assert len(commands) == len(lines)
        assert not RAW_CONTROL.search(text), repr(RAW_CONTROL.search(text))
    joined = "\n".join(texts)
    assert "add-mask" in joined  # the text was shown, escaped, not dropped
    figures(injection_inputs=3, injections=0)


def test_a_comma_in_a_branch_name_stays_in_one_tag(tmp_path: Path, figures) -> None:
    probe = PROGRAM + "open('tags.txt', 'a').write(os.environ['WANDB_TAGS'] + '\\n')\n"
    repo = make_repo(tmp_path / "wine-quality", branch="feat,env-prod,x",
                     files={"p.py": probe, "s.yaml": GOOD})  # fmt: skip
    done = sweepci("run", "s.yaml", "--backend", "local", cwd=repo)
    assert done.returncode == 0, done.stderr
    [tags] = (repo / "tags.txt").read_text().splitlines()
    parts = tags.split(",")
    assert [p for p in parts if p.startswith("branch:")] == ["branch:feat%2Cenv-prod%2Cx"]
    assert [p for p in parts if p.startswith("env:")] == ["env:dev"]
    [row] = rows(repo / ".sweepci" / "sweepci.db", "SELECT tags_json, branch FROM runs")
    assert row["branch"] == "feat,env-prod,x"
    assert json.loads(row["tags_json"]).count("env:dev") == 1
    figures(injection_inputs=1, injections=0)
