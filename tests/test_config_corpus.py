"""The bad-sweep-file corpus: every file holds exactly one problem and says which.

Each file in tests/corpus/bad/ starts with `# expect: error|warning LINE TEXT`.
`sweepci validate` runs as a real subprocess in an empty directory and must
report that one problem on one stderr line naming FILE:LINE:COL, exit 2 for
an error (0 for a warning, 2 with --strict), print no traceback, and write
nothing. The same holds for `plan` and `run` on a few of the files, and for
`--set` of a parameter the sweep does not have.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest

from tests.conftest import clean_env, sweepci

CORPUS = Path(__file__).parent / "corpus" / "bad"
FILES = sorted(CORPUS.glob("*.yaml"))
EXPECT = re.compile(rb"^# expect: (error|warning) (\d+) (.+)$")
# FILE:LINE:COL: error|warning: ... as printed by `sweepci validate`
PROBLEM_LINE = re.compile(
    r"^(?P<file>[^:]+):(?P<line>\d+):(?P<col>\d+): (?P<kind>error|warning): (?P<text>.+)$"
)
GOOD_SWEEP = """\
program: train.py
method: grid
parameters:
  lr:
    values: [0.1, 0.01]
  model:
    parameters:
      depth:
        values: [2, 4]
"""


def expectation(path: Path) -> tuple[str, int, str]:
    first = path.read_bytes().split(b"\n", 1)[0]
    m = EXPECT.match(first)
    assert m, f"{path.name}: first line must be '# expect: error|warning LINE TEXT'"
    return m.group(1).decode(), int(m.group(2)), m.group(3).decode().strip()


def test_corpus_is_large_enough(record_property: pytest.RecordProperty) -> None:
    errors = [f for f in FILES if expectation(f)[0] == "error"]
    warnings = [f for f in FILES if expectation(f)[0] == "warning"]
    record_property("bad_files", len(FILES))
    print(f"bad sweep corpus: {len(FILES)} files ({len(errors)} errors, {len(warnings)} warnings)")
    assert len(FILES) >= 60
    assert len(warnings) >= 8


def _workdir(tmp_path: Path) -> Path:
    """A fresh working directory with the programs the corpus's sweeps run."""
    cwd = tmp_path / "work"
    cwd.mkdir()
    for program in ("train.py", "sweep_nest.py"):
        (cwd / program).write_text("")
    return cwd


def _copy_into(tmp_path: Path, source: Path) -> tuple[Path, Path]:
    """A fresh working directory holding the programs and a copy of `source`."""
    cwd = _workdir(tmp_path)
    target = cwd / source.name
    shutil.copyfile(source, target)
    return cwd, target


def _listing(cwd: Path) -> set[str]:
    return {str(p.relative_to(cwd)) for p in cwd.rglob("*")}


def _problem_lines(stderr: str) -> list[re.Match]:
    lines = [line for line in stderr.splitlines() if line.strip()]
    matches = [PROBLEM_LINE.match(line) for line in lines]
    assert all(matches), f"every stderr line must be FILE:LINE:COL: KIND: ...; got:\n{stderr}"
    return matches  # type: ignore[return-value]


@pytest.mark.parametrize("path", FILES, ids=[f.stem for f in FILES])
def test_validate_reports_the_one_problem(path: Path, tmp_path: Path) -> None:
    kind, line, text = expectation(path)
    cwd, target = _copy_into(tmp_path, path)
    before = _listing(cwd)

    proc = sweepci("validate", target.name, cwd=cwd)

    assert "Traceback" not in proc.stderr + proc.stdout
    problems = _problem_lines(proc.stderr)
    assert len(problems) == 1, f"expected exactly one problem line, got:\n{proc.stderr}"
    found = problems[0]
    assert found["file"] == target.name
    assert found["kind"] == kind, proc.stderr
    assert int(found["line"]) == line, f"expected line {line}: {proc.stderr}"
    assert int(found["col"]) >= 1
    assert text in found["text"], f"expected {text!r} in: {proc.stderr}"
    assert proc.returncode == (2 if kind == "error" else 0), proc.stderr
    if kind == "warning":
        assert proc.stdout.strip() == f"{target.name}: ok (1 warning)"
    assert _listing(cwd) == before, "validate must not write anything"


WARNING_FILES = [f for f in FILES if expectation(f)[0] == "warning"]


def test_strict_turns_each_warning_into_a_failure(tmp_path: Path) -> None:
    cwd = _workdir(tmp_path)
    for path in WARNING_FILES:
        shutil.copyfile(path, cwd / path.name)
    proc = sweepci("validate", "--strict", *(p.name for p in WARNING_FILES), cwd=cwd)
    assert proc.returncode == 2
    problems = _problem_lines(proc.stderr)
    assert [m["file"] for m in problems] == [p.name for p in WARNING_FILES]
    for path, found in zip(WARNING_FILES, problems, strict=True):
        _, line, text = expectation(path)
        assert (found["kind"], int(found["line"])) == ("warning", line) and text in found["text"]


def test_json_output_carries_the_same_problem(tmp_path: Path) -> None:
    cwd, target = _copy_into(tmp_path, CORPUS / "min_greater_than_max.yaml")
    proc = sweepci("validate", "--json", target.name, cwd=cwd)
    assert proc.returncode == 2
    (report,) = json.loads(proc.stdout)
    assert report["ok"] is False
    (error,) = report["errors"]
    assert (error["line"], error["key"], error["severity"]) == (6, "lr.min", "error")
    assert "not less than max" in error["message"]


def test_several_files_fail_together_and_good_ones_still_pass(tmp_path: Path) -> None:
    cwd = _workdir(tmp_path)
    for name in ("method_unknown.yaml", "values_empty.yaml"):
        shutil.copyfile(CORPUS / name, cwd / name)
    (cwd / "good.yaml").write_text(GOOD_SWEEP)
    proc = sweepci("validate", "method_unknown.yaml", "good.yaml", "values_empty.yaml", cwd=cwd)
    assert proc.returncode == 2
    files = [m["file"] for m in _problem_lines(proc.stderr)]
    assert files == ["method_unknown.yaml", "values_empty.yaml"]
    assert "good.yaml: ok" in proc.stdout


# `plan` and `run` load the file the same way and fail before doing anything.
COMMAND_CASES = ["grid_with_uniform", "yaml_tab_indentation", "not_utf8"]


@pytest.mark.parametrize("command", ["plan", "run"])
@pytest.mark.parametrize("name", COMMAND_CASES)
def test_plan_and_run_stop_on_a_bad_file(command: str, name: str, tmp_path: Path) -> None:
    _, line, text = expectation(CORPUS / f"{name}.yaml")
    cwd, target = _copy_into(tmp_path, CORPUS / f"{name}.yaml")
    before = _listing(cwd)
    args = [command, target.name] + (
        ["--backend", "local", "--count", "1"] if command == "run" else []
    )
    proc = sweepci(*args, cwd=cwd, env=clean_env(HOME=str(tmp_path)))
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr
    lines = [ln for ln in proc.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith(f"sweepci: error: {target.name}:{line}:")
    assert text in lines[0]
    assert _listing(cwd) == before, f"{command} wrote files for a bad sweep"


def test_set_of_an_unknown_parameter_is_an_error(tmp_path: Path) -> None:
    cwd = _workdir(tmp_path)
    (cwd / "sweep.yaml").write_text(GOOD_SWEEP)
    for command in ("validate", "plan"):
        proc = sweepci(command, "sweep.yaml", "--set", "learning_rate=0.5", cwd=cwd)
        assert proc.returncode == 2, proc.stderr
        lines = [ln for ln in proc.stderr.splitlines() if ln.strip()]
        assert len(lines) == 1 and "learning_rate" in lines[0] and "--add" in lines[0], proc.stderr
    assert _listing(cwd) == {"sweep.yaml", "train.py", "sweep_nest.py"}


def test_set_pins_known_and_nested_parameters_and_add_adds(tmp_path: Path) -> None:
    cwd = _workdir(tmp_path)
    (cwd / "sweep.yaml").write_text(GOOD_SWEEP)
    proc = sweepci(
        "plan", "sweep.yaml", "--json", "--set", "lr=0.5", "--set", "model.depth=3", cwd=cwd
    )
    assert proc.returncode == 0, proc.stderr
    plan = json.loads(proc.stdout)
    assert plan["configs"] == [{"lr": 0.5, "model.depth": 3}]

    proc = sweepci("plan", "sweep.yaml", "--json", "--add", "--set", "warmup=10", cwd=cwd)
    assert proc.returncode == 0, proc.stderr
    configs = json.loads(proc.stdout)["configs"]
    assert len(configs) == 4 and all(c["warmup"] == 10 for c in configs)
