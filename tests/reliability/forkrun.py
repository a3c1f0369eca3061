"""A fork server for the real CLI: one real process per input, without paying Python's start-up each time.

`python -m tests.reliability.forkrun` imports sweepci once, then reads one JSON
request per line on stdin ({"argv", "cwd", "env", "timeout"}), forks a child
that runs `orchestrator.cli.main.main(argv)` with that working directory,
environment and its own stdout/stderr files, waits for it and answers one
JSON line (returncode, stdout, stderr). Each input still runs in its own
process, with a real exit status and real file descriptors; only the imports
are shared. The bad-input suite feeds hundreds of inputs through it.
"""

from __future__ import annotations

import importlib
import json
import os
import signal
import sys
import tempfile
import time

# imported up front so that children start warm; modules still being written may be missing
WARM = (
    "orchestrator.cli.main",
    "orchestrator.cli.validate",
    "orchestrator.cli.plan",
    "orchestrator.cli.run",
    "orchestrator.cli.show",
    "orchestrator.cli.runs",
    "orchestrator.cli.merge",
    "orchestrator.cli.context",
    "orchestrator.cli.report",
    "orchestrator.cli.workflow",
    "orchestrator.cli.dispatch",
    "orchestrator.cli.sync",
    "orchestrator.cli.artifacts",
    "orchestrator.commands.sweep",
    "orchestrator.agent.plan",
    "orchestrator.store",
    "orchestrator.store.runs",
    "orchestrator.store.queries",
    "orchestrator.store.merge",
    "orchestrator.ci.prepare",
    "orchestrator.backends.local",
    "orchestrator.cli.results",
    "orchestrator.commands.results",
    "orchestrator.report",
    "orchestrator.report.summary",
    "orchestrator.github.dispatch",
    "orchestrator.github.render",
    "orchestrator.github.jobplan",
    "orchestrator.github.api",
    "orchestrator.ci.repo",
    "git",
)


def _child(request: dict, out_path: str, err_path: str) -> None:
    out = os.open(out_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    err = os.open(err_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.dup2(out, 1)
    os.dup2(err, 2)
    os.close(out)
    os.close(err)
    code = 1
    try:
        os.chdir(request["cwd"])
        os.environ.clear()
        os.environ.update(request["env"])
        tempfile.tempdir = None  # TMPDIR may differ per request
        signal.signal(signal.SIGINT, signal.default_int_handler)
        from orchestrator.cli.main import main

        main(list(request["argv"]))
        code = 0
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    except BaseException:  # noqa: BLE001 - the child reports whatever escaped main()
        import traceback

        traceback.print_exc()
        code = 1
    finally:
        try:
            sys.stdout.flush()
            sys.stderr.flush()
        finally:
            os._exit(code)


def serve() -> None:
    for name in WARM:
        importlib.import_module(name)  # a renamed module fails here, not later and slower
    scratch = tempfile.mkdtemp(prefix="sweepci-forkrun-")
    print(json.dumps({"ready": True}), flush=True)
    for line in sys.stdin:
        request = json.loads(line)
        out_path, err_path = os.path.join(scratch, "out"), os.path.join(scratch, "err")
        sys.stdout.flush()
        pid = os.fork()
        if pid == 0:
            _child(request, out_path, err_path)
        deadline = time.monotonic() + float(request.get("timeout", 60))
        status = None
        while status is None:
            done, raw = os.waitpid(pid, os.WNOHANG)
            if done:
                status = raw
            elif time.monotonic() > deadline:
                os.kill(pid, signal.SIGKILL)
                status = os.waitpid(pid, 0)[1]
            else:
                time.sleep(0.005)
        code = os.waitstatus_to_exitcode(status)
        with open(out_path, encoding="utf-8", errors="replace") as fh:
            stdout = fh.read()
        with open(err_path, encoding="utf-8", errors="replace") as fh:
            stderr = fh.read()
        print(json.dumps({"returncode": code, "stdout": stdout, "stderr": stderr}), flush=True)


if __name__ == "__main__":
    serve()
