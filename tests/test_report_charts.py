"""The HTML report's charts and tables say what the data says: log axes, whole-number runs,
every swept parameter, curves that overlap told apart, no -0.000, unreliable importance marked."""

from __future__ import annotations

import re
from pathlib import Path

from orchestrator.report import render_report
from orchestrator.report.charts import _axis_positions, history_curves, power_label
from orchestrator.report.html import signed3
from orchestrator.report.importance import RELIABLE_RUNS, importance_note
from orchestrator.report.model import RunPoint
from orchestrator.report.scales import log_parameters, swept_parameters
from tests.test_report import build_store

SWEEP = {
    "parameters": {
        "learning_rate": {"distribution": "log_uniform_values", "min": 1.0e-5, "max": 0.1},
        "opt": {"parameters": {"decay": {"distribution": "inv_log_uniform_values", "min": 1, "max": 10}}},
        "max_depth": {"distribution": "int_uniform", "min": 1, "max": 6},
        "model": {"values": ["gbm", "forest"]},
        "dataset": {"value": "wine"},
        "seed": {"values": [1]},
    }
}  # fmt: skip


def test_the_sweep_file_names_swept_and_log_parameters() -> None:
    assert swept_parameters(SWEEP) == ["learning_rate", "opt.decay", "max_depth", "model"]
    assert log_parameters(SWEEP) == {"learning_rate", "opt.decay"}
    assert swept_parameters({"parameters": "nonsense"}) == []


def test_power_labels_are_plain_numbers() -> None:
    assert [power_label(10.0**e) for e in (-6, -3, 0, 2, 5)] == [
        "1e-06", "0.001", "1", "100", "1e+05",
    ]  # fmt: skip


def test_log_parallel_axis_puts_decades_evenly_and_labels_them() -> None:
    positions, ticks = _axis_positions([1e-4, 1e-3, 1e-2, 1e-1], log=True)
    assert positions == [0.0, 1 / 3, 2 / 3, 1.0]
    assert [label for _, label in ticks] == ["0.0001", "0.001", "0.01", "0.1"]
    linear, _ = _axis_positions([1e-4, 1e-3, 1e-2, 1e-1])
    assert linear[1] < 0.01, "linearly, three of four points crowd at the bottom"


def test_a_parameter_the_top_runs_share_keeps_its_leaderboard_column(tmp_path: Path) -> None:
    # every run has max_depth 3: before, the column vanished because it did not vary
    db = build_store(
        tmp_path / "s.db", runs=8, sweep_config=SWEEP, vary=lambda seq: {"max_depth": 3}
    )
    html = render_report(db, fmt="html")
    header = re.search(r'<table id="leaderboard">\s*<thead><tr>(.*?)</tr>', html, re.S).group(1)
    assert "<th>max_depth</th>" in header
    md = render_report(db, fmt="md")
    assert "max\\_depth" in md.split("### Top", 1)[1].splitlines()[2]


def test_run_axis_ticks_are_whole_numbers(tmp_path: Path) -> None:
    db = build_store(tmp_path / "s.db", runs=5)
    html = render_report(db, fmt="html")
    svg = html.split('aria-label="metric-over-time"', 1)[1].split("</svg>", 1)[0]
    ticks = re.findall(r'<g id="xtick_\d+">.*?<text[^>]*>([^<]*)</text>', svg, re.S)
    assert ticks and all(float(t.replace("\u2212", "-")).is_integer() for t in ticks), ticks


def test_identical_curves_are_told_apart() -> None:
    curve = [(float(s), 0.5 + 0.04 * s) for s in range(10)]
    svg = history_curves({"run-a": curve, "run-b": list(curve), "run-c": curve[:5]}, "f1")
    assert "run-b (same as run-a)" in svg and "run-c (same" not in svg
    dashes = set(re.findall(r"stroke-dasharray: ([0-9.,\s]+)", svg))
    assert len(dashes) >= 2, "the other curves are dashed, so the first shows through"
    assert svg.count('id="curve-') == 3


def test_correlations_never_show_minus_zero() -> None:
    assert signed3(-0.0001) == "0.000" and signed3(0.0004) == "0.000"
    assert signed3(-0.25) == "-0.250" and signed3(0.25) == "+0.250" and signed3(None) == "-"


def test_importance_from_few_runs_is_marked_unreliable(tmp_path: Path) -> None:
    few = [RunPoint(i, "finished", 0.1 * i, {"x": i}) for i in range(RELIABLE_RUNS - 1)]
    assert "Unreliable: only 9 runs" in importance_note(few)
    many = few + [RunPoint(99, "finished", 0.5, {"x": 3.0})]
    assert importance_note(many) is None
    small = render_report(build_store(tmp_path / "a.db", runs=6), fmt="html")
    assert 'id="importance-note"' in small and "Unreliable" in small
    big = render_report(build_store(tmp_path / "b.db", runs=30), fmt="html")
    assert 'id="importance-note"' not in big
    assert "-0.000" not in small + big
