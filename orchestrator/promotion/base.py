"""The rules every promotion target applies, and what a promotion returns.

`sweepci promote` gives the best prod run's model an alias (production). A promotion is refused (exit 2, one line) when the sweep is not a prod sweep,
when this checkout may not write to prod (the prod guard: routed branch,
clean tree, no pull request or fork), when the best run logged no model, or
when the model is worse on the sweep metric than the one holding the alias
now (`--force` overrides; recorded). Promoting the holder again is a no-op.
Local sweeps are promoted in the store (`local.py`); W&B sweeps
(ENTITY/PROJECT/ID) on W&B (`wandb.py`), and recorded in the store too.
"""

from __future__ import annotations

import getpass
import os
from dataclasses import asdict, dataclass, field
from typing import Any

from orchestrator.ci.guard import PROD
from orchestrator.ci.prepare import Prepared
from orchestrator.errors import GuardError

__all__ = ["PROD", "WORSE_PHRASE", "PromotionRefused", "PromotionResult"]
#: in every worse-candidate refusal; the workflow's promote job reads it as "kept the holder", not a failure
WORSE_PHRASE = "is worse than the current"


class PromotionRefused(GuardError):
    """A promotion the rules do not allow."""


@dataclass
class PromotionResult:
    status: str  # "promoted" or "already"
    alias: str
    artifact: str  # NAME:vN
    run_id: str
    sweep: str
    metric: str | None
    value: float | None
    previous: str | None = None  # the version that held the alias before
    previous_value: float | None = None
    forced: bool = False
    actor: str | None = None
    sha: str | None = None
    links: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    def lines(self) -> list[str]:
        """What the command prints."""
        if self.status == "already":
            return [f"{self.artifact} is already {self.alias} (run {self.run_id}); nothing to do"]
        how = " (forced)" if self.forced else ""
        out = [
            f"promoted {self.artifact} to {self.alias}{how}: run {self.run_id} of sweep {self.sweep}, "
            f"by {self.actor or '?'} at commit {(self.sha or '?')[:12]}"
        ]
        if self.metric:
            before = (
                f"{self.previous} {format_metric(self.previous_value)}" if self.previous else "none"
            )
            out.append(
                f"  {self.metric}: {self.artifact} {format_metric(self.value)}  previous {self.alias}: {before}"
            )
        out += [f"  linked to {link}" for link in self.links]
        return out


def format_metric(value: float | None) -> str:
    return "-" if value is None else f"{value:.6g}"


def actor_name(prepared: Prepared) -> str | None:
    """Who promotes: GITHUB_ACTOR in Actions, else git's user.name, else the login name."""
    if os.environ.get("GITHUB_ACTOR"):
        return os.environ["GITHUB_ACTOR"]
    if prepared.ctx.actor:
        return prepared.ctx.actor
    try:
        import git

        name = (
            git.Repo(search_parent_directories=True).config_reader().get_value("user", "name", "")
        )
        if name:
            return str(name)
    except Exception:  # noqa: BLE001 - no repository or no git user: fall back to the login
        pass
    return os.environ.get("USER") or getpass.getuser()


def check_sweep_env(sweep_label: str, sweep_env: str | None) -> None:
    """Refuse unless the sweep is a prod sweep."""
    if sweep_env != PROD:
        raise PromotionRefused(
            f"sweep {sweep_label} is a {sweep_env or 'no-environment'} sweep; only prod sweeps are promoted"
        )


def check_route(sweep_env: str, prepared: Prepared) -> None:
    """Refuse unless this checkout (which passed the prod guard) routes to the sweep's environment."""
    if prepared.route.env != sweep_env:
        raise PromotionRefused(
            f"this checkout routes to {prepared.route.env} ({prepared.route.why}), not to {sweep_env}; "
            "promote from a branch routed to prod"
        )


def is_worse(candidate: float | None, holder: float | None, maximize: bool) -> bool:
    if candidate is None or holder is None:
        return False  # nothing to compare with: not worse
    return candidate < holder if maximize else candidate > holder


def refuse_worse(
    label: str,
    run_id: str,
    value: float | None,
    holder: str,
    holder_value: float | None,
    alias: str,
    metric: str,
    goal: str | None,
) -> PromotionRefused:
    return PromotionRefused(
        f"{label} (run {run_id}) {WORSE_PHRASE} {alias} {holder} on {metric} ({goal}): "
        f"{format_metric(value)} vs {format_metric(holder_value)}; pass --force to promote it anyway (recorded)"
    )
