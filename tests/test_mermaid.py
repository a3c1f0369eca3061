"""The Mermaid chart in the Markdown report: numbers GitHub's Mermaid parses, labels that
cannot end the block or carry directives, large sweeps sampled with the best run kept."""

from __future__ import annotations

import re

from orchestrator.report.mermaid import MAX_POINTS, best_so_far_chart


def _series(chart: str, kind: str) -> list[float]:
    line = next(x for x in chart.splitlines() if x.strip().startswith(kind + " ["))
    return [float(v) for v in line.split("[", 1)[1].rstrip("]").split(",")]


def test_best_so_far_is_a_running_maximum_or_minimum() -> None:
    values = [(1, 0.5), (2, 0.7), (3, 0.6), (4, 0.9)]
    up = best_so_far_chart(values, "f1", maximize=True)
    assert up.startswith("```mermaid\nxychart-beta\n") and up.endswith("\n```")
    assert _series(up, "bar") == [0.5, 0.7, 0.6, 0.9]
    assert _series(up, "line") == [0.5, 0.7, 0.7, 0.9]
    down = best_so_far_chart(values, "loss", maximize=False)
    assert _series(down, "line") == [0.5, 0.5, 0.5, 0.5]


def test_numbers_have_no_exponent_and_labels_no_markup() -> None:
    chart = best_so_far_chart(
        [(1, 1.5e-7), (2, 2.5e-7), (3, float("nan"))], 'f1"]\n```\n%%{init: {}}%% click', True
    )
    assert "e-" not in chart.split("x-axis", 1)[1]
    assert chart.count("```") == 2 and "%%" not in chart and "\n```\n%" not in chart
    title = next(x for x in chart.splitlines() if "title" in x)
    assert re.fullmatch(r'    title "[A-Za-z0-9 _./:()\-]+"', title), title


def test_a_large_sweep_is_sampled_and_keeps_the_best_run() -> None:
    values = [(i, 0.5 + (0.4 if i == 777 else 0.0) + i * 1e-5) for i in range(2000)]
    chart = best_so_far_chart(values, "f1", maximize=True)
    runs = re.search(r"x-axis \"run\" \[(.*)\]", chart).group(1).replace('"', "").split(", ")
    assert len(runs) <= MAX_POINTS + 1 and "777" in runs
    assert f"of {len(values)} runs" in chart


def test_fewer_than_two_values_draw_nothing() -> None:
    assert best_so_far_chart([(1, 0.5)], "f1", True) == ""
