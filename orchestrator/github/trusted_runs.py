"""Which workflow runs listed by the GitHub API may serve as a baseline or as history.

The runs list of a workflow holds runs that anybody with a fork can start: a
pull request from a fork's own branch named `main` is listed with
`head_branch: main`, and `exclude_pull_requests=true` only empties each
run's `pull_requests` field, it drops no run. So the answer of the API is
untrusted input, and every run is checked here, on the client, whatever the
query asked for: only a run of this repository (its head repository is the
repository itself), started by a trusted event (`push`, `workflow_dispatch`,
`schedule`: none of them can be started from a fork), on the trusted branch,
that succeeded, is kept.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

#: events only people with write access to the repository can start
TRUSTED_EVENTS = ("push", "workflow_dispatch", "schedule")


def _full_name(value: Any) -> str:
    if isinstance(value, dict) and isinstance(value.get("full_name"), str):
        return value["full_name"].lower()
    return ""


def untrusted_because(
    run: Any,
    repository: str,
    branch: str,
    *,
    events: tuple[str, ...] = TRUSTED_EVENTS,
    conclusion: str | None = "success",
) -> str | None:
    """Why `run` (one item of a runs list) may not be trusted, or None when it may."""
    if not isinstance(run, dict) or not isinstance(run.get("id"), int):
        return "not a workflow run"
    if run.get("event") not in events:
        return f"started by a {run.get('event')!r} event, not {' / '.join(events)}"
    if _full_name(run.get("head_repository")) != repository.lower():
        head = _full_name(run.get("head_repository")) or "an unknown repository"
        return f"its code comes from {head}, not {repository}"
    if "repository" in run and _full_name(run.get("repository")) != repository.lower():
        return f"it is a run of {_full_name(run.get('repository'))}, not {repository}"
    if run.get("head_branch") != branch:
        return f"it ran on {run.get('head_branch')!r}, not {branch!r}"
    if conclusion is not None and run.get("conclusion") != conclusion:
        return f"it did not end in {conclusion}"
    return None


def trusted_runs(
    runs: Iterable[Any],
    repository: str,
    branch: str,
    *,
    events: tuple[str, ...] = TRUSTED_EVENTS,
    conclusion: str | None = "success",
) -> list[dict[str, Any]]:
    """The runs of `runs` that `untrusted_because` finds nothing against, in their order."""
    return [
        run
        for run in runs
        if untrusted_because(run, repository, branch, events=events, conclusion=conclusion) is None
    ]
