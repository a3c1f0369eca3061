"""Start-up hook: what an unchanged script passes to `wandb.log` reaches the agent live.

Offline wandb writes its run file in batches, so the agent cannot read it while
the run goes. sweepci's wheel installs `sweepci-live.pth` in site-packages; its
one line runs at every interpreter start, does nothing unless the agent set
SWEEPCI_WANDB_LOG_FILE for this process, and then calls `install()`. That
imports nothing: it puts a finder on `sys.meta_path` that waits for wandb's
`wandb.sdk.wandb_run` module to be imported (if it ever is) and wraps
`Run._log`, the method `wandb.log` and `run.log` end in. Each history row W&B
would commit is appended to the file as one flat JSON line,
`{"val/loss": 0.3, "_step": 4}`, numbers only (nested dicts flattened with
"."), following W&B's step rules: `commit=False` and an explicit `step` merge
into the open row, a lower `step` is dropped as W&B drops it.

Cost per logged step: one dict walk, one `json.dumps`, one `os.write` on a
descriptor kept open (bench/live_hook.py measures it against bare offline
`wandb.log`). Nothing here may break the user's script: any error in the
hook is swallowed and the hook turns itself off.

This module must stay cheap to import: it loads at start-up of every Python
process of a run, before the script's own imports. It imports only `os` and
`sys` (both loaded by then anyway); `typing` alone, with the modules it pulls
in, took 10 ms of a 14 ms armed start-up (a bare one is 4 ms), which was most
of the per-run overhead bench/agent_overhead.py saw on a trivial program.
"""

from __future__ import annotations

import os
import sys

TYPE_CHECKING = False
if TYPE_CHECKING:  # annotations only: never imported at run time (see above)
    from typing import Any

WANDB_LOG_FILE_ENV = "SWEEPCI_WANDB_LOG_FILE"
_TARGET = "wandb.sdk.wandb_run"
_MAX_DEPTH = 5
_state: dict[str, Any] = {"installed": False}


def install() -> None:
    """Arm the hook when the agent asked for it (the .pth file calls this); never raises."""
    try:
        path = os.environ.get(WANDB_LOG_FILE_ENV)
        if not path or _state["installed"]:
            return
        _state["installed"] = True
        module = sys.modules.get(_TARGET)
        if module is not None:
            patch(module, path)
        else:
            sys.meta_path.insert(0, _Finder(path))
    except Exception:  # noqa: BLE001 - the user's script comes first
        return


class _Finder:
    """Finds nothing itself: wraps the loader of wandb's run module to patch it once loaded."""

    def __init__(self, path: str):
        self.path = path

    def find_spec(self, fullname: str, path: Any = None, target: Any = None) -> Any:
        if fullname != _TARGET:
            return None
        try:
            spec = None
            for finder in sys.meta_path:
                find = getattr(finder, "find_spec", None)
                if finder is self or find is None:
                    continue
                spec = find(fullname, path, target)
                if spec is not None:
                    break
            if spec is not None and hasattr(spec.loader, "exec_module"):
                spec.loader = _Loader(spec.loader, self)
            return spec
        except Exception:  # noqa: BLE001
            return None


class _Loader:
    def __init__(self, loader: Any, finder: _Finder):
        self._loader, self._finder = loader, finder

    def create_module(self, spec: Any) -> Any:
        return self._loader.create_module(spec)

    def exec_module(self, module: Any) -> None:
        self._loader.exec_module(module)
        try:
            sys.meta_path.remove(self._finder)
        except ValueError:
            pass
        patch(module, self._finder.path)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._loader, name)


def patch(module: Any, path: str) -> None:
    """Wrap `module.Run._log` so each committed row is also appended to `path`."""
    try:
        run_class = module.Run
        original = run_class._log
    except AttributeError:
        return  # a wandb this hook does not know: the run still ends with its W&B file
    recorder = Recorder(path)

    def _log(self: Any, data: Any, step: Any = None, commit: Any = None) -> Any:
        before = getattr(self, "_local_step", 0)
        result = original(self, data, step, commit)
        if recorder.active:
            try:
                recorder.logged(self, before, data, step, commit)
            except Exception:  # noqa: BLE001 - the user's script comes first
                recorder.active = False
        return result

    _log.__wrapped__ = original  # type: ignore[attr-defined]
    run_class._log = _log
    import atexit

    atexit.register(recorder.close)


class Recorder:
    """W&B's history rows as the script commits them, appended to the live file."""

    def __init__(self, path: str):
        self.path = path
        self.fd: int | None = None
        self.pending: dict[str, Any] = {}
        self.step = 0
        self.owner: Any = None
        self.active = True

    def logged(self, run: Any, before: int, data: Any, step: Any, commit: Any) -> None:
        """One `Run._log(data, step, commit)` call that wandb accepted, `before` its step then."""
        if run is not self.owner:
            self.flush()
            self.owner = run
        if step is not None:
            if step < before:
                return  # W&B drops values logged to an earlier step
            if step > before:
                self.flush()
            self.step = step
        else:
            self.step = before
        numbers(data, "", self.pending, 0)
        if (step is None and commit is None) or commit:
            self.flush()

    def flush(self) -> None:
        if not self.pending:
            return
        row, self.pending = self.pending, {}
        row["_step"] = self.step
        import json

        line = json.dumps(row, separators=(",", ":")) + "\n"
        if self.fd is None:
            self.fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        os.write(self.fd, line.encode("ascii"))

    def close(self) -> None:
        try:
            if self.active:
                self.flush()  # the open row W&B commits at the run's end
        except Exception:  # noqa: BLE001
            pass
        if self.fd is not None:
            try:
                os.close(self.fd)
            except OSError:
                pass
            self.fd = None


def numbers(data: Any, prefix: str, out: dict[str, Any], depth: int) -> None:
    """The numeric values of a wandb.log dict, nested dicts flattened with "."."""
    for key, value in data.items():
        kind = type(value)
        if kind is float or kind is int:
            out[prefix + key] = value
        elif kind is bool or kind is str:
            continue
        elif isinstance(value, dict):
            if depth < _MAX_DEPTH:
                numbers(value, f"{prefix}{key}.", out, depth + 1)
        else:
            number = _scalar(value)
            if number is not None:
                out[prefix + key] = number


def _scalar(value: Any) -> float | None:
    """numpy and torch scalars (0-d arrays and tensors) as floats; None for anything else."""
    if getattr(value, "ndim", None) == 0 or _is_real(value):
        try:
            return float(value.item() if hasattr(value, "item") else value)
        except (TypeError, ValueError, RuntimeError, OverflowError):
            return None
    return None


def _is_real(value: Any) -> bool:
    import numbers as abc

    return isinstance(value, abc.Real) and not isinstance(value, bool)
