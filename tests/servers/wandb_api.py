"""A stand-in for the W&B API, served on 127.0.0.1, for driving the real `wandb` SDK.

There is no network in tests, so this small server answers the requests the SDK
(Python API and wandb-core) really makes: GraphQL operations on ``POST /graphql``,
run history on ``POST /files/<entity>/<project>/<run>/file_stream``, and file
uploads on ``PUT /upload/...``. It keeps just enough state to play the W&B sweep
server (sweeps, agents, runs) and records every request for assertions.
Which requests and answers the SDK needs is written down in FACTS.md.

Faults can be injected per operation (a GraphQL operation name, ``file_stream``
or ``upload``): HTTP errors a number of times, 429 with ``Retry-After``, and slow
answers that outlast the client's timeout.
"""

from __future__ import annotations

import base64
import itertools
import json
import math
import os
import re
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

# The SDK's own Python-API queries carry no operationName; take it from the text.
_OPERATION_RE = re.compile(r"\b(?:query|mutation)\s+(\w+)")
_FILE_STREAM_RE = re.compile(r"^/files/([^/]+)/([^/]+)/([^/]+)/file_stream$")


@dataclass
class Fault:
    """One injected fault: an HTTP status (with optional Retry-After) or a delay."""

    status: int | None = None
    retry_after: float | None = None
    delay: float = 0.0
    times: int | None = 1  # None: every time


@dataclass
class Recorded:
    """One request as the server saw it."""

    method: str
    path: str
    headers: dict[str, str]
    operation: str | None
    variables: dict[str, Any]
    body: Any
    status: int = 0
    at: float = field(default_factory=time.monotonic)


@dataclass
class StandInState:
    """Everything the stand-in remembers; guarded by ``WandbStandIn.lock``."""

    sweeps: dict[str, dict[str, Any]] = field(default_factory=dict)
    runs: dict[str, dict[str, Any]] = field(default_factory=dict)
    agents: dict[str, dict[str, Any]] = field(default_factory=dict)
    uploads: dict[str, bytes] = field(default_factory=dict)


class _QuietServer(ThreadingHTTPServer):
    """Keeps handler exceptions for assertions instead of printing them."""

    daemon_threads = True
    handler_errors: list[str]

    def handle_error(self, request: Any, client_address: Any) -> None:
        import sys
        import traceback

        error = sys.exc_info()[1]
        if isinstance(error, ConnectionError):
            return  # a client that hung up (timeouts, process exit) is not a server bug
        self.handler_errors.append("".join(traceback.format_exc()))


class WandbStandIn:
    """The stand-in server: start it, point ``WANDB_BASE_URL`` at ``url``, inspect state."""

    def __init__(self, api_key: str, default_entity: str = "standin-entity") -> None:
        self.api_key = api_key
        self.default_entity = default_entity
        self.state = StandInState()
        self.requests: list[Recorded] = []
        self.lock = threading.Lock()
        self._faults: dict[str, list[Fault]] = {}
        self._ids = itertools.count(1)
        self._stopping = threading.Event()
        self._httpd = _QuietServer(("127.0.0.1", 0), _make_handler(self))
        self._httpd.handler_errors = []
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    @property
    def handler_errors(self) -> list[str]:
        """Tracebacks of exceptions raised while answering (should stay empty)."""
        return self._httpd.handler_errors

    @property
    def url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> WandbStandIn:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()  # wakes handlers sleeping in an injected delay
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)

    # -- faults -------------------------------------------------------------------------------

    def inject(
        self,
        operation: str,
        *,
        status: int | None = None,
        retry_after: float | None = None,
        delay: float = 0.0,
        times: int | None = 1,
    ) -> None:
        """Make the next ``times`` requests for ``operation`` fail (``None``: all of them)."""
        with self.lock:
            self._faults.setdefault(operation, []).append(
                Fault(status=status, retry_after=retry_after, delay=delay, times=times)
            )

    def _take_fault(self, operation: str | None) -> Fault | None:
        with self.lock:
            queue = self._faults.get(operation or "", [])
            if not queue:
                return None
            fault = queue[0]
            if fault.times is not None:
                fault.times -= 1
                if fault.times <= 0:
                    queue.pop(0)
            return fault

    # -- queries for tests ----------------------------------------------------------------------

    def operations(self) -> list[str]:
        """Operation names in arrival order (``file_stream``/``upload`` for non-GraphQL)."""
        with self.lock:
            return [r.operation or r.path for r in self.requests]

    def requests_for(self, operation: str) -> list[Recorded]:
        with self.lock:
            return [r for r in self.requests if r.operation == operation]

    def sweep_runs(self, sweep_id: str) -> list[dict[str, Any]]:
        with self.lock:
            return [dict(r) for r in self.state.runs.values() if r.get("sweep") == sweep_id]

    def next_id(self, prefix: str) -> str:
        return f"{prefix}{next(self._ids):04d}"

    def authorized(self, header: str | None) -> bool:
        expected = "Basic " + base64.b64encode(f"api:{self.api_key}".encode()).decode()
        return header == expected

    def sleep(self, seconds: float) -> None:
        self._stopping.wait(seconds)


def _make_handler(server: WandbStandIn) -> type[BaseHTTPRequestHandler]:
    from tests.servers.wandb_graphql import answer_graphql, record_file_stream

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
            pass  # keep test output clean; everything is in server.requests

        def _read_body(self) -> bytes:
            length = int(self.headers.get("Content-Length") or 0)
            return self.rfile.read(length) if length else b""

        def _send(self, status: int, payload: Any, extra: dict[str, str] | None = None) -> None:
            data = json.dumps(payload).encode() if payload is not None else b""
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            for key, value in (extra or {}).items():
                self.send_header(key, value)
            self.end_headers()
            self.wfile.write(data)

        def _record(self, operation: str | None, variables: dict, body: Any) -> Recorded:
            entry = Recorded(
                method=self.command,
                path=self.path,
                headers=dict(self.headers.items()),
                operation=operation,
                variables=variables,
                body=body,
            )
            with server.lock:
                server.requests.append(entry)
            return entry

        def _fault_answer(self, entry: Recorded) -> bool:
            """Apply an injected fault; True when it already answered."""
            fault = server._take_fault(entry.operation)
            if fault is None:
                return False
            if fault.delay:
                server.sleep(fault.delay)
            if fault.status is None:
                return False
            extra = {}
            if fault.retry_after is not None:
                extra["Retry-After"] = str(math.ceil(fault.retry_after))
            entry.status = fault.status
            self._send(fault.status, {"errors": [{"message": "injected fault"}]}, extra)
            return True

        def do_POST(self) -> None:  # noqa: N802
            raw = self._read_body()
            path = urlparse(self.path).path
            try:
                body = json.loads(raw or b"{}")
            except ValueError:
                body = raw.decode(errors="replace")
            if path == "/graphql":
                self._graphql(body)
            elif match := _FILE_STREAM_RE.match(path):
                entry = self._record("file_stream", {}, body)
                if self._fault_answer(entry):
                    return
                if not server.authorized(self.headers.get("Authorization")):
                    entry.status = 401
                    self._send(401, {"error": "unauthorized"})
                    return
                record_file_stream(server, *match.groups(), body)
                entry.status = 200
                self._send(200, {"exitcode": None, "limits": {}})
            else:
                self._record(None, {}, body).status = 404
                self._send(404, {"error": "not found"})

        def _graphql(self, body: Any) -> None:
            if not isinstance(body, dict):
                self._record(None, {}, body).status = 400
                self._send(400, {"errors": [{"message": "bad request"}]})
                return
            query = body.get("query") or ""
            operation = body.get("operationName")
            if not operation:
                match = _OPERATION_RE.search(query)
                operation = match.group(1) if match else None
            variables = body.get("variables") or {}
            entry = self._record(operation, variables, body)
            if self._fault_answer(entry):
                return
            if not server.authorized(self.headers.get("Authorization")):
                # What W&B does with a bad key: 401, and a null viewer.
                entry.status = 401
                self._send(
                    401,
                    {"data": {"viewer": None}, "errors": [{"message": "user is not logged in"}]},
                )
                return
            try:
                data = answer_graphql(server, operation, variables, query)
            except LookupError as exc:
                entry.status = 404
                self._send(404, {"data": None, "errors": [{"message": str(exc)}]})
                return
            entry.status = 200
            self._send(200, {"data": data})

        def do_PUT(self) -> None:  # noqa: N802
            raw = self._read_body()
            entry = self._record("upload", {}, None)
            if self._fault_answer(entry):
                return
            with server.lock:
                server.state.uploads[urlparse(self.path).path] = raw
            entry.status = 200
            self._send(200, None)

        def do_GET(self) -> None:  # noqa: N802
            self._record(None, {}, None).status = 404
            self._send(404, {"error": "not found"})

    return Handler


# A fake key of the length the SDK accepts (40+); "canary" makes leaks easy to find.
CANARY_KEY = "canary" + "0123456789abcdef" * 2 + "deadbeef"


def make_sdk_env(root: Path, server: WandbStandIn, key: str = CANARY_KEY) -> dict[str, str]:
    """A minimal environment for the SDK: HOME, TMPDIR and W&B dirs under ``root``."""
    dirs = {name: root / name.lower() for name in ("HOME", "TMPDIR", "WANDB_DIR")}
    dirs["WANDB_CONFIG_DIR"] = root / "wandb-config"
    dirs["WANDB_CACHE_DIR"] = root / "wandb-cache"
    for path in dirs.values():
        path.mkdir(parents=True, exist_ok=True)
    (dirs["WANDB_DIR"] / "wandb").mkdir(exist_ok=True)
    env = {name: str(path) for name, path in dirs.items()}
    env.update(
        PATH=os.environ.get("PATH", "/usr/bin:/bin"),
        WANDB_BASE_URL=server.url,
        WANDB_API_KEY=key,
        WANDB_SILENT="true",
    )
    return env


def files_containing(root: Path, needle: str) -> list[Path]:
    """Every file under ``root`` whose bytes contain ``needle``."""
    found = []
    for path in root.rglob("*"):
        if path.is_file() and not path.is_symlink():
            try:
                if needle.encode() in path.read_bytes():
                    found.append(path)
            except OSError:
                continue  # sockets and files that vanished mid-walk
    return found
