"""Running one child process: its own process group, bounded stderr tail, clean stop.

The child gets its own session so that the whole group (the program and
anything it forks) can be stopped at once on timeout, early termination,
Ctrl-C or SIGTERM. On Linux it is also told to die with the agent
(PR_SET_PDEATHSIG), so a SIGKILLed agent leaves no orphan behind.
"""

from __future__ import annotations

import collections
import ctypes
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

TAIL_LINES = 40
TAIL_BYTES = 8192
STOP_GRACE_S = 5.0


def _die_with_parent() -> None:  # runs in the child between fork and exec
    if sys.platform.startswith("linux"):
        try:
            libc = ctypes.CDLL("libc.so.6", use_errno=True)
            libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
        except OSError:
            pass


class StderrTail:
    """Copies a pipe to a log file and keeps only the last lines in memory
    (a run may print megabytes)."""

    def __init__(self, pipe, log_path: Path, echo: bool = False):
        self._pipe = pipe
        self._log_path = log_path
        self._echo = echo
        self._lines: collections.deque[bytes] = collections.deque(maxlen=TAIL_LINES)
        self._thread = threading.Thread(target=self._pump, daemon=True)
        self._thread.start()

    def _pump(self) -> None:
        with open(self._log_path, "ab") as log:
            for line in iter(self._pipe.readline, b""):
                try:
                    log.write(line)
                except OSError:
                    pass  # a full disk must not stop the run; the tail still has it
                self._lines.append(line[-TAIL_BYTES:])
                if self._echo:
                    sys.stderr.buffer.write(line)
                    sys.stderr.flush()
        self._pipe.close()

    def join(self, timeout: float) -> None:
        self._thread.join(timeout)

    def text(self) -> str:
        data = b"".join(self._lines)[-TAIL_BYTES:]
        return data.decode("utf-8", errors="replace")


@dataclass
class Outcome:
    returncode: int | None
    stop_reason: str | None  # set when sweepci stopped the run (timeout, early stop, interrupt)
    stop_kind: str | None  # "killed" or "interrupted"
    stderr_tail: str
    duration: float


def kill_group(pgid: int, grace: float = STOP_GRACE_S, proc: subprocess.Popen | None = None) -> None:
    """SIGTERM the group, wait up to `grace`, then SIGKILL whatever is left."""
    try:
        os.killpg(pgid, signal.SIGTERM)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is None:
            time.sleep(0.05)
            continue
        try:
            os.killpg(pgid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.05)
    try:
        os.killpg(pgid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def run_process(argv: list[str], *, cwd: Path, env: dict[str, str], stdout_path: Path, stderr_path: Path,
                timeout: float | None, on_started: Callable[[int], None], poll: Callable[[], tuple[str, str] | None],
                echo: bool = False, poll_interval: float = 0.1) -> Outcome:
    """Run argv to the end. `poll()` is called while it runs and may return
    (kind, reason) to stop it: kind "killed" (early termination, budget) or
    "interrupted" (Ctrl-C / SIGTERM of the agent)."""
    start = time.monotonic()
    with open(stdout_path, "ab") as out:
        try:
            proc = subprocess.Popen(
                argv, cwd=cwd, env=env, stdin=subprocess.DEVNULL,
                stdout=None if echo else out, stderr=subprocess.PIPE,
                start_new_session=True, preexec_fn=_die_with_parent,
            )
        except OSError as exc:
            return Outcome(127, None, None, f"cannot start {argv[0]!r}: {exc.strerror}", 0.0)
        pgid = proc.pid  # start_new_session: the child leads its own group
        tail = StderrTail(proc.stderr, stderr_path, echo=echo)
        on_started(pgid)
        stop: tuple[str, str] | None = None
        while proc.poll() is None:
            if timeout is not None and time.monotonic() - start > timeout:
                stop = ("killed", f"timed out after {timeout:g} s (--run-timeout)")
            else:
                stop = poll()
            if stop is not None:
                kill_group(pgid, proc=proc)
                break
            try:
                proc.wait(poll_interval)
            except subprocess.TimeoutExpired:
                pass
        returncode = proc.wait()
        # grandchildren may still hold the pipe; stop the group so the tail thread ends
        try:
            os.killpg(pgid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        tail.join(timeout=2.0)
    return Outcome(
        returncode=returncode,
        stop_reason=stop[1] if stop else None,
        stop_kind=stop[0] if stop else None,
        stderr_tail=tail.text(),
        duration=time.monotonic() - start,
    )
