"""How a workflow job installs sweepci: the `install:` key of sweepci.yaml.

Each job runs `python -m pip install <arguments>`. The arguments come from
sweepci.yaml, as a list (one item, one argument) or a string split like a
shell line, except that a PEP 508 direct reference stays one argument however
it is spaced: `sweepci[wandb] @ git+https://github.com/o/r@<sha>` is one
requirement to pip, never three arguments.
"""

from __future__ import annotations

import re
import shlex

from orchestrator.errors import ConfigError

#: the released package: what a repository that is not sweepci installs by default
PACKAGE = "sweepci[wandb]"
#: a requirement name with optional extras, as PEP 508 spells it
_NAME = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?(?:\[[A-Za-z0-9._,\s-]*\])?")
# a newline ends the `run:` line; `${{` would be a GitHub expression evaluated before the shell
_FORBIDDEN = re.compile(r"[\x00-\x1f\x7f]|\$\{\{")


def default_install(version: str) -> list[str]:
    """The released sweepci of this version, from the package index."""
    return [f"{PACKAGE}=={version}"]


def git_reference(repository: str, ref: str) -> str:
    """The PEP 508 form for an unreleased commit: `sweepci[wandb] @ git+https://github.com/R@REF`."""
    return f"{PACKAGE} @ git+https://github.com/{repository}@{ref}"


def split_install(text: str) -> list[str]:
    """pip arguments from one line, keeping each `name @ url` direct reference whole."""
    try:
        words = shlex.split(text)
    except ValueError as exc:
        raise ConfigError(
            f"cannot split {text!r} into pip arguments ({exc})", key="install"
        ) from None
    args: list[str] = []
    i = 0
    while i < len(words):
        word = words[i]
        joined = _direct_reference(words, i)
        if joined is not None:
            text_, used = joined
            args.append(text_)
            i += used
            continue
        args.append(word)
        i += 1
    return args


def _direct_reference(words: list[str], i: int) -> tuple[str, int] | None:
    """(`name @ url`, words used) when words[i:] start a spaced-out direct reference."""
    word = words[i]
    if i + 2 < len(words) and words[i + 1] == "@" and _NAME.fullmatch(word):
        return f"{word} @ {words[i + 2]}", 3
    if word.endswith("@") and i + 1 < len(words) and _NAME.fullmatch(word[:-1].rstrip()):
        return f"{word[:-1].rstrip()} @ {words[i + 1]}", 2
    if i + 1 < len(words) and words[i + 1].startswith("@") and len(words[i + 1]) > 1:
        if _NAME.fullmatch(word):
            return f"{word} @ {words[i + 1][1:].lstrip()}", 2
    return None


def install_arguments(value: object) -> list[str]:
    """The `install:` value of sweepci.yaml as pip arguments, or ConfigError."""
    if isinstance(value, str):
        args = split_install(value)
    elif isinstance(value, list) and all(isinstance(v, str) for v in value):
        args = [v.strip() for v in value]
    else:
        raise ConfigError(
            "must be pip arguments: a string (`sweepci[wandb]==1.2.0 -r requirements.txt`) "
            "or a list of strings",
            key="install",
        )
    if not args or not all(args):
        raise ConfigError("needs at least one pip argument, and no empty ones", key="install")
    for arg in args:
        if _FORBIDDEN.search(arg):
            raise ConfigError(
                f"pip argument {arg!r} holds a control character or `${{{{`", key="install"
            )
    return args
