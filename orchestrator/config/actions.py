"""The `actions:` section of sweepci.yaml: how the generated GitHub workflow runs.

Runners, time limits, setup steps, extra environment, push filters and triggers.
Everything here ends up in a workflow file, so it is checked strictly: a value
that could carry an expression (`${{ ... }}`) or a newline into YAML or a shell is
refused with its file:line, a `uses:` step must be pinned to a full commit SHA, and
unknown keys are errors. The defaults render what sweepci rendered before: GitHub's
`ubuntu-latest`, both triggers, the environments' branches.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from orchestrator.config.problems import did_you_mean, type_name
from orchestrator.errors import ConfigError

Fail = Callable[[tuple, "str | None", str], ConfigError]

TRIGGERS = ("push", "workflow_dispatch")
#: where the W&B key is a secret: each routed environment's own (every job that needs the key
#: names the environment, and GitHub asks a review for each), or the repository's (only the
#: create job names the environment: one review per prod sweep on W&B too)
WANDB_KEY_PLACES = ("environment", "repository")
DEFAULT_PATHS_IGNORE = ("**.md", "docs/**")
MAX_TIMEOUT_MINUTES = 7200  # self-hosted runners: 5 days; GitHub-hosted stop at 360
DEFAULT_LIGHT_TIMEOUT = 30
DEFAULT_AGENT_TIMEOUT = 360
MAX_STEPS = 20
MAX_TEXT = 4000

_LABEL = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,99}")
_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,99}")
#: owner/repo[/path]@<40 hex>
_USES = re.compile(r"[A-Za-z0-9-]+/[A-Za-z0-9._-]+(?:/[A-Za-z0-9._/-]+)?@[0-9a-f]{40}")
_GPUS = re.compile(r"auto|[1-9][0-9]?|(?:[0-9]{1,3},)+[0-9]{0,3}")
#: variables the runner, GitHub or sweepci own; a project must not override them
_RESERVED_ENV = re.compile(
    r"(?:GITHUB_.*|RUNNER_.*|ACTIONS_.*|CI|HOME|PATH|WANDB_API_KEY|GH_TOKEN|SWEEPCI_.*|"
    r"CUDA_VISIBLE_DEVICES|PYTHONPATH|LD_PRELOAD|BASH_ENV|ENV)",
)


@dataclass
class RunsOn:
    """A job's `runs-on`: one label, a list of labels, or a runner group (with labels)."""

    labels: list[str] = field(default_factory=lambda: ["ubuntu-latest"])
    group: str | None = None

    @property
    def self_hosted(self) -> bool:
        return self.group is not None or "self-hosted" in self.labels


@dataclass
class SetupStep:
    name: str | None = None
    run: str | None = None
    uses: str | None = None
    with_: dict[str, str] = field(default_factory=dict)
    env: dict[str, str] = field(default_factory=dict)


@dataclass
class AgentSettings:
    runs_on: RunsOn = field(default_factory=RunsOn)
    timeout_minutes: int = DEFAULT_AGENT_TIMEOUT
    gpus: str | None = None  # `sweepci --gpus` in each agent job: one agent per GPU
    gpus_per_run: int = 1
    setup: list[SetupStep] = field(default_factory=list)
    env: dict[str, str] = field(default_factory=dict)


@dataclass
class ActionsSettings:
    runs_on: RunsOn = field(default_factory=RunsOn)  # plan, create, report, promote
    timeout_minutes: int = DEFAULT_LIGHT_TIMEOUT
    env: dict[str, str] = field(default_factory=dict)
    triggers: list[str] = field(default_factory=lambda: list(TRIGGERS))
    branches: list[str] | None = None  # None: the environments' branches
    paths: list[str] = field(default_factory=list)
    paths_ignore: list[str] = field(default_factory=lambda: list(DEFAULT_PATHS_IGNORE))
    agents: AgentSettings = field(default_factory=AgentSettings)
    #: `owner/name@<sha>` of a sweepci repository: render a short caller of its reusable
    #: workflow (.github/workflows/sweepci.yml) instead of the whole workflow
    reusable: str | None = None
    wandb_key: str = "environment"  # one of WANDB_KEY_PLACES


_TOP_KEYS = (
    "runs-on", "timeout-minutes", "env", "triggers", "push", "agents", "reusable", "wandb-key",
)  # fmt: skip
_REUSABLE = re.compile(r"[A-Za-z0-9-]+/[A-Za-z0-9._-]+@[0-9a-f]{40}")
_AGENT_KEYS = ("runs-on", "timeout-minutes", "gpus", "gpus-per-run", "setup", "env")
_PUSH_KEYS = ("branches", "paths", "paths-ignore")
_STEP_KEYS = ("name", "run", "uses", "with", "env")


def parse_actions(raw: Any, fail: Fail) -> ActionsSettings:
    """The `actions:` mapping (None: all defaults), every problem one error at its line."""
    settings = ActionsSettings()
    if raw is None:
        return settings
    fail = _indexing(fail)
    at = ("actions",)
    _mapping(raw, at, None, _TOP_KEYS, fail)
    if "runs-on" in raw:
        settings.runs_on = _runs_on(raw["runs-on"], at, fail)
    if "timeout-minutes" in raw:
        settings.timeout_minutes = _minutes(raw["timeout-minutes"], at, fail)
    if "env" in raw:
        settings.env = _env(raw["env"], at, "env", fail)
    if "triggers" in raw:
        settings.triggers = _triggers(raw["triggers"], at, fail)
    if "push" in raw:
        _push(raw["push"], (*at, "push"), settings, fail)
    if "agents" in raw:
        settings.agents = _agents(raw["agents"], (*at, "agents"), fail)
    if "wandb-key" in raw:
        if raw["wandb-key"] not in WANDB_KEY_PLACES:
            raise fail(
                at,
                "wandb-key",
                f"must be {' or '.join(WANDB_KEY_PLACES)} (where WANDB_API_KEY is a secret), "
                f"not {str(raw['wandb-key'])[:40]!r}",
            )
        settings.wandb_key = raw["wandb-key"]
    if raw.get("reusable") is not None:
        settings.reusable = _reusable(raw, settings, at, fail)
    return settings


def _reusable(raw: dict, settings: ActionsSettings, at: tuple, fail: Fail) -> str:
    ref = _text(raw["reusable"], at, "reusable", fail)
    if not _REUSABLE.fullmatch(ref):
        raise fail(
            at, "reusable", f"{ref!r} must be OWNER/NAME@<40-hex commit> (a tag can be moved)"
        )
    # what a caller cannot hand to a reusable workflow (its inputs are strings)
    if settings.env:
        raise fail(
            at, "env", "a reusable workflow gets no env from its caller; drop reusable: or env:"
        )
    if settings.agents.env:
        raise fail((*at, "agents"), "env", "a reusable workflow gets no env from its caller")
    for i, step in enumerate(settings.agents.setup):
        if step.uses or step.env:
            raise fail(
                (*at, "agents", "setup"),
                i,
                "a reusable workflow runs only run: setup commands; for uses: steps render the "
                "whole workflow (drop reusable:)",
            )
    return ref


def _indexing(fail: Fail) -> Fail:
    """A list item's problem is located at the item: its index joins the path."""

    def located(at: tuple, key: str | int | None, message: str) -> ConfigError:
        if isinstance(key, int):
            return fail((*at, key), None, message)
        return fail(at, key, message)

    return located


def _mapping(raw: Any, at: tuple, key: str | None, known: tuple[str, ...], fail: Fail) -> None:
    where = (*at, key) if key else at
    if not isinstance(raw, dict):
        raise fail(
            at[:-1] if not key else at, key or at[-1], f"must be a mapping, not {type_name(raw)}"
        )
    for k in raw:
        if k not in known:
            raise fail(where, str(k), f"unknown key{did_you_mean(str(k), set(known))}")


def _text(value: Any, at: tuple, key: str | int, fail: Fail, *, multiline: bool = False) -> str:
    """A string that may enter the workflow: no expression, no control characters."""
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise fail(at, key, f"must be a string, not {type_name(value)}")
    text = str(value)
    if "${{" in text:
        raise fail(
            at, key, "must not hold a ${{ }} expression: it would be evaluated in the workflow"
        )
    allowed = "\n" if multiline else ""
    if any(ord(c) < 32 and c not in allowed for c in text) or "\x7f" in text:
        raise fail(
            at, key, "must not hold control characters" + ("" if multiline else " or newlines")
        )
    if len(text) > MAX_TEXT:
        raise fail(at, key, f"is longer than {MAX_TEXT} characters")
    return text


def _label(value: Any, at: tuple, key: str | int, fail: Fail) -> str:
    text = _text(value, at, key, fail)
    if not _LABEL.fullmatch(text):
        raise fail(at, key, f"{text!r} is not a runner label (letters, digits, . _ -)")
    return text


def _labels(value: Any, at: tuple, key: str, fail: Fail) -> list[str]:
    items = value if isinstance(value, list) else [value]
    if not items:
        raise fail(at, key, "needs at least one runner label")
    return [
        _label(
            v,
            (*at, key) if isinstance(value, list) else at,
            i if isinstance(value, list) else key,
            fail,
        )
        for i, v in enumerate(items)
    ]


def _runs_on(value: Any, at: tuple, fail: Fail) -> RunsOn:
    if isinstance(value, dict):
        _mapping(value, (*at, "runs-on"), None, ("group", "labels"), fail)
        if "group" not in value:
            raise fail(
                at, "runs-on", "a mapping names a runner group: {group: NAME, labels: [...]}"
            )
        group = _label(value["group"], (*at, "runs-on"), "group", fail)
        labels = (
            _labels(value["labels"], (*at, "runs-on"), "labels", fail) if "labels" in value else []
        )
        return RunsOn(labels=labels, group=group)
    return RunsOn(labels=_labels(value, at, "runs-on", fail))


def _minutes(value: Any, at: tuple, fail: Fail) -> int:
    if (
        isinstance(value, bool)
        or not isinstance(value, int)
        or not 1 <= value <= MAX_TIMEOUT_MINUTES
    ):
        raise fail(
            at,
            "timeout-minutes",
            f"must be a whole number of minutes from 1 to {MAX_TIMEOUT_MINUTES}",
        )
    return value


def _env(value: Any, at: tuple, key: str, fail: Fail) -> dict[str, str]:
    if not isinstance(value, dict):
        raise fail(at, key, f"must be a mapping of NAME: value, not {type_name(value)}")
    env = {}
    for name, text in value.items():
        name_s = str(name)
        if not _ENV_NAME.fullmatch(name_s):
            raise fail((*at, key), name_s, "is not a variable name (letters, digits, _)")
        if _RESERVED_ENV.fullmatch(name_s.upper()):
            raise fail(
                (*at, key), name_s, "is set by GitHub, the runner or sweepci; pick another name"
            )
        env[name_s] = _text(text, (*at, key), name_s, fail)
    return env


def _triggers(value: Any, at: tuple, fail: Fail) -> list[str]:
    items = value if isinstance(value, list) else [value]
    out = []
    for i, item in enumerate(items):
        if item not in TRIGGERS:
            raise fail((*at, "triggers"), i, f"must be one of {', '.join(TRIGGERS)}, not {item!r}")
        if item not in out:
            out.append(item)
    if not out:
        raise fail(at, "triggers", "needs at least one of " + ", ".join(TRIGGERS))
    return out


def _patterns(value: Any, at: tuple, key: str, fail: Fail) -> list[str]:
    items = value if isinstance(value, list) else [value]
    out = []
    for i, item in enumerate(items):
        text = _text(item, (*at, key), i, fail)
        if not text:
            raise fail((*at, key), i, "an empty pattern")
        out.append(text)
    return out


def _push(value: Any, at: tuple, settings: ActionsSettings, fail: Fail) -> None:
    _mapping(value, at, None, _PUSH_KEYS, fail)
    if "paths" in value and "paths-ignore" in value:
        raise fail(at, "paths", "GitHub takes paths or paths-ignore for push, not both")
    if "branches" in value:
        settings.branches = _patterns(value["branches"], at, "branches", fail)
        if not settings.branches:
            raise fail(at, "branches", "needs at least one branch pattern")
    if "paths" in value:
        settings.paths = _patterns(value["paths"], at, "paths", fail)
        settings.paths_ignore = []
    if "paths-ignore" in value:
        settings.paths_ignore = _patterns(value["paths-ignore"], at, "paths-ignore", fail)


def _agents(value: Any, at: tuple, fail: Fail) -> AgentSettings:
    _mapping(value, at, None, _AGENT_KEYS, fail)
    agents = AgentSettings()
    if "runs-on" in value:
        agents.runs_on = _runs_on(value["runs-on"], at, fail)
    if "timeout-minutes" in value:
        agents.timeout_minutes = _minutes(value["timeout-minutes"], at, fail)
    if "gpus" in value and value["gpus"] is not None:
        text = str(value["gpus"]).strip() if not isinstance(value["gpus"], bool) else ""
        if not _GPUS.fullmatch(text):
            raise fail(at, "gpus", "must be auto, a count (2), or device ids with commas (0,2,3)")
        agents.gpus = text
    if "gpus-per-run" in value:
        n = value["gpus-per-run"]
        if isinstance(n, bool) or not isinstance(n, int) or not 1 <= n <= 64:
            raise fail(at, "gpus-per-run", "must be a whole number from 1 to 64")
        if agents.gpus is None:
            raise fail(at, "gpus-per-run", "needs gpus (the GPUs each agent job shares out)")
        agents.gpus_per_run = n
    if "setup" in value:
        agents.setup = _steps(value["setup"], (*at, "setup"), fail)
    if "env" in value:
        agents.env = _env(value["env"], at, "env", fail)
    return agents


def _steps(value: Any, at: tuple, fail: Fail) -> list[SetupStep]:
    if not isinstance(value, list):
        raise fail(
            at[:-1], at[-1], f"must be a list of steps (run: or uses:), not {type_name(value)}"
        )
    if len(value) > MAX_STEPS:
        raise fail(at[:-1], at[-1], f"at most {MAX_STEPS} steps")
    steps = []
    for i, raw in enumerate(value):
        here = (*at, i)
        if not isinstance(raw, dict):
            raise fail(at, i, f"a step is a mapping with run: or uses:, not {type_name(raw)}")
        _mapping(raw, here, None, _STEP_KEYS, fail)
        if ("run" in raw) == ("uses" in raw):
            raise fail(at, i, "a step has either run: or uses:")
        step = SetupStep()
        if "name" in raw:
            step.name = _text(raw["name"], here, "name", fail)
        if "run" in raw:
            step.run = _text(raw["run"], here, "run", fail, multiline=True)
            if not step.run.strip():
                raise fail(here, "run", "is empty")
        if "uses" in raw:
            uses = _text(raw["uses"], here, "uses", fail)
            if not _USES.fullmatch(uses):
                raise fail(
                    here,
                    "uses",
                    f"{uses!r} must be pinned by a full commit SHA (owner/repo@<40 hex>): "
                    "a tag or branch can be moved to other code",
                )
            step.uses = uses
        if "with" in raw:
            if "uses" not in raw:
                raise fail(here, "with", "with: goes with uses:")
            w = raw["with"]
            if not isinstance(w, dict):
                raise fail(here, "with", f"must be a mapping, not {type_name(w)}")
            step.with_ = {
                _with_key(k, (*here, "with"), fail): _text(
                    v, (*here, "with"), str(k), fail, multiline=True
                )
                for k, v in w.items()
            }
        if "env" in raw:
            step.env = _env(raw["env"], here, "env", fail)
        steps.append(step)
    return steps


def _with_key(key: Any, at: tuple, fail: Fail) -> str:
    text = str(key)
    if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_-]{0,99}", text):
        raise fail(at, text, "is not an input name")
    return text
