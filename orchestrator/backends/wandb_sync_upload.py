"""Uploading offline runs with the SDK's ``wandb sync``, each from a copy that names no sweep.

W&B refuses a run of a sweep it does not know (wandb/wandb#8115), so each run
file is copied with the sweep id blanked in its run record, in W&B's record
log format, and ``wandb sync`` replays the copies. Its output lines become
progress and per-run errors; a run counts as uploaded only when the SDK left
its ``.synced`` marker and printed no error for it.
"""

from __future__ import annotations

import re
import shutil
import struct
import subprocess
import sys
import tempfile
import threading
import zlib
from collections.abc import Callable
from pathlib import Path

from orchestrator.agent import wandb_files
from orchestrator.agent.process import kill_group
from orchestrator.backends import wandb_sdk

# A failing upload should fail in seconds and be retried by the next sync (which
# resumes), not hold a CI job for the SDK's default minutes of retries. The
# caller's own values win.
SYNC_RETRIES = {
    "WANDB__FILE_STREAM_RETRY_MAX": "3",
    "WANDB__FILE_STREAM_RETRY_WAIT_MAX_SECONDS": "2",
    "WANDB__FILE_TRANSFER_RETRY_MAX": "3",
    "WANDB__FILE_TRANSFER_RETRY_WAIT_MAX_SECONDS": "2",
}

# `wandb sync` prints one line per run event, prefixed with ENTITY/PROJECT/RUN.
_FINISHED_RE = re.compile(r"\[[^\]/]+/[^\]/]+/([^\]/]+)\] Finished syncing")
_RUN_ERROR_RE = re.compile(r"ERROR \[[^\]/]+/[^\]/]+/([^\]/]+)\] (.*)")

Progress = Callable[[str], None]


def upload_runs(
    pending: dict[str, Path],
    project: str,
    entity: str,
    env: dict[str, str],
    workdir: Path,
    parallel: int,
    timeout: float,
    progress: Progress,
) -> dict[str, str | None]:
    """Run ``wandb sync`` on sweep-free copies of the runs; run id -> None (uploaded) or why not."""
    # not silent: its error lines are how a failed upload shows
    env = {k: v for k, v in env.items() if k not in ("WANDB_SILENT", "WANDB_MODE")}
    for name, default in SYNC_RETRIES.items():
        env.setdefault(name, default)
    reasons: dict[str, str | None] = {}
    with tempfile.TemporaryDirectory(prefix="sync-", dir=workdir) as tmp:
        copies: dict[str, Path] = {}
        for run_id, path in pending.items():
            copy = Path(tmp) / path.parent.name / path.name
            if _copy_without_sweep(path, copy):
                copies[run_id] = copy
            else:
                reasons[run_id] = "its W&B file has no run record (it ended before wandb.init did)"
        if not copies:
            return reasons
        argv = [sys.executable, "-m", "wandb", "sync", *(str(c.parent) for c in copies.values())]
        argv += ["--project", project, "--entity", entity, "-n", str(parallel)]
        errors, general, timed_out = _run_wandb_sync(
            argv, env, workdir, timeout, len(copies), progress
        )
        for run_id, copy in copies.items():
            marked = copy.with_suffix(".wandb.synced").exists()  # the SDK's "this file is uploaded"
            if run_id in errors:  # the marker is written even after a failed history upload
                reasons[run_id] = errors[run_id]
            elif marked:
                reasons[run_id] = None
            elif timed_out:
                reasons[run_id] = f"wandb sync did not finish within {timeout:g} s"
            else:
                reasons[run_id] = "; ".join(general) or "wandb sync did not upload it"
    return reasons


def _run_wandb_sync(
    argv: list[str], env: dict[str, str], cwd: Path, timeout: float, total: int, progress: Progress
) -> tuple[dict[str, str], list[str], bool]:
    """Run ``wandb sync``, turning its lines into progress; (errors by run, other errors, timed out)."""
    errors: dict[str, str] = {}
    general: list[str] = []
    finished = [0]
    last = [""]
    proc = subprocess.Popen(
        argv,
        cwd=cwd,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        errors="replace",
        start_new_session=True,
    )

    def read() -> None:
        assert proc.stdout is not None
        for raw in proc.stdout:
            line = wandb_sdk.scrub(raw.removeprefix("wandb: "), env)
            last[0] = line or last[0]
            if match := _RUN_ERROR_RE.search(line):
                errors.setdefault(match.group(1), "wandb sync: " + match.group(2))
                progress(f"run {match.group(1)}: wandb sync: {match.group(2)}")
            elif line.startswith("ERROR"):
                general.append("wandb sync: " + line.removeprefix("ERROR").strip())
                progress(f"wandb sync: {line}")
            elif match := _FINISHED_RE.search(line):
                finished[0] += 1
                progress(f"[{finished[0]}/{total}] run {match.group(1)} sent")

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    timed_out = False
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        timed_out = True
        progress(f"wandb sync did not finish within {timeout:g} s; stopping it")
    finally:
        _stop(proc)
        reader.join(timeout=10)
    if proc.returncode and not timed_out:  # it crashed, e.g. a traceback instead of ERROR lines
        general.append(f"wandb sync exited with code {proc.returncode}: {last[0]}")
    return errors, general, timed_out


def _stop(proc: subprocess.Popen) -> None:
    """Stop ``wandb sync`` and its children: politely (it shuts wandb-core down), then not."""
    kill_group(proc.pid, grace=5.0, proc=proc)
    proc.wait()


def _copy_without_sweep(src: Path, dst: Path) -> bool:
    """Copy offline run file ``src`` (and its ``files/``) to ``dst``, its run record naming no sweep.

    False when the file has no run record: ``wandb sync`` could not replay it.
    """
    from google.protobuf.message import DecodeError
    from wandb.proto import wandb_internal_pb2

    payloads, has_run = [], False
    for payload in wandb_files.iter_record_payloads(src.read_bytes()):
        record = wandb_internal_pb2.Record()
        try:
            record.ParseFromString(payload)
        except DecodeError:
            continue
        if record.WhichOneof("record_type") == "run":
            has_run = True
            if record.run.sweep_id:
                record.run.sweep_id = ""
                payload = record.SerializeToString()
        payloads.append(payload)
    if not has_run:
        return False
    dst.parent.mkdir(parents=True)
    # the files the run saved (wandb.save, requirements.txt) are uploaded too
    if (src.parent / "files").is_dir():
        shutil.copytree(src.parent / "files", dst.parent / "files")
    _write_record_log(dst, payloads)
    return True


def _write_record_log(path: Path, payloads: list[bytes]) -> None:
    """Write payloads in W&B's record log format (the one ``wandb_files`` reads)."""
    out = bytearray(struct.pack("<4sHB", wandb_files.FILE_IDENT, wandb_files.FILE_MAGIC, 0))
    block, head = wandb_files.BLOCK_SIZE, wandb_files.HEADER_SIZE
    for payload in payloads:
        pos, first = 0, True
        while True:
            left = block - len(out) % block
            if left < head:  # too small for a header: pad to the next block
                out += b"\0" * left
                continue
            chunk = payload[pos : pos + left - head]
            pos += len(chunk)
            last = pos >= len(payload)
            if first:
                kind = wandb_files.FULL if last else wandb_files.FIRST
            else:
                kind = wandb_files.LAST if last else wandb_files.MIDDLE
            crc = zlib.crc32(chunk, zlib.crc32(bytes([kind])))
            out += struct.pack("<IHB", crc, len(chunk), kind) + chunk
            first = False
            if last:
                break
    path.write_bytes(bytes(out))
