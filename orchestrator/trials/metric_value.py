"""Which value of a run the bayes search models: W&B's rules (wandb/sweeps `bayes_search.py`).

- finished: the extremum of its history and summary in the goal's direction
  (the minimum for `minimize`); with no finite value, `metric.impute`.
- failed, crashed, killed (hyperband-stopped runs included): `metric.impute`,
  whatever they logged: `worst` (the default) is the worst extremum over all
  ended runs (the maximum of each run's maximum for `minimize`), `best` the
  run's own extremum, `latest` its last valid history value; each is 0.0
  when there is nothing to take it from, as in W&B's engine.
- running: left out (a pending point) unless `metric.impute_while_running`
  names a strategy; then its extremum so far, else that strategy's value.
- anything else (pending, interrupted to be redone): a pending point.

The report shows the run's summary value, as W&B's UI does; these values
are what the search used (shown beside it when they differ).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from orchestrator.trials.trace import MetricTrace

ENDED_BADLY = ("failed", "crashed", "killed")
ENDED = ("finished", *ENDED_BADLY)
FAILED_VALUE = 0.0  # W&B's engine: what an imputation with nothing to go on gives


@dataclass(frozen=True)
class MetricRule:
    """The sweep's `metric` as the search reads it."""

    name: str
    goal: str = "minimize"
    impute: str = "worst"
    impute_while_running: str = "false"

    @property
    def maximize(self) -> bool:
        return self.goal == "maximize"


def worst_value(rule: MetricRule, runs: Sequence[tuple[str, MetricTrace]]) -> float:
    """`impute: worst`: the worst of the ended runs' worst extrema (0.0 when there is none)."""
    worst = [t.worst(rule.maximize) for state, t in runs if state in ENDED]
    found = [v for v in worst if v is not None]
    if not found:
        return FAILED_VALUE
    return min(found) if rule.maximize else max(found)


def _impute(rule: MetricRule, strategy: str, trace: MetricTrace, worst: float) -> float:
    if strategy == "best":
        best = trace.best(rule.maximize)
        return FAILED_VALUE if best is None else best
    if strategy == "latest":
        return FAILED_VALUE if trace.latest is None else trace.latest
    return worst


def search_values(rule: MetricRule, runs: Sequence[tuple[str, MetricTrace]]) -> list[float | None]:
    """The value the search models for each (state, trace), None for a pending point."""
    worst = worst_value(rule, runs)
    out: list[float | None] = []
    for state, trace in runs:
        if state == "finished":
            best = trace.best(rule.maximize)
            out.append(best if best is not None else _impute(rule, rule.impute, trace, worst))
        elif state in ENDED_BADLY:
            out.append(_impute(rule, rule.impute, trace, worst))
        elif state == "running" and rule.impute_while_running not in ("false", "", None):
            best = trace.best(rule.maximize)
            out.append(
                best if best is not None else _impute(rule, rule.impute_while_running, trace, worst)
            )
        else:
            out.append(None)
    return out
