"""Damaged stores and numbers that leave the floats.

- A store with flipped bytes, or with a JSON column that does not parse,
  gives every reading command one line naming the store file, exit 2, and no
  internal error.
- NaN or infinite `probabilities`, bounds whose span overflows (±1e308), a
  log_uniform bound whose exponential overflows, a q too small for its
  values, an integer bound too large for a float: refused at validation.
"""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

import pytest

from tests.conftest import make_repo, sweepci
from tests.reliability.helpers import assert_one_line_error, changes, snapshot, write

PROGRAM = "import json, os\nopen(os.environ['SWEEPCI_METRICS_FILE'], 'a').write(json.dumps({'metrics': {'v': 1.0}}) + '\\n')\n"
SWEEP = "method: grid\nprogram: p.py\nmetric: {name: v}\nparameters:\n  x: {values: [1, 2]}\n"
STORE = ".sweepci/sweepci.db"


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    repo = make_repo(tmp_path_factory.mktemp("damage") / "proj", branch="feature/x",
                     files={"p.py": PROGRAM, "s.yaml": SWEEP})  # fmt: skip
    done = sweepci("run", "s.yaml", "--backend", "local", "--quiet", cwd=repo)
    assert done.returncode == 0, done.stderr
    shutil.rmtree(repo / ".sweepci" / "runs")
    return repo


def _flip(case: Path) -> None:
    data = bytearray((case / STORE).read_bytes())
    for i in range(4096, len(data), 97):
        data[i] ^= 0xFF
    (case / STORE).write_bytes(bytes(data))


def _sql(statement: str):
    def apply(case: Path) -> None:
        conn = sqlite3.connect(case / STORE)
        conn.execute(statement)
        conn.commit()
        conn.close()

    return apply


DAMAGE = {
    "flipped_bytes": _flip,
    "run_config_not_json": _sql("UPDATE runs SET config_json = '{bad'"),
    "run_summary_not_json": _sql("UPDATE runs SET summary_json = '[1,'"),
    "sweep_config_not_json": _sql("UPDATE sweeps SET config_json = 'nope'"),
    "tags_not_json": _sql("UPDATE runs SET tags_json = '{{'"),
}
READERS = {
    "show": ["show", "--store", STORE],
    "leaderboard": ["leaderboard", "--store", STORE],
    "runs": ["runs", "--store", STORE],
    "sweeps": ["sweeps", "--store", STORE],
    "report": ["report", "--store", STORE],
}
PARAMS = [(d, r) for d in DAMAGE for r in READERS]


@pytest.mark.parametrize(("damage", "reader"), PARAMS, ids=[f"{d}-{r}" for d, r in PARAMS])
def test_a_damaged_store_is_one_line_naming_it(
    damage: str, reader: str, template: Path, tmp_path: Path, cli, figures
) -> None:
    case = tmp_path / "case"
    shutil.copytree(template, case)
    DAMAGE[damage](case)
    before = snapshot(tmp_path)
    result = cli.run(*READERS[reader], cwd=case)
    if result.returncode == 0:  # the damage was in something this command does not read
        assert "Traceback" not in result.stderr and "internal error" not in result.stderr
    else:
        line = assert_one_line_error(result, only_sweepci_lines=False)
        assert "sweepci.db" in line, line
    # SQLite's own -wal/-shm beside a WAL store appear on any read; nothing else may change
    changed = changes(before, snapshot(tmp_path))
    assert [c for c in changed if not c.endswith(("-wal", "-shm"))] == []
    figures(bad_inputs=1, bad_input_tracebacks=0, bad_input_writes=0)


NUMBERS = {
    "probabilities_nan": "{values: [a, b], probabilities: [.nan, .nan]}",
    "probabilities_inf": "{values: [a, b], probabilities: [.inf, 0.0]}",
    "span_overflows": "{distribution: uniform, min: -1.0e+308, max: 1.0e+308}",
    "q_uniform_span_overflows": "{distribution: q_uniform, min: -1.0e+308, max: 1.0e+308, q: 1.0}",
    "log_uniform_exp_overflows": "{distribution: log_uniform, min: 0, max: 1000}",
    "inv_log_uniform_exp_overflows": "{distribution: inv_log_uniform, min: -1000, max: 1}",
    "q_too_small": "{distribution: q_uniform, min: 0.0, max: 1.0e+300, q: 1.0e-300}",
    "int_bound_beyond_floats": "{distribution: int_uniform, min: 0, max: 1" + "0" * 400 + "}",
    "normal_sigma_huge": "{distribution: normal, mu: 0.0, sigma: 1.0e+308}",
    "log_normal_overflows": "{distribution: log_normal, mu: 700.0, sigma: 10.0}",
}
NUMBER_PARAMS = [(n, c) for n in NUMBERS for c in ("plan", "run")]


@pytest.mark.parametrize(("case_name", "command"), NUMBER_PARAMS,
                         ids=[f"{n}-{c}" for n, c in NUMBER_PARAMS])  # fmt: skip
def test_numbers_that_leave_the_floats_are_refused_at_validation(
    case_name: str, command: str, template: Path, tmp_path: Path, cli, figures
) -> None:
    case = tmp_path / "case"
    shutil.copytree(template, case)
    write(
        case / "r.yaml", f"method: random\nprogram: p.py\nparameters:\n  x: {NUMBERS[case_name]}\n"
    )
    before = snapshot(tmp_path)
    argv = ["plan", "r.yaml"] if command == "plan" else ["run", "r.yaml", "--backend", "local",
                                                         "--count", "2"]  # fmt: skip
    line = assert_one_line_error(cli.run(*argv, cwd=case))
    assert "r.yaml:4:" in line, line
    assert changes(before, snapshot(tmp_path)) == []
    figures(bad_inputs=1, bad_input_tracebacks=0, bad_input_writes=0)
