"""Stores and manifests never name a file to copy: blob names are checked digests, blob bytes
are verified, artifact paths stay inside their folder.

A real store (made by `sweepci run`, its artifact area filled through the
store's own functions) is tampered with the way a store downloaded from a
fork's job could be: a blob row whose digest is a path, a blob row whose
`path` names /etc/passwd, flipped bytes in a blob, a blob replaced by a
symlink or a FIFO, manifests whose sha256 is a path or not lowercase, whose
file path climbs out or is absolute. `sweepci merge` (the source) and
`sweepci artifacts get` must each refuse with one line naming the file,
exit 2, and write nothing; no byte of a file outside the store is copied.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sqlite3
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import make_repo, sweepci
from tests.reliability.helpers import assert_one_line_error, changes, snapshot

PROGRAM = "import json, os\nopen(os.environ['SWEEPCI_METRICS_FILE'], 'a').write(json.dumps({'metrics': {'v': 1.0}}) + '\\n')\n"
SWEEP = "method: grid\nprogram: p.py\nmetric: {name: v}\nparameters:\n  x: {values: [1]}\n"
MODEL = b"the model's weights\n" * 100
SECRET_FILE = "/etc/passwd"


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A shard store with one run that logged the artifact `model:v0` (one file, one blob)."""
    root = tmp_path_factory.mktemp("blobs")
    repo = make_repo(root / "proj", branch="feature/x", files={"p.py": PROGRAM, "s.yaml": SWEEP})
    done = sweepci("run", "s.yaml", "--backend", "local", "--sweep-id", "s1", "--quiet", cwd=repo)
    assert done.returncode == 0, done.stderr
    from orchestrator.store import open_store
    from orchestrator.store.artifacts import record_artifact
    from orchestrator.store.blobs import FileEntry, add_blob

    (root / "weights.bin").write_bytes(MODEL)
    with open_store(repo / ".sweepci" / "sweepci.db") as store:
        run_id = store.query("SELECT id FROM runs")[0][0]
        sha, size = add_blob(store, root / "weights.bin")
        record_artifact(
            store, name="model", type="model", files=[FileEntry("weights.bin", size, sha)],
            run_id=run_id, sweep_id="s1",
        )  # fmt: skip
    shutil.rmtree(repo / ".sweepci" / "runs")
    return repo


def _db(case: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(case / ".sweepci" / "sweepci.db")
    conn.row_factory = sqlite3.Row
    return conn


def _digest(case: Path) -> str:
    return hashlib.sha256(MODEL).hexdigest()


def _blob(case: Path) -> Path:
    d = _digest(case)
    return case / ".sweepci" / "artifacts" / "blobs" / d[:2] / d


def _update(case: Path, sql: str, *params: object) -> None:
    conn = _db(case)
    conn.execute(sql, params)
    conn.commit()
    conn.close()


def _manifest(case: Path, **entry: object) -> None:
    conn = _db(case)
    manifest = json.loads(conn.execute("SELECT manifest_json FROM artifacts").fetchone()[0])
    manifest["files"][0].update(entry)
    conn.execute("UPDATE artifacts SET manifest_json = ?", (json.dumps(manifest),))
    conn.commit()
    conn.close()


def _flip_byte(case: Path) -> None:
    data = bytearray(_blob(case).read_bytes())
    data[7] ^= 0x01
    _blob(case).write_bytes(bytes(data))


def _symlink(case: Path) -> None:
    _blob(case).unlink()
    _blob(case).symlink_to(SECRET_FILE)


def _fifo(case: Path) -> None:
    _blob(case).unlink()
    os.mkfifo(_blob(case))


def _digest_is_a_path(case: Path) -> None:
    _update(case, "UPDATE blobs SET digest = ?", "../../../../etc/passwd")


def _path_column_names_a_secret(case: Path) -> None:
    """The blob's real file is gone and its row's `path` names a file outside the store:
    merge must treat the blob as missing (the path column is never used)."""
    _blob(case).unlink()
    _update(case, "UPDATE blobs SET path = ?", SECRET_FILE)


CASES: dict[str, tuple[Callable[[Path], None], tuple[str, ...]]] = {
    # name: (tampering, commands that must refuse it: merge / get)
    "blob_bytes_flipped": (_flip_byte, ("merge", "get")),
    "blob_is_a_symlink_out": (_symlink, ("merge", "get")),
    "blob_is_a_fifo": (_fifo, ("merge", "get")),
    "blob_row_digest_is_a_path": (_digest_is_a_path, ("merge",)),
    "manifest_sha256_is_a_path": (
        lambda c: _manifest(c, sha256="../../../../etc/passwd"),
        ("merge", "get"),
    ),
    "manifest_sha256_uppercase": (
        lambda c: _manifest(c, sha256=_digest(c).upper()),
        ("merge", "get"),
    ),
    "manifest_sha256_short": (lambda c: _manifest(c, sha256="ab"), ("merge", "get")),
    "manifest_path_climbs_out": (
        lambda c: _manifest(c, path="../../outside.bin"),
        ("merge", "get"),
    ),
    "manifest_path_absolute": (lambda c: _manifest(c, path="/tmp/abs.bin"), ("merge", "get")),
    "manifest_path_nul": (lambda c: _manifest(c, path="a\x00b"), ("merge", "get")),
    "manifest_not_json": (
        lambda c: _update(c, "UPDATE artifacts SET manifest_json = ?", "{not json"),
        ("merge",),
    ),
}
ARGV = {
    "merge": ["merge", ".sweepci/sweepci.db", "-o", "merged/sweepci.db"],
    "get": ["artifacts", "get", "model", "-o", "out", "--store", ".sweepci/sweepci.db"],
}
PARAMS = [(name, cmd) for name, (_, cmds) in CASES.items() for cmd in cmds]


@pytest.mark.parametrize(("name", "command"), PARAMS, ids=[f"{n}-{c}" for n, c in PARAMS])
def test_a_tampered_store_is_refused_in_one_line_and_nothing_is_written(
    name: str, command: str, template: Path, tmp_path: Path, cli, figures
) -> None:
    case = tmp_path / "case"
    shutil.copytree(template, case, symlinks=True)
    CASES[name][0](case)
    before = snapshot(tmp_path)

    result = cli.run(*ARGV[command], cwd=case)

    line = assert_one_line_error(result)
    assert ".sweepci" in line, line  # names the store or the blob file
    assert changes(before, snapshot(tmp_path)) == []
    figures(bad_inputs=1, bad_input_tracebacks=0, bad_input_writes=0)


def test_a_row_naming_a_file_outside_the_store_copies_nothing_from_it(
    template: Path, tmp_path: Path, cli, figures
) -> None:
    case = tmp_path / "case"
    shutil.copytree(template, case, symlinks=True)
    _path_column_names_a_secret(case)

    result = cli.run(*ARGV["merge"], cwd=case)

    assert result.returncode == 0, result.stderr
    assert "missing" in result.stderr  # the blob is reported missing, not taken from `path`
    secret = Path(SECRET_FILE).read_bytes()
    copied = [p for p in (case / "merged").rglob("*") if p.is_file() and p.read_bytes() == secret]
    assert copied == []
    figures(bad_inputs=1, bad_input_tracebacks=0, bad_input_writes=0)


def test_an_untampered_store_still_merges_and_gets(template: Path, tmp_path: Path, cli) -> None:
    case = tmp_path / "case"
    shutil.copytree(template, case, symlinks=True)
    assert cli.run(*ARGV["merge"], cwd=case).returncode == 0
    merged = case / "merged" / "artifacts" / "blobs"
    assert [p.read_bytes() for p in merged.rglob("*") if p.is_file()] == [MODEL]
    got = cli.run(*ARGV["get"], cwd=case)
    assert got.returncode == 0, got.stderr
    assert (case / "out" / "weights.bin").read_bytes() == MODEL
