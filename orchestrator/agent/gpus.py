"""Which GPUs this machine has, and how `--gpus` / `--gpus-per-run` split them into slots.

A slot is the device(s) one agent owns: its runs see exactly those through
`CUDA_VISIBLE_DEVICES`, one run at a time. What `nvidia-smi` prints and what an
inherited `CUDA_VISIBLE_DEVICES` holds are untrusted text: read in bounded time and
size, every token checked, never passed to a shell.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from orchestrator.errors import BackendError, UsageError

QUERY = ("--query-gpu=index", "--format=csv,noheader")
NVIDIA_SMI_TIMEOUT_S = 10.0
MAX_OUTPUT_BYTES = 64 * 1024
MAX_DEVICES = 64  # the most agents `--parallel` allows, too
#: an index, or a GPU / MIG UUID as CUDA_VISIBLE_DEVICES accepts them
_DEVICE = re.compile(r"(?:[0-9]{1,3}|(?:GPU|MIG)-[0-9A-Za-z/-]{1,80})")
_COUNT = re.compile(r"[1-9][0-9]{0,2}")


@dataclass(frozen=True)
class Found:
    """The devices found and where they came from (said to the user)."""

    devices: tuple[str, ...]
    source: str


def parse_device_list(text: str, what: str) -> tuple[str, ...]:
    """'0,2,3' -> ('0', '2', '3'); each a GPU index or UUID, no repeats."""
    items = [t.strip() for t in text.split(",")]
    items = [t for t in items if t]
    if len(items) > MAX_DEVICES:
        raise UsageError(f"{what}: {len(items)} devices; at most {MAX_DEVICES}")
    for item in items:
        if not _DEVICE.fullmatch(item):
            raise UsageError(
                f"{what}: {_short(item)!r} is not a GPU index (0, 1, ...) or a GPU-/MIG- UUID"
            )
    if len(set(items)) != len(items):
        raise UsageError(f"{what}: a device is named twice ({text.strip()[:80]})")
    return tuple(items)


def detect(env: Mapping[str, str] | None = None) -> Found:
    """The devices this process may use: an existing CUDA_VISIBLE_DEVICES wins (a runner
    or a scheduler already chose them), else the indices nvidia-smi lists."""
    env = os.environ if env is None else env
    inherited = env.get("CUDA_VISIBLE_DEVICES")
    if inherited is not None and inherited.strip() not in ("", "-1"):
        return Found(parse_device_list(inherited, "CUDA_VISIBLE_DEVICES"), "CUDA_VISIBLE_DEVICES")
    if inherited is not None:
        return Found((), "CUDA_VISIBLE_DEVICES (empty: no GPU visible)")
    return Found(_query_nvidia_smi(env), "nvidia-smi")


def _query_nvidia_smi(env: Mapping[str, str]) -> tuple[str, ...]:
    exe = shutil.which("nvidia-smi", path=env.get("PATH"))
    if exe is None:
        return ()
    try:
        proc = subprocess.Popen(
            [exe, *QUERY],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            env=dict(env),
            start_new_session=True,
        )
    except OSError as exc:
        raise BackendError(f"--gpus auto: cannot run nvidia-smi: {exc.strerror}") from None
    try:
        out, _ = _communicate_bounded(proc)
    finally:
        _stop(proc)
    if proc.returncode != 0:
        raise BackendError(
            f"--gpus auto: nvidia-smi exited {proc.returncode}; is the driver loaded? "
            "(or name the devices: --gpus 0,1)"
        )
    return _parse_indices(out)


def _communicate_bounded(proc: subprocess.Popen) -> tuple[bytes, None]:
    """At most MAX_OUTPUT_BYTES of stdout within NVIDIA_SMI_TIMEOUT_S, then stop reading."""
    import selectors
    import time

    assert proc.stdout is not None
    deadline = time.monotonic() + NVIDIA_SMI_TIMEOUT_S
    chunks: list[bytes] = []
    size = 0
    with selectors.DefaultSelector() as sel:
        sel.register(proc.stdout, selectors.EVENT_READ)
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise BackendError(
                    f"--gpus auto: nvidia-smi gave no answer within {NVIDIA_SMI_TIMEOUT_S:g} s"
                )
            if not sel.select(timeout=left):
                continue
            data = os.read(proc.stdout.fileno(), 65536)
            if not data:
                break
            size += len(data)
            if size > MAX_OUTPUT_BYTES:
                raise BackendError(
                    f"--gpus auto: nvidia-smi printed more than {MAX_OUTPUT_BYTES // 1024} KiB"
                )
            chunks.append(data)
    try:
        proc.wait(timeout=max(0.1, deadline - time.monotonic()))
    except subprocess.TimeoutExpired:
        raise BackendError(
            f"--gpus auto: nvidia-smi did not exit within {NVIDIA_SMI_TIMEOUT_S:g} s"
        ) from None
    return b"".join(chunks), None


def _stop(proc: subprocess.Popen) -> None:
    import signal

    if proc.poll() is None:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        proc.wait()
    if proc.stdout is not None:
        proc.stdout.close()


def _parse_indices(out: bytes) -> tuple[str, ...]:
    text = out.decode("ascii", errors="replace")
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    if len(lines) > MAX_DEVICES:
        raise BackendError(
            f"--gpus auto: nvidia-smi listed {len(lines)} GPUs; at most {MAX_DEVICES}"
        )
    for line in lines:
        if not re.fullmatch(r"[0-9]{1,3}", line):
            raise BackendError(
                f"--gpus auto: nvidia-smi printed {_short(line)!r} where a GPU index was expected"
            )
    indices = tuple(str(int(line)) for line in lines)
    if len(set(indices)) != len(indices):
        raise BackendError("--gpus auto: nvidia-smi listed a GPU index twice")
    return indices


def _short(text: str) -> str:
    from orchestrator.agent.progress import printable

    text = printable(text)
    return text if len(text) <= 40 else text[:37] + "..."


def choose_devices(spec: str, env: Mapping[str, str] | None = None) -> tuple[tuple[str, ...], str]:
    """`--gpus auto|N|0,2,3` -> (devices, what was found, for the user)."""
    spec = spec.strip()
    if spec == "auto":
        found = detect(env)
        if not found.devices:
            where = found.source if found.source != "nvidia-smi" else _no_smi_reason(env)
            raise UsageError(f"--gpus auto: no GPU found ({where}); name them: --gpus 0,1")
        return found.devices, f"{len(found.devices)} GPU(s) from {found.source}"
    if _COUNT.fullmatch(spec):
        n = int(spec)
        if n > MAX_DEVICES:
            raise UsageError(f"--gpus {n}: at most {MAX_DEVICES}")
        found = detect(env)
        if not found.devices:
            # nothing to check against: the user says there are N, as devices 0..N-1
            return tuple(str(i) for i in range(n)), f"{n} GPU(s) as given (none detected)"
        if len(found.devices) < n:
            raise UsageError(
                f"--gpus {n}: only {len(found.devices)} GPU(s) found "
                f"({found.source}: {','.join(found.devices)})"
            )
        return found.devices[
            :n
        ], f"the first {n} of {len(found.devices)} GPU(s) from {found.source}"
    if "," in spec:
        devices = parse_device_list(spec, f"--gpus {spec[:40]}")
        if devices:
            return devices, f"{len(devices)} GPU(s) as given"
    raise UsageError(
        f"--gpus {_short(spec)!r}: give auto, a count (2), or device ids with commas (0,2,3 or 3,)"
    )


def _no_smi_reason(env: Mapping[str, str] | None) -> str:
    env = os.environ if env is None else env
    if shutil.which("nvidia-smi", path=env.get("PATH")) is None:
        return "nvidia-smi is not on PATH and CUDA_VISIBLE_DEVICES is not set"
    return "nvidia-smi listed none"


def slots(devices: Sequence[str], per_run: int) -> tuple[list[tuple[str, ...]], list[str]]:
    """Consecutive groups of `per_run` devices, one per agent, and the devices left over."""
    if per_run < 1:
        raise UsageError("--gpus-per-run: give at least 1")
    if per_run > len(devices):
        raise UsageError(
            f"--gpus-per-run {per_run}: only {len(devices)} GPU(s) to share ({','.join(devices)})"
        )
    n = len(devices) // per_run
    groups = [tuple(devices[i * per_run : (i + 1) * per_run]) for i in range(n)]
    return groups, list(devices[n * per_run :])


def plan_slots(
    spec: str, per_run: int, env: Mapping[str, str] | None = None
) -> tuple[list[tuple[str, ...]], str]:
    """Slots for `--gpus SPEC --gpus-per-run K` and one line saying what was found."""
    devices, found = choose_devices(spec, env)
    groups, left = slots(devices, per_run)
    line = (
        f"--gpus {spec}: {found} ({','.join(devices)}); {len(groups)} agent(s), "
        f"{per_run} GPU(s) each"
    )
    if left:
        line += f"; unused: {','.join(left)}"
    return groups, line


def slot_text(slot: Sequence[str]) -> str:
    """The CUDA_VISIBLE_DEVICES value of a slot, as stored with each run."""
    return ",".join(slot)
