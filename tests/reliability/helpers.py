"""Shared by the reliability suite: the CLI fork server, file snapshots, error checks, process checks."""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import stat
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from tests.conftest import REPO_ROOT, clean_env


@dataclass
class Result:
    returncode: int
    stdout: str
    stderr: str


class CliServer:
    """Runs the real CLI through tests.reliability.forkrun: one forked process per input."""

    def __init__(self) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "tests.reliability.forkrun"],
            cwd=REPO_ROOT,
            env=clean_env(),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            bufsize=1,
        )
        ready = json.loads(self.proc.stdout.readline())
        assert ready == {"ready": True}

    def run(
        self, *argv: str, cwd: Path, env: dict[str, str] | None = None, timeout: float = 60
    ) -> Result:
        request = {
            "argv": list(argv),
            "cwd": str(cwd),
            "env": env or clean_env(),
            "timeout": timeout,
        }
        self.proc.stdin.write(json.dumps(request) + "\n")
        self.proc.stdin.flush()
        answer = json.loads(self.proc.stdout.readline())
        return Result(answer["returncode"], answer["stdout"], answer["stderr"])

    def close(self) -> None:
        self.proc.stdin.close()
        self.proc.wait(timeout=30)


def snapshot(root: Path) -> dict[str, tuple]:
    """Every file and directory under root: kind, size, mtime and content hash."""
    found: dict[str, tuple] = {}
    for path in sorted(root.rglob("*")):
        rel = str(path.relative_to(root))
        st = path.lstat()
        if path.is_symlink():
            found[rel] = ("link", os.readlink(path))
        elif path.is_dir():
            found[rel] = ("dir", st.st_mode)
        elif not stat.S_ISREG(st.st_mode):  # a FIFO or a socket: never read (it would block)
            found[rel] = ("special", st.st_mode, st.st_mtime_ns)
        else:
            digest = hashlib.sha1(path.read_bytes()).hexdigest()
            found[rel] = ("file", st.st_size, st.st_mtime_ns, st.st_mode, digest)
    return found


def changes(before: dict[str, tuple], after: dict[str, tuple]) -> list[str]:
    """Paths created, removed or changed between two snapshots."""
    return sorted(k for k in before.keys() | after.keys() if before.get(k) != after.get(k))


def error_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.startswith("sweepci: error:")]


def assert_one_line_error(result: Result, code: int = 2, only_sweepci_lines: bool = True) -> str:
    """Exit `code`, exactly one `sweepci: error:` line and it is the last, no traceback.
    With `only_sweepci_lines`, every stderr line is sweepci's (no progress lines)."""
    text = result.stdout + result.stderr
    assert "Traceback" not in text, text
    assert "internal error" not in text, text
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    errors = error_lines(result.stderr)
    assert len(errors) == 1, f"expected one error line, got:\n{result.stderr}"
    assert lines[-1] == errors[0], f"the error must be the last line:\n{result.stderr}"
    if only_sweepci_lines:
        assert all(line.startswith("sweepci: ") for line in lines), (
            f"stray stderr lines:\n{result.stderr}"
        )
    assert result.returncode == code, f"exit {result.returncode}, expected {code}:\n{result.stderr}"
    return errors[0]


def alive(pid: int) -> bool:
    """True if pid runs (zombies count as gone: nothing is left but an exit status)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def wait_for(
    predicate: Callable[[], object], timeout: float = 60.0, what: str = "condition"
) -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if predicate():
            return
        time.sleep(0.05)
    raise AssertionError(f"{what} not reached within {timeout:g} s")


def rows(store: Path, sql: str, params: tuple = ()) -> list[sqlite3.Row]:
    """Query a store another process may be writing (empty until its tables exist)."""
    if not store.exists():
        return []
    conn = sqlite3.connect(store, timeout=30)
    conn.row_factory = sqlite3.Row
    try:
        return conn.execute(sql, params).fetchall()
    except sqlite3.OperationalError:
        return []
    finally:
        conn.close()


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def recorded_pids(directory: Path) -> list[int]:
    """Pids the test programs wrote, one per file, into `directory`."""
    pids = []
    for f in directory.glob("*.pid"):
        text = f.read_text().strip()
        if text:
            pids += [int(x) for x in text.split()]
    return pids


def wait_gone(pids: list[int], timeout: float = 20.0) -> list[int]:
    """Wait for pids to exit; return those still alive after `timeout`."""
    end = time.monotonic() + timeout
    left = [p for p in pids if alive(p)]
    while left and time.monotonic() < end:
        time.sleep(0.05)
        left = [p for p in left if alive(p)]
    return left
