"""Which processes are a run's, and whether a run's agent still lives: checked, never assumed.

A pid or a process-group id read from the store may belong to someone else by
now (pids are reused), so none is signalled on the store's say-so:

- an agent is alive only if its pid runs and that process started before the
  run was claimed (its start time from /proc/<pid>/stat); a reused pid
  started later, so its run is recovered;
- a run's processes are those that carry its `SWEEPCI_RUN_ID` in their
  environment, which the agent gives the program and every process it
  starts inherits, daemons that double-fork and call setsid included. Only
  they are signalled, whatever their group or session now is.

Both need /proc (Linux). Elsewhere no process is signalled on recovery (a
stale run is still recovered when its agent pid is gone), and a program that
daemonises may outlive its run.
"""

from __future__ import annotations

import os
import signal
from collections.abc import Iterable
from pathlib import Path

MARKER = "SWEEPCI_RUN_ID"
#: the start time has a clock tick's resolution; an agent claims a run well after it starts
START_SLACK_S = 1.0
_PROC = Path("/proc")


def _boot_time() -> float | None:
    try:
        for line in (_PROC / "stat").read_text().splitlines():
            if line.startswith("btime "):
                return float(line.split()[1])
    except OSError:
        return None
    return None


_BOOT = _boot_time()
_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def started_at(pid: int) -> float | None:
    """When process `pid` started (epoch seconds), or None when it cannot be told."""
    if _BOOT is None:
        return None
    try:
        stat = (_PROC / str(pid) / "stat").read_bytes()
        fields = stat.rsplit(b")", 1)[1].split()
        return _BOOT + int(fields[19]) / _TICKS  # field 22: starttime in clock ticks
    except (OSError, IndexError, ValueError):
        return None


def _state(pid: int) -> bytes | None:
    try:
        return (_PROC / str(pid) / "stat").read_bytes().rsplit(b")", 1)[1].split()[0]
    except (OSError, IndexError):
        return None


def agent_alive(pid: int | None, claimed_at: float | None) -> bool:
    """The agent that claimed a run at `claimed_at` still runs as `pid` (not a reused pid)."""
    if not pid:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # another user's process: not ours to judge by its start time
    if _state(pid) == b"Z":
        return False  # dead, not yet reaped
    start = started_at(pid)
    if start is not None and claimed_at is not None and start > claimed_at + START_SLACK_S:
        return False  # the pid was reused after the run was claimed
    return True


def _candidates(after_pid: int | None) -> Iterable[int]:
    try:
        names = os.listdir(_PROC)
    except OSError:
        return []
    pids = [int(n) for n in names if n.isdigit()]
    if after_pid is None:
        return pids
    try:
        last = int((_PROC / "sys" / "kernel" / "ns_last_pid").read_text())
    except (OSError, ValueError):
        return pids
    # processes made since `after_pid` was: pids are handed out in order, wrapping around
    if last >= after_pid:
        return [p for p in pids if after_pid <= p <= last]
    return [p for p in pids if p >= after_pid or p <= last]


def marked_processes(run_id: str, after_pid: int | None = None) -> list[int]:
    """Pids of the processes carrying `SWEEPCI_RUN_ID=run_id` (only those made since
    `after_pid` when given); never this process or its parent."""
    needle = f"{MARKER}={run_id}\0".encode()
    mine = {os.getpid(), os.getppid()}
    found = []
    for pid in _candidates(after_pid):
        if pid in mine:
            continue
        try:
            environ = (_PROC / str(pid) / "environ").read_bytes()
        except OSError:
            continue  # gone, or another user's
        if environ.startswith(needle) or b"\0" + needle in environ:
            found.append(pid)
    return found


def kill_marked(run_id: str, after_pid: int | None = None, rounds: int = 20) -> int:
    """SIGKILL every process of the run (see `marked_processes`) until none is left;
    children of this process are reaped. Returns how many were killed."""
    killed = 0
    for _ in range(rounds):
        pids = [p for p in marked_processes(run_id, after_pid) if _state(p) != b"Z"]
        if not pids:
            break
        for pid in pids:
            try:
                os.kill(pid, signal.SIGKILL)
                killed += 1
            except (ProcessLookupError, PermissionError):
                continue
        for pid in pids:
            try:
                os.waitpid(pid, os.WNOHANG)  # only our own children can be reaped
            except ChildProcessError:
                pass
    return killed
