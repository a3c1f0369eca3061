"""The agent process: W&B's own ``wandb agent``, with two sweepci adjustments.

``run_agent`` in ``wandb_sdk.py`` starts this module (``start_and_wait``) as
``python -m orchestrator.backends.wandb_agent_process ENTITY/PROJECT/SWEEP_ID --count N``.
There, ``main`` calls ``wandb.wandb_agent.agent`` exactly as the ``wandb agent`` command does
(same process model: the agent heartbeats to the W&B sweep server and starts each
run as a child process with the sweep's ``command``), and changes only:

- ``Agent.POLL_INTERVAL``: the CLI agent sleeps 5 s before its first heartbeat
  and after every run; sweepci lowers it so short runs do not idle.
The run config is left as W&B's agent writes it (the sweep's parameters only);
sweepci's CI context reaches each run through ``WANDB_NOTES`` in the environment.

Exit codes: 0 when the agent stopped normally, 3 when it could not work with
W&B (the reason on the last stderr line, prefixed ``sweepci-agent:``).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import subprocess
import sys
import threading
from collections import deque
from collections.abc import Callable
from pathlib import Path

ERROR_PREFIX = "sweepci-agent:"
EXIT_BACKEND = 3


def start_and_wait(
    args: list[str],
    env: dict[str, str],
    cwd: Path | None,
    log_path: Path,
    timeout: float | None,
    redact: Callable[[str], str],
) -> tuple[int, str | None]:
    """Run the agent process to its end; return its exit code and, on failure, why.

    Its output (the agent's log and the runs' output) is copied, redacted, to
    stderr and ``log_path``: stdout stays free for sweepci's own output. On
    timeout or interruption the agent is stopped and the exception re-raised.
    """
    # -P: the cwd is the user's project; a module of theirs named like one of
    # ours (or wandb) must not shadow it in the agent process.
    safe_path = ["-P"] if sys.version_info >= (3, 11) else []
    process = subprocess.Popen(
        [sys.executable, *safe_path, "-m", __name__, *args],
        env=env,
        cwd=cwd,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        errors="replace",
        start_new_session=True,  # Ctrl-C reaches sweepci, which stops the agent in order
    )
    tail: deque[str] = deque(maxlen=40)
    copier = threading.Thread(target=_copy_output, args=(process, log_path, tail, redact))
    copier.daemon = True
    copier.start()
    try:
        code = process.wait(timeout=timeout)
    except BaseException:  # TimeoutExpired, KeyboardInterrupt, SystemExit
        _stop(process)
        raise
    finally:
        copier.join(timeout=5)
    reason = next((line for line in reversed(tail) if line.startswith(ERROR_PREFIX)), None)
    return code, reason.removeprefix(ERROR_PREFIX).strip() if reason else None


def _copy_output(
    process: subprocess.Popen[str], log_path: Path, tail: deque[str], redact: Callable[[str], str]
) -> None:
    assert process.stdout is not None
    with open(log_path, "a", encoding="utf-8") as log:
        for line in process.stdout:
            line = redact(line)
            tail.append(line.strip())
            log.write(line)
            log.flush()
            sys.stderr.write(line)


def _stop(process: subprocess.Popen[str], grace: float = 10.0) -> None:
    """SIGTERM the agent (it forwards the signal to its run), then kill its group."""
    with contextlib.suppress(ProcessLookupError):
        process.terminate()
        try:
            process.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def main(argv: list[str] | None = None) -> int:
    """Run one W&B sweep agent until ``--count`` runs finished or the sweep is done."""
    parser = argparse.ArgumentParser(prog=f"python -m {__spec__.name if __spec__ else __name__}")
    parser.add_argument("sweep", help="ENTITY/PROJECT/SWEEP_ID")
    parser.add_argument("--count", type=int, required=True)
    parser.add_argument("--poll-interval", type=float, default=1.0)
    args = parser.parse_args(argv)
    try:
        from wandb import wandb_agent
    except ImportError:
        print(f"{ERROR_PREFIX} the W&B SDK is not installed", file=sys.stderr)
        return EXIT_BACKEND

    wandb_agent.Agent.POLL_INTERVAL = args.poll_interval
    try:
        # forward_signals: a cancelled CI job (SIGTERM) stops the run, not just the agent.
        wandb_agent.agent(args.sweep, count=args.count, forward_signals=True)
    except Exception as exc:  # every SDK failure: say it on one line for the parent
        message = " ".join(str(exc).split()) or type(exc).__name__
        print(f"{ERROR_PREFIX} {type(exc).__name__}: {message}", file=sys.stderr)
        return EXIT_BACKEND
    return 0


if __name__ == "__main__":
    sys.exit(main())
