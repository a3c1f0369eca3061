"""One run per GPU on this machine: an exclusive lock file per device, held during a run.

Agents started by one `--gpus` get disjoint devices already; the locks also keep two
sweepci processes started separately (two sweeps, two terminals) off one device. The
kernel drops a flock when its holder dies, so a crashed run or a SIGKILLed agent frees
its device without any clean-up.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

#: where the lock files live (default: a per-user directory in the system temp dir)
LOCK_DIR_ENV = "SWEEPCI_GPU_LOCK_DIR"
POLL_S = 0.2


def lock_dir() -> Path:
    raw = os.environ.get(LOCK_DIR_ENV)
    if raw:
        return Path(raw)
    uid = os.getuid() if hasattr(os, "getuid") else 0
    return Path(tempfile.gettempdir()) / f"sweepci-{uid}" / "gpu-locks"


def _lock_path(root: Path, device: str) -> Path:
    # a UUID may hold '/', so the file is named by a digest of the device id
    digest = hashlib.sha256(device.encode()).hexdigest()[:16]
    return root / f"gpu-{digest}.lock"


@contextlib.contextmanager
def hold_devices(
    devices: Sequence[str],
    should_stop: Callable[[], bool],
    on_wait: Callable[[str], None] | None = None,
) -> Iterator[bool]:
    """Hold every device of a slot for the duration of the block.

    Yields True once all are held, or False if `should_stop()` became true while another
    process held one (the caller then starts no run). Without fcntl (Windows) nothing
    is locked: GPU sweeps there rely on the disjoint slots alone.
    """
    try:
        import fcntl
    except ImportError:
        yield True
        return
    root = lock_dir()
    root.mkdir(parents=True, exist_ok=True, mode=0o700)
    held: list[int] = []
    try:
        for device in sorted(devices):  # one order for everyone: no deadlock between slots
            fd = os.open(_lock_path(root, device), os.O_RDWR | os.O_CREAT, 0o600)
            held.append(fd)
            told = False
            while True:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if should_stop():
                        yield False
                        return
                    if not told and on_wait is not None:
                        on_wait(device)
                        told = True
                    time.sleep(POLL_S)
        yield True
    finally:
        for fd in held:
            os.close(fd)  # closing drops the lock
