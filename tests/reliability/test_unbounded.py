"""Unbounded input: every bound is one line, exit 2, nothing written, in bounded time.

Sweep and project files: a ~500-byte alias bomb, nesting thousands deep
(flow and block style), a file over the size limit, /dev/zero and a FIFO
given as the file. Grids: 10^12 points (with run_cap too), a huge
int_uniform range or a tiny q with --count 3, a product of axes over the
limit; sizes are computed, not enumerated. A GitHub event payload nested
too deeply. A zip bomb as the baseline artifact. Each through the real CLI
(`validate`, `plan`, `run`, `create`); `run` must not record the sweep.
"""

from __future__ import annotations

import io
import itertools
import json
import os
import shutil
import zipfile
from pathlib import Path

import pytest

from tests.conftest import clean_env, make_repo, sweepci
from tests.reliability.helpers import assert_one_line_error, changes, snapshot, write
from tests.servers.github_api import GitHubStandIn
from tests.servers.github_fixtures import CANARY_TOKEN

HEAD = "method: grid\nprogram: p.py\nmetric: {name: v}\n"
PROGRAM = "print(1)\n"


def _alias_bomb() -> str:
    lines = ["  a: &a [x, x, x, x, x, x, x, x, x, x]"]
    for i in range(1, 9):
        name, prev = chr(ord("a") + i), chr(ord("a") + i - 1)
        lines.append(f"  {name}: &{name} [" + ", ".join([f"*{prev}"] * 10) + "]")
    return HEAD + "parameters:\n  x: {values: [1]}\ndescription:\n" + "\n".join(lines) + "\n"


def _deep_block(depth: int) -> str:
    text = HEAD + "parameters:\n"
    for i in range(depth):
        text += "  " * (i + 1) + f"p{i}:\n" + "  " * (i + 2) + "parameters:\n"
    return text


SWEEPS = {
    "alias_bomb": _alias_bomb(),
    "alias_bomb_in_values": HEAD
    + "parameters:\n  x: &x {values: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]}\n"
    + "".join(
        f"  y{i}: &y{i} {{values: ["
        + ", ".join([f"*{'x' if i == 0 else f'y{i - 1}'}"] * 10)
        + "]}\n"
        for i in range(7)
    ),
    "deep_flow": HEAD + "parameters: " + "[" * 5000 + "]" * 5000 + "\n",
    "deep_flow_mapping": HEAD + "parameters: " + "{a: " * 3000 + "1" + "}" * 3000 + "\n",
    "deep_block": _deep_block(200),
    "too_large": HEAD + "parameters:\n  x: {values: [1]}\n" + "# padding\n" * 120_000,
    "grid_10e12": HEAD
    + "parameters:\n"
    + "".join(f"  p{i}: {{values: [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]}}\n" for i in range(12)),
    "grid_10e12_run_cap": HEAD
    + "run_cap: 3\nparameters:\n"
    + "".join(f"  p{i}: {{values: [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]}}\n" for i in range(12)),
    "grid_huge_int_uniform": HEAD
    + "parameters:\n  x: {distribution: int_uniform, min: 0, max: 1000000000000}\n",
    "grid_tiny_q": HEAD
    + "parameters:\n  x: {distribution: q_uniform, min: 0.0, max: 1.0, q: 1.0e-12}\n",
    "grid_q_span_overflows": HEAD
    + "parameters:\n  x: {distribution: q_uniform, min: -1.0e+308, max: 1.0e+308, q: 1.0e-300}\n",
    "grid_product_over_limit": HEAD
    + "parameters:\n"
    + "  a: {distribution: int_uniform, min: 1, max: 1000}\n"
    + "  b: {distribution: int_uniform, min: 1, max: 1001}\n",
}
SPECIAL = ("dev_zero", "fifo")
COMMANDS = {
    "validate": ["validate", "s.yaml"],
    "plan": ["plan", "s.yaml", "--count", "3"],
    "run": ["run", "s.yaml", "--backend", "local", "--count", "3"],
    "create": ["create", "s.yaml", "--backend", "local"],
}
PARAMS = [(s, c) for s in [*SWEEPS, *SPECIAL] for c in COMMANDS]


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_repo(tmp_path_factory.mktemp("unbounded") / "proj", branch="feature/x",
                     files={"p.py": PROGRAM})  # fmt: skip


def _case(template: Path, tmp_path: Path, sweep: str) -> Path:
    case = tmp_path / "case"
    shutil.copytree(template, case, symlinks=True)
    if sweep == "dev_zero":
        (case / "s.yaml").symlink_to("/dev/zero")
    elif sweep == "fifo":
        os.mkfifo(case / "s.yaml")  # nobody writes: reading it would wait forever
    else:
        write(case / "s.yaml", SWEEPS[sweep])
    return case


@pytest.mark.parametrize(("sweep", "command"), PARAMS, ids=[f"{s}-{c}" for s, c in PARAMS])
def test_an_unbounded_sweep_file_is_refused_in_one_line(
    sweep: str, command: str, template: Path, tmp_path: Path, cli, figures
) -> None:
    case = _case(template, tmp_path, sweep)
    before = snapshot(tmp_path)

    result = cli.run(*COMMANDS[command], cwd=case, timeout=60)

    if command == "validate":  # validate prints FILE:LINE:COL: error: ... lines
        assert result.returncode == 2, result.stderr
        assert "Traceback" not in result.stdout + result.stderr
        assert len([ln for ln in result.stderr.splitlines() if ": error: " in ln]) == 1
    else:
        line = assert_one_line_error(result)
        assert "s.yaml" in line, line
    assert changes(before, snapshot(tmp_path)) == []
    figures(bad_inputs=1, bad_input_tracebacks=0, bad_input_writes=0)


def test_a_project_file_that_is_a_device_is_refused(template: Path, tmp_path: Path, cli, figures):
    case = _case(template, tmp_path, "grid_huge_int_uniform")
    write(case / "s.yaml", HEAD + "parameters:\n  x: {values: [1]}\n")
    (case / "sweepci.yaml").symlink_to("/dev/zero")
    before = snapshot(tmp_path)
    line = assert_one_line_error(cli.run(*COMMANDS["create"], cwd=case))
    assert "sweepci.yaml" in line and "regular file" in line, line
    assert changes(before, snapshot(tmp_path)) == []
    figures(bad_inputs=1, bad_input_tracebacks=0, bad_input_writes=0)


def test_an_event_payload_nested_too_deeply_is_refused(
    template: Path, tmp_path: Path, cli, figures
) -> None:
    case = _case(template, tmp_path, "grid_huge_int_uniform")
    write(case / "s.yaml", HEAD + "parameters:\n  x: {values: [1]}\n")
    event = write(tmp_path / "event.json", '{"a": ' + "[" * 100_000 + "]" * 100_000 + "}")
    env = clean_env(GITHUB_ACTIONS="true", GITHUB_EVENT_NAME="push", GITHUB_EVENT_PATH=str(event),
                    GITHUB_REF="refs/heads/feature/x", GITHUB_SHA="a" * 40)  # fmt: skip
    before = snapshot(tmp_path)
    result = cli.run(*COMMANDS["create"], cwd=case, env=env)
    line = assert_one_line_error(result, only_sweepci_lines=False)
    assert "event.json" in line, line
    assert changes(before, snapshot(tmp_path)) == []
    figures(bad_inputs=1, bad_input_tracebacks=0, bad_input_writes=0)


def test_plan_of_a_grid_lists_the_points_in_order(template: Path, tmp_path: Path, cli) -> None:
    """point_at is computed (mixed radix), and agrees with W&B's itertools.product order."""
    case = _case(template, tmp_path, "grid_huge_int_uniform")
    write(case / "s.yaml", HEAD + "parameters:\n  a: {values: [x, y, z]}\n"
          "  b: {distribution: int_uniform, min: 1, max: 4}\n  c: {values: [true, false]}\n")  # fmt: skip
    result = cli.run("plan", "s.yaml", "--json", cwd=case)
    assert result.returncode == 0, result.stderr
    got = json.loads(result.stdout)["configs"]
    want = [dict(zip("abc", p)) for p in itertools.product("xyz", range(1, 5), (True, False))]
    assert got == want


def _bomb(size: int) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        with archive.open("sweepci.db", "w") as member:
            chunk = bytes(1 << 20)
            for _ in range(size >> 20):
                member.write(chunk)
    return buffer.getvalue()


def test_a_zip_bomb_as_baseline_is_refused_and_nothing_is_left(
    tmp_path: Path, github_api: GitHubStandIn, figures
) -> None:
    repo = make_repo(tmp_path / "wine-quality", branch="main")
    bomb = _bomb(96 << 20)
    assert len(bomb) < 200_000  # ~100 KiB that unpack to 96 MiB
    github_api.add_past_run(100, artifacts={"sweepci-report": bomb})
    before = snapshot(tmp_path)

    done = sweepci("baseline", "fetch", "-o", "prev", cwd=repo, env=clean_env(
        GITHUB_API_URL=github_api.url, GITHUB_TOKEN=CANARY_TOKEN,
        SWEEPCI_BASELINE_MAX_BYTES=str(64 << 20)))  # fmt: skip

    line = assert_one_line_error(done, code=3)
    assert "zip bomb" in line, line
    assert changes(before, snapshot(tmp_path)) == []
    figures(bad_inputs=1, bad_input_tracebacks=0, bad_input_writes=0)
