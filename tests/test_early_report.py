"""Reports show early termination (stops, brackets, savings, truncated curves) and the searched values."""

from __future__ import annotations

import json
from pathlib import Path

from orchestrator.report.html import render_html
from orchestrator.report.markdown import render_markdown
from orchestrator.report.model import build_report
from orchestrator.store import claims, open_store
from orchestrator.store import runs as R
from orchestrator.store.traces import save_trace
from orchestrator.trials.trace import MetricTrace

HYPERBAND = {
    "method": "grid",
    "metric": {"name": "val/loss", "goal": "minimize"},
    "early_terminate": {"type": "hyperband", "min_iter": 2, "eta": 3},
    "parameters": {"q": {"values": [1, 2, 3]}},
}


def _sweep(store, config: dict, method: str):
    return R.create_sweep(
        store,
        project="p-dev",
        method=method,
        config=config,
        metric_name="val/loss",
        metric_goal="minimize",
    )


def _run(store, sweep, curve: list[float], state: str, reason: str | None = None) -> str:
    run = claims.claim_next_run(store, sweep.id, "a", lambda t, s: {"q": len(t)})
    save_trace(store, run.id, "val/loss", MetricTrace.of(curve, {2, 6}, summary=curve[-1]))
    R.finish_run(
        store,
        run.id,
        state=state,
        exit_code=0 if state == "finished" else None,
        reason=reason,
        stderr_tail=None,
        summary={"val/loss": curve[-1]},
        metric_value=curve[-1],
        history=[{"_step": i, "val/loss": v} for i, v in enumerate(curve)],
    )
    return run.id


def test_reports_show_what_hyperband_stopped_and_saved(tmp_path: Path) -> None:
    with open_store(tmp_path / "s.db") as store:
        sweep = _sweep(store, HYPERBAND, "grid")
        _run(store, sweep, [1.1, 0.6, 0.43, 0.35, 0.3, 0.27, 0.24, 0.22], "finished")
        stopped = _run(
            store,
            sweep,
            [1.9, 1.4],
            "killed",
            "hyperband: val/loss=1.4 at iteration 2 above bracket threshold 0.6",
        )
        _run(store, sweep, [1.5, 1.0, 0.8, 0.75, 0.7, 0.67], "killed", "hyperband: "
             "val/loss=0.67 at iteration 6 above bracket threshold 0.27")  # fmt: skip
        model = build_report(store, sweep.id, charts=True)
        md = render_markdown(model)
        html = render_html(model)
    data = model.to_json()["early_termination"]
    assert data["stopped"] == 2 and data["by_iteration"] == {"2": 1, "6": 1}
    # each stopped run counted as if it had run the longest run's 8 iterations
    assert (data["iterations_run"], data["iterations_saved"]) == (16, 8)
    assert "### Early termination" in md
    assert (
        "hyperband stopped 2 run(s) early (1 at iteration 2, 1 at iteration 6), saving 8 of 24 iterations (33%)"
        in md
    )
    row = next(line for line in md.splitlines() if line.startswith(f"| {stopped} "))
    assert row == f"| {stopped} | 2 | 2 | 1\\.9 1\\.4 |"
    assert "Early termination" in html and 'id="stopped-curves"' in html


def test_reports_say_which_value_bayes_used_when_it_differs(tmp_path: Path) -> None:
    config = {
        "method": "bayes",
        "metric": {"name": "val/loss"},
        "parameters": {"q": {"min": 0, "max": 1}},
    }
    with open_store(tmp_path / "s.db") as store:
        sweep = _sweep(store, config, "bayes")
        dipped = _run(store, sweep, [0.9, 0.2, 0.5], "finished")  # summary 0.5, best 0.2
        _run(store, sweep, [0.7, 0.6], "finished")  # its last value is its best: no note
        model = build_report(store, sweep.id)
        md = render_markdown(model)
    assert model.searched == {dipped: 0.2}
    assert f"| {dipped} | 0.5 | 0.2 |" in md
    assert "W&B's value" in md
    top = {r["id"]: r for r in model.to_json()["top"]}
    assert top[dipped]["metric_value"] == 0.5 and top[dipped]["search_value"] == 0.2
    assert json.dumps(model.to_json())  # serialisable


def test_a_hyperband_sweep_without_live_values_says_why_nothing_was_stopped(tmp_path: Path) -> None:
    with open_store(tmp_path / "s.db") as store:
        sweep = _sweep(store, HYPERBAND, "grid")
        for _ in range(2):
            run_id = _run(store, sweep, [1.0, 0.5, 0.4], "finished")
            run_dir = tmp_path / run_id
            run_dir.mkdir()
            store.conn.execute("UPDATE runs SET run_dir = ? WHERE id = ?", (str(run_dir), run_id))
        quiet = build_report(store, sweep.id).early
        assert quiet is not None and quiet.stopped == 0
        assert "no run's values reached the agent while it ran" in quiet.summary_line()
        (run_dir / "metrics.jsonl").write_text('{"val/loss": 1.0}\n')
        live = build_report(store, sweep.id).early
        assert live is not None and "reached the agent" not in live.summary_line()
