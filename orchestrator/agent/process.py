"""Running one child process: its own process group, bounded stderr tail, clean stop.

The child gets its own session so that the whole group (the program and
anything it forks) can be stopped at once on timeout, early termination,
Ctrl-C or SIGTERM; its group id is recorded in the store at once, so an agent
that is SIGKILLed leaves a group that `--resume` stops. On Linux the agent
waits on a pidfd and the stderr pipe with one select(), so it notices the
exit at once without helper threads (per-run overhead matters for short runs).
"""

from __future__ import annotations

import collections
import os
import select
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from orchestrator.store.run_processes import MARKER, kill_marked

TAIL_LINES = 40
TAIL_BYTES = 8192
STOP_GRACE_S = 5.0
DRAIN_AFTER_EXIT_S = 2.0


class StderrTail:
    """Copies stderr to a log file and keeps only the last lines in memory
    (a run may print megabytes)."""

    def __init__(self, log_path: Path, echo: bool = False):
        self._log = open(log_path, "ab")  # noqa: SIM115 - closed in close()
        self._echo = echo
        self._lines: collections.deque[bytes] = collections.deque(maxlen=TAIL_LINES)
        self._partial = b""

    def feed(self, data: bytes) -> None:
        try:
            self._log.write(data)
        except OSError:
            pass  # a full disk must not stop the run; the tail still has it
        if self._echo:
            sys.stderr.buffer.write(data)
            sys.stderr.flush()
        chunk = self._partial + data
        *lines, self._partial = chunk.split(b"\n")
        for line in lines:
            self._lines.append(line[-TAIL_BYTES:] + b"\n")
        self._partial = self._partial[-TAIL_BYTES:]

    def close(self) -> None:
        if self._partial:
            self._lines.append(self._partial)
            self._partial = b""
        try:
            self._log.close()
        except OSError:
            pass

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


def kill_group(
    pgid: int, grace: float = STOP_GRACE_S, proc: subprocess.Popen | None = None
) -> None:
    """SIGTERM the group, wait up to `grace`, then SIGKILL whatever is left."""
    try:
        os.killpg(pgid, signal.SIGTERM)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is None:
            time.sleep(0.02)
            continue
        try:
            os.killpg(pgid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.02)
    try:
        os.killpg(pgid, signal.SIGKILL)
    except ProcessLookupError:
        pass


class _ExitWatcher:
    """Becomes ready when the child exits: a pidfd on Linux, else a waiting thread."""

    def __init__(self, proc: subprocess.Popen):
        self.proc = proc
        self.fd: int | None = None
        self._event: threading.Event | None = None
        try:
            self.fd = os.pidfd_open(proc.pid)  # type: ignore[attr-defined]
        except (AttributeError, OSError):
            self._event = threading.Event()
            threading.Thread(target=lambda: (proc.wait(), self._event.set()), daemon=True).start()

    def exited(self) -> bool:
        if self._event is not None:
            return self._event.is_set()
        return self.proc.poll() is not None

    def close(self) -> None:
        if self.fd is not None:
            os.close(self.fd)


def run_process(
    argv: list[str],
    *,
    cwd: Path,
    env: dict[str, str],
    stdout_path: Path,
    stderr_path: Path,
    timeout: float | None,
    on_started: Callable[[int], None],
    poll: Callable[[], tuple[str, str] | None],
    echo: bool = False,
    poll_interval: float = 0.1,
) -> Outcome:
    """Run argv to the end. `poll()` is called while it runs and may return
    (kind, reason) to stop it: kind "killed" (early termination, budget) or
    "interrupted" (Ctrl-C / SIGTERM of the agent)."""
    start = time.monotonic()
    tail = StderrTail(stderr_path, echo=echo)
    with open(stdout_path, "ab") as out:
        try:
            proc = subprocess.Popen(
                argv,
                cwd=cwd,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=None if echo else out,
                stderr=subprocess.PIPE,
                start_new_session=True,
            )
        except OSError as exc:
            tail.close()
            return Outcome(127, None, None, f"cannot start {argv[0]!r}: {exc.strerror}", 0.0)
    pgid = proc.pid  # start_new_session: the child leads its own group
    watcher = _ExitWatcher(proc)
    err_fd = proc.stderr.fileno()
    os.set_blocking(err_fd, False)
    err_open = True
    stop: tuple[str, str] | None = None
    next_poll = 0.0
    try:
        on_started(pgid)
    except BaseException:
        _abandon(pgid, proc, watcher, tail, env)
        raise
    try:
        while not watcher.exited():
            fds = [fd for fd in (watcher.fd, err_fd if err_open else None) if fd is not None]
            ready, _, _ = select.select(fds, [], [], poll_interval)
            if err_open and err_fd in ready:
                err_open = _read_into(err_fd, tail)
            now = time.monotonic()
            if now < next_poll and not watcher.exited():
                continue
            next_poll = now + poll_interval
            if timeout is not None and now - start > timeout:
                stop = ("killed", f"timed out after {timeout:g} s (--run-timeout)")
            else:
                stop = poll()
            if stop is not None:
                kill_group(pgid, proc=proc)
                break
    except BaseException:
        # the store failed (locked, disk full) or the agent is going down: never leave
        # the run's processes behind
        _abandon(pgid, proc, watcher, tail, env)
        raise
    try:
        returncode = proc.wait()
        # drain what the program wrote before exiting; grandchildren holding the
        # pipe open are stopped with the group so the pipe reaches EOF
        deadline = time.monotonic() + DRAIN_AFTER_EXIT_S
        while err_open and time.monotonic() < deadline:
            ready, _, _ = select.select([err_fd], [], [], 0.05)
            if ready:
                err_open = _read_into(err_fd, tail)
            else:
                try:
                    os.killpg(pgid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
        try:
            os.killpg(pgid, signal.SIGKILL)  # no orphans from this run
        except ProcessLookupError:
            pass
        _stop_daemons(env, pgid)
    finally:
        watcher.close()
        proc.stderr.close()
        tail.close()
    return Outcome(
        returncode=returncode,
        stop_reason=stop[1] if stop else None,
        stop_kind=stop[0] if stop else None,
        stderr_tail=tail.text(),
        duration=time.monotonic() - start,
    )


def _abandon(
    pgid: int,
    proc: subprocess.Popen,
    watcher: _ExitWatcher,
    tail: StderrTail,
    env: dict[str, str],
) -> None:
    """Stop the run's whole group at once and release what run_process holds."""
    try:
        os.killpg(pgid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    proc.wait()
    _stop_daemons(env, pgid)
    watcher.close()
    proc.stderr.close()
    tail.close()


def _stop_daemons(env: dict[str, str], first_pid: int) -> None:
    """Processes of the run that left its group (double fork + setsid) still carry its
    SWEEPCI_RUN_ID: stop them too, so no process outlives its run (Linux; see
    store/run_processes)."""
    run_id = env.get(MARKER)
    if run_id:
        kill_marked(run_id, after_pid=first_pid)


def _read_into(fd: int, tail: StderrTail) -> bool:
    """Read what is available; False at EOF."""
    while True:
        try:
            data = os.read(fd, 65536)
        except BlockingIOError:
            return True
        except OSError:
            return False
        if not data:
            return False
        tail.feed(data)
