"""Hyperband early termination: W&B's brackets, thresholds and strict rule."""

from __future__ import annotations

import math

import pytest

from orchestrator.search.hyperband import Hyperband, compute_saved, hyperband_stops


def loss_curves(finals: dict[str, float], length: int) -> dict[str, list[float]]:
    """Learning curves that decay towards each run's final loss, never crossing."""
    return {run: [final + 1.0 / t for t in range(1, length + 1)] for run, final in finals.items()}


# nine runs whose ranking never changes: r0 is the best, r8 the worst
FINALS = {f"r{i}": 0.1 * i for i in range(9)}


def stopped(stops) -> dict[str, int]:
    return {s.run: s.iteration for s in stops}


def test_brackets_from_min_iter_grow_by_eta():
    assert Hyperband(min_iter=1, eta=3).brackets(longest=30) == [1, 3, 9, 27]
    assert Hyperband(min_iter=2, eta=2).brackets(longest=20) == [2, 4, 8, 16]


def test_brackets_from_max_iter_and_s_count_down():
    assert Hyperband(max_iter=27, s=3, eta=3).brackets(longest=100) == [1, 3, 9]
    assert Hyperband(max_iter=81, s=2, eta=3).brackets(longest=100) == [9, 27]
    # W&B truncates the divisions: 10/3 -> 3, 10/9 -> 1
    assert Hyperband(max_iter=10, s=3, eta=3).brackets(longest=100) == [1, 3]


def test_max_iter_without_any_bracket_is_an_error():
    with pytest.raises(ValueError, match="no bracket"):
        Hyperband(max_iter=2, s=2, eta=3).brackets(longest=10)


def test_first_bracket_stops_all_but_the_top_third():
    curves = loss_curves(FINALS, 3)
    stops = hyperband_stops(Hyperband(min_iter=3), curves, running=set(curves), goal="minimize")
    # threshold = 4th best of 9 (index int(9/3)); everyone worse than it stops at iteration 3
    assert stopped(stops) == {f"r{i}": 3 for i in range(4, 9)}


def test_second_bracket_judges_the_survivors_that_reached_it():
    curves = loss_curves(FINALS, 3)
    survivors = ["r0", "r1", "r2", "r3"]
    for run in survivors:
        curves[run] = loss_curves({run: FINALS[run]}, 9)[run]
    stops = hyperband_stops(Hyperband(min_iter=3), curves, running=survivors, goal="minimize")
    # four runs reach iteration 9: threshold is the 2nd best (index int(4/3))
    assert stopped(stops) == {"r2": 9, "r3": 9}


def test_runs_before_the_first_bracket_are_not_judged():
    curves = loss_curves(FINALS, 2)
    assert hyperband_stops(Hyperband(min_iter=3), curves, running=set(curves)) == []


def test_only_running_runs_are_stopped_but_all_runs_set_the_threshold():
    curves = loss_curves(FINALS, 3)
    running = {"r1", "r5"}
    assert stopped(hyperband_stops(Hyperband(min_iter=3), curves, running)) == {"r5": 3}


def test_max_iter_form_stops_at_the_same_brackets_as_min_iter():
    curves = loss_curves(FINALS, 3)
    by_min = hyperband_stops(Hyperband(min_iter=3), curves, set(curves))
    by_max = hyperband_stops(Hyperband(max_iter=27, s=2), curves, set(curves))
    assert stopped(by_min) == stopped(by_max)


def test_maximize_stops_the_runs_with_low_scores():
    curves = {run: [1.0 - v for v in values] for run, values in loss_curves(FINALS, 3).items()}
    stops = hyperband_stops(
        Hyperband(min_iter=3), curves, set(curves), goal="maximize", metric="f1"
    )
    assert stopped(stops) == {f"r{i}": 3 for i in range(4, 9)}
    worst = next(s for s in stops if s.run == "r8")
    assert worst.reason.startswith("hyperband: f1=")
    assert "at iteration 3 below bracket threshold" in worst.reason
    assert worst.value == pytest.approx(1.0 - (0.8 + 1 / 3))
    assert worst.threshold == pytest.approx(1.0 - (0.3 + 1 / 3))


def test_minimize_reason_says_above():
    curves = loss_curves(FINALS, 3)
    stops = hyperband_stops(Hyperband(min_iter=3), curves, {"r8"}, metric="loss")
    assert "loss=" in stops[0].reason and "above bracket threshold" in stops[0].reason


def test_strict_judges_the_bracket_value_non_strict_the_best_so_far():
    curves = loss_curves(FINALS, 3)
    # a late bloomer: poor at iteration 3, then better than everyone by iteration 5
    curves["late"] = [5.0, 4.0, 3.0, 0.05, 0.01]
    strict = hyperband_stops(Hyperband(min_iter=3, strict=True), curves, {"late"})
    lenient = hyperband_stops(Hyperband(min_iter=3, strict=False), curves, {"late"})
    assert stopped(strict) == {"late": 3}
    assert lenient == []


def test_non_strict_still_stops_runs_that_never_got_good():
    curves = loss_curves(FINALS, 3)
    stops = hyperband_stops(Hyperband(min_iter=3, strict=False), curves, {"r8"})
    assert stopped(stops) == {"r8": 3}
    assert stops[0].reason.startswith("hyperband: best metric=")


def test_invalid_values_are_skipped_when_counting_iterations():
    curves = loss_curves(FINALS, 3)
    curves["r8"] = [math.nan, 2.0, math.inf]  # only one valid value: before the bracket
    assert hyperband_stops(Hyperband(min_iter=3), curves, {"r8"}) == []


def test_ties_with_the_threshold_survive():
    curves = {f"r{i}": [1.0, 1.0, 1.0] for i in range(6)}
    assert hyperband_stops(Hyperband(min_iter=3), curves, set(curves)) == []


def test_from_settings_ignores_type_and_unset_keys():
    band = Hyperband.from_settings({"type": "hyperband", "min_iter": 2, "max_iter": None, "eta": 2})
    assert band == Hyperband(min_iter=2, eta=2.0)


def test_compute_saved_counts_stopped_runs_up_to_the_longest():
    curves = {"long": [1.0] * 9, "stopped": [2.0] * 3, "short": [1.5] * 3}
    saved = compute_saved(curves, stopped={"stopped"})
    assert saved.iterations_run == 15
    assert saved.iterations_saved == 6
    assert saved.fraction == pytest.approx(6 / 21)
    assert compute_saved({}, stopped=set()).fraction == 0.0


def test_worked_example_with_running_and_finished_runs_max_iter_form():
    # brackets of max_iter=5, eta=2, s=2: 5/2 -> 2, 5/4 -> 1
    curves = {
        "a": [10, 9],  # finished
        "b": [10, 10],
        "c": [10, 8, 8],
        "d": [10, 7, 7],
        "e": [10, 6, 6],  # finished
    }
    hb = Hyperband(max_iter=5, s=2, eta=2)
    assert hb.bands == (1, 2)
    # bracket 2 holds 9, 10, 8, 7, 6: sorted, index int(5 / 2) = 2 gives 8; b's 10 is above it
    assert stopped(hyperband_stops(hb, curves, running={"b", "c", "d"})) == {"b": 2}
    lenient = Hyperband(max_iter=5, s=2, eta=2, strict=False)
    assert stopped(hyperband_stops(lenient, curves, running={"b", "c", "d"})) == {"b": 2}


def test_thirty_running_runs_judge_each_other():
    # all running at once, distinct values: threshold index int(30 / 3) = 10, so the
    # 19 runs worse than the 11th best stop; none would with only finished runs counted
    curves = {f"r{i}": [float(i)] * 3 for i in range(30)}
    stops = hyperband_stops(Hyperband(min_iter=3), curves, running=set(curves))
    assert stopped(stops) == {f"r{i}": 3 for i in range(11, 30)}


def test_min_iter_makes_wandbs_hundred_brackets():
    assert len(Hyperband(min_iter=1, eta=1.01).bands) < 100  # int() repeats collapse
    assert Hyperband(min_iter=1, eta=1.01).bands[-1] == int(1.01**99)
    assert Hyperband(min_iter=3, eta=3).bands[:4] == (3, 9, 27, 81)
