"""Build step: ship `sweepci-live.pth` at the top of the wheel, so it lands in site-packages.

The project's metadata lives in pyproject.toml; this file only adds the start-up
hook that copies `wandb.log` values to the agent (orchestrator/agent/wandb_hook.py).
A `.pth` file must sit directly in site-packages, where no package directory is,
hence a build step rather than package data (pytest-cov ships its hook the same way).
"""

from __future__ import annotations

import os
from typing import Any

from setuptools import setup
from setuptools.command.build_py import build_py
from setuptools.command.editable_wheel import editable_wheel

PTH = "sweepci-live.pth"


class BuildPyWithPth(build_py):
    """build_py that also copies the start-up hook's .pth file to the wheel's root."""

    def run(self) -> None:
        super().run()
        here = os.path.dirname(os.path.abspath(__file__))
        self.copy_file(os.path.join(here, PTH), os.path.join(self.build_lib, PTH))

    def get_outputs(self, include_bytecode: bool = True) -> list[str]:
        return [*super().get_outputs(include_bytecode), os.path.join(self.build_lib, PTH)]


def _pth_text() -> str:
    with open(os.path.join(os.path.dirname(os.path.abspath(__file__)), PTH)) as handle:
        return handle.read()


class _StrategyWithPth:
    """An editable install's strategy that also writes the hook's .pth into the wheel."""

    def __init__(self, strategy: Any):
        self.strategy = strategy

    def __call__(self, wheel: Any, files: Any, mapping: Any) -> None:
        self.strategy(wheel, files, mapping)
        wheel.writestr(PTH, _pth_text())

    def __enter__(self) -> _StrategyWithPth:
        self.strategy.__enter__()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.strategy.__exit__(*exc)


class EditableWheelWithPth(editable_wheel):
    """`pip install -e .`: the editable wheel gets the .pth too (setuptools >= 64)."""

    def _select_strategy(self, *args: Any, **kwargs: Any) -> Any:
        return _StrategyWithPth(super()._select_strategy(*args, **kwargs))


setup(cmdclass={"build_py": BuildPyWithPth, "editable_wheel": EditableWheelWithPth})
