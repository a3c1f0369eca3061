"""Reports: Markdown (golden), HTML and JSON from real store files, baseline, limits, escaping, CLI.

`build_store` writes a deterministic synthetic sweep straight into a real
store file (the store's own create_sweep plus SQL inserts), so the tests and
bench/report_10k.py need no training runs. Regenerate the golden file with
SWEEPCI_REGEN_GOLDEN=1 pytest tests/test_report.py.
"""

from __future__ import annotations

import json
import math
import os
import random
import re
import time
from collections.abc import Callable
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest

from orchestrator.errors import StoreError
from orchestrator.report import render_report
from orchestrator.report.baseline import find_baseline
from orchestrator.report.importance import parameter_importance
from orchestrator.report.model import RunPoint
from orchestrator.report.summary import write_job_summary
from orchestrator.store import open_store
from orchestrator.store.runs import create_sweep
from orchestrator.templating.jinja import autoescape_for, render
from tests.conftest import REPO_ROOT, clean_env, sweepci

GOLDEN = Path(__file__).parent / "golden"
SHA = "0123456789abcdef0123456789abcdef01234567"
ALLOWED_URL = re.compile(
    r"^https://github\.com/acme/wine-quality/(commit/[0-9a-f]{40}|actions/runs/\d+)$"
)
URL = re.compile(r"https?://[^\s\"'<>)]*")


def build_store(
    path: Path, *, runs: int = 12, sweep_id: str = "synth001", name: str = "wine-synth",
    env: str = "dev", branch: str = "feature/x", metric: str | None = "f1", goal: str = "maximize",
    state: Callable[[int], str] = lambda seq: "finished", created_at: float = 1_700_000_000.0,
    extra: dict[str, Any] | None = None, vary: Callable[[int], dict[str, Any]] | None = None,
    offset: float = 0.0, history_runs: int = 20,
    history_steps: int = 10, context: dict[str, Any] | None = None, seed: int = 0,
    sweep_config: dict[str, Any] | None = None,
) -> Path:  # fmt: skip
    """A real store file holding one synthetic sweep (more sweeps: call again on the same path)."""
    rng = random.Random(seed)
    ctx = {
        "source": "github-actions", "event": "push", "branch": branch, "sha": SHA,
        "repository": "acme/wine-quality", "server_url": "https://github.com",
        "run_url": "https://github.com/acme/wine-quality/actions/runs/4242",
    }  # fmt: skip
    ctx.update(context or {})
    with open_store(path) as store:
        create_sweep(
            store, project=f"wine-quality-{env}", method="random",
            config={"name": name, **(sweep_config or {})},
            metric_name=metric, metric_goal=goal if metric else None, name=name, env=env,
            context=ctx, sweep_id=sweep_id,
        )  # fmt: skip
        run_rows, history_rows = [], []
        for seq in range(runs):
            config = {
                "learning_rate": rng.choice([0.01, 0.05, 0.1, 0.2]),
                "max_depth": rng.randint(1, 6),
                "model": rng.choice(["gbm", "forest", "svm"]),
                "dataset": "wine",
                **(extra or {}),
                **(vary(seq) if vary else {}),
            }
            quality = (
                0.75 + 0.12 * (config["model"] == "gbm") + 0.04 * min(config["max_depth"], 4) / 4
                - 0.05 * abs(math.log10(config["learning_rate"]) + 1.3) + 0.01 * rng.random() + offset
            )  # fmt: skip
            st = state(seq)
            value = None if st in ("failed", "crashed") else round(quality, 6)
            summary = {} if value is None else {
                "accuracy": round(value - 0.01, 6), "precision": round(value + 0.01, 6),
                "recall": round(value - 0.02, 6), "f1": value, "loss": round(1 - value, 6), "epoch": 9,
            }  # fmt: skip
            metric_value = None
            if value is not None and metric:
                metric_value = summary[metric] if metric in summary else value
            t0 = created_at + 10 * seq
            run_id = f"{sweep_id}-{seq}"
            run_rows.append((
                run_id, sweep_id, seq, f"k{seq}", json.dumps(config), st,
                "exit code 1" if value is None else None, 1 if value is None else 0,
                "Traceback (most recent call last):\nValueError: boom" if value is None else None,
                t0, t0, t0 + 4.5, metric_value, json.dumps(summary), branch, SHA, env,
            ))  # fmt: skip
            if value is not None and seq < history_runs:
                for step in range(history_steps):
                    point = {"_step": step, "f1": round(value * (1 - 0.5 ** (step + 1)), 6)}
                    point["loss"] = round(1 - point["f1"], 6)
                    history_rows.append((run_id, step, json.dumps(point)))
        with store.transaction() as conn:
            conn.execute(
                "UPDATE sweeps SET created_at = ?, updated_at = ?, status = 'finished' WHERE id = ?",
                (created_at, created_at, sweep_id),
            )
            conn.executemany(
                "INSERT INTO runs (id, sweep_id, seq, config_key, config_json, state, reason, exit_code,"
                " stderr_tail, created_at, started_at, ended_at, metric_value, summary_json, branch, sha,"
                " env) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                run_rows,
            )
            conn.executemany(
                "INSERT INTO history (run_id, step, data_json) VALUES (?,?,?)", history_rows
            )
    return path


def failing_every(n: int) -> Callable[[int], str]:
    return lambda seq: "failed" if seq % n == n - 1 else "finished"


@pytest.fixture
def baseline_store(tmp_path: Path) -> Path:
    """An artifact directory: older and newer prod sweeps of main, plus distractors."""
    db = tmp_path / "artifact" / "store" / "sweepci.db"
    db.parent.mkdir(parents=True)
    build_store(
        db, sweep_id="oldprod1", env="prod", branch="main", created_at=1_600_000_000.0, offset=-0.3
    )
    build_store(db, sweep_id="prodmain", env="prod", branch="main", created_at=1_650_000_000.0)
    build_store(
        db,
        sweep_id="devfeat1",
        env="dev",
        branch="feature/y",
        created_at=1_690_000_000.0,
        offset=0.5,
    )
    build_store(
        db,
        sweep_id="prodrel1",
        env="prod",
        branch="release",
        created_at=1_690_000_001.0,
        offset=0.5,
    )
    build_store(
        db,
        sweep_id="prodloss",
        env="prod",
        branch="main",
        created_at=1_690_000_002.0,
        metric="loss",
    )
    return db.parent.parent


def test_markdown_matches_golden(tmp_path: Path, baseline_store: Path) -> None:
    db = build_store(tmp_path / "s.db", state=failing_every(5), offset=0.02)
    text = render_report(db, "synth001", "md", baseline=baseline_store)
    golden = GOLDEN / "report_summary.md"
    if os.environ.get("SWEEPCI_REGEN_GOLDEN") == "1":
        golden.write_text(text, encoding="utf-8")
    assert text == golden.read_text(encoding="utf-8"), (
        "Markdown changed; rerun with SWEEPCI_REGEN_GOLDEN=1"
    )


@pytest.mark.parametrize(
    "case, kwargs",
    [
        ("failed runs", {"state": failing_every(3)}),
        ("no finished run", {"state": lambda seq: "failed"}),
        ("single run", {"runs": 1}),
        ("no metric", {"metric": None}),
        ("no runs", {"runs": 0}),
        ("killed and crashed", {"state": lambda seq: ["killed", "crashed", "finished"][seq % 3]}),
    ],
)
def test_every_kind_of_sweep_renders(tmp_path: Path, case: str, kwargs: dict[str, Any]) -> None:
    db = build_store(tmp_path / "s.db", **kwargs)
    md = render_report(db, fmt="md")
    html = render_report(db, fmt="html")
    data = json.loads(render_report(db, fmt="json"))
    assert md.startswith("## Sweep wine") and "</html>" in html
    assert data["sweep"]["id"] == "synth001" and data["baseline"]["found"] is False
    assert data["total"] == kwargs.get("runs", 12)
    if case in ("no finished run", "no metric", "no runs"):
        assert data["best"] is None and "No finished run has a" in md and "No finished run" in html
    else:
        assert data["best"]["state"] == "finished"
    if case == "failed runs":
        assert data["counts"]["failed"] == 4 and "### Failed runs (latest 4)" in md
        assert "ValueError: boom" in html


def test_html_has_charts_and_no_external_urls(tmp_path: Path) -> None:
    db = build_store(tmp_path / "s.db", runs=40, state=failing_every(7))
    html = render_report(db, fmt="html")
    assert html.count("<svg") == 5
    for chart in (
        "metric-over-time",
        "parallel-coordinates",
        "parameter-importance",
        "history-curves",
    ):
        assert f'id="{chart}"' in html
    urls = set(URL.findall(html))
    assert urls and all(ALLOWED_URL.match(u) for u in urls), urls
    assert "<script" not in html and "default-src 'none'" in html


def test_unsafe_context_urls_are_not_linked(tmp_path: Path) -> None:
    ctx = {
        "run_url": "javascript:alert(1)",
        "server_url": "https://evil.example/x?",
        "repository": "a/b",
    }
    db = build_store(tmp_path / "s.db", context=ctx)
    for fmt in ("md", "html"):
        text = render_report(db, fmt=fmt)
        assert "javascript:" not in text and "evil.example" not in text


class _Cells(HTMLParser):
    """Counts cells per table row and collects tag names, as a browser would parse them."""

    def __init__(self) -> None:
        super().__init__()
        self.rows: list[int] = []
        self.tags: set[str] = set()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.add(tag)
        if tag == "tr":
            self.rows.append(0)
        elif tag in ("td", "th") and self.rows:
            self.rows[-1] += 1


HOSTILE = "</td></tr><script>alert(1)</script>|x\ny ![i](https://evil.example/p.png) <img src=x> &amp; `c` $x$"


def _md_cells(line: str) -> int:
    return len(re.findall(r"(?<!\\)\|", line)) - 1


def _assert_tables_intact(md: str) -> None:
    """Every row of every Markdown table has as many cells as its header."""
    for block in md.split("\n\n"):
        lines = [ln for ln in block.splitlines() if ln.startswith("|")]
        assert len({_md_cells(ln) for ln in lines}) <= 1, block


def test_hostile_values_cannot_break_out(tmp_path: Path) -> None:
    db = build_store(
        tmp_path / "s.db", name="n|<b>x</b>\n# h", branch="f|<i>\nb",
        extra={"note": HOSTILE, "dollar": "$\\frac{1}{0}$"}, state=failing_every(4),
    )  # fmt: skip
    md = render_report(db, fmt="md")
    assert "\\<script\\>" in md  # shown, as text
    assert not re.search(r"(?<!\\)[<&]", md)  # no raw HTML tag or entity at all
    links = re.findall(r"(?<!\\)\]\((.*?)\)", md)
    assert links and all(ALLOWED_URL.match(u) for u in links), links
    _assert_tables_intact(md)
    html = render_report(db, fmt="html")
    parser = _Cells()
    parser.feed(html)
    assert "script" not in parser.tags and "img" not in parser.tags and "b" in parser.tags
    assert "&lt;/td&gt;&lt;/tr&gt;&lt;script&gt;" in html
    assert all(URL.findall(html)) and all(
        ALLOWED_URL.match(u) for u in URL.findall(html) if "evil" not in u
    )
    assert not re.search(r'(href|src)="https://evil', html)
    board = html.split('id="leaderboard"')[1].split("</table>")[0]
    sub = _Cells()
    sub.feed(board)
    assert len(set(sub.rows)) == 1, sub.rows


def test_large_sweep_markdown_stays_small_and_fast(tmp_path: Path) -> None:
    db = build_store(
        tmp_path / "big.db",
        runs=10_000,
        extra={"blob": "x|<td>\n" * 1000},
        vary=lambda seq: {"huge": f"{seq}</td>|\n" * 1000},
        history_runs=10_000,
        history_steps=5,
    )
    start = time.perf_counter()
    md = render_report(db, fmt="md", top=10_000)
    md_seconds = time.perf_counter() - start
    assert len(md.encode()) < 1024 * 1024
    assert "more runs not shown" in md and "| huge |" in md
    _assert_tables_intact(md)
    assert md_seconds < 20  # ~1 s on an idle machine; generous for loaded CI runners
    start = time.perf_counter()
    html = render_report(db, fmt="html")
    assert time.perf_counter() - start < 60 and html.count("<svg") == 5
    assert len(html.encode()) < 5 * 1024 * 1024


@pytest.mark.parametrize("offset, goal, direction", [(0.05, "maximize", "better"), (-0.05, "maximize", "worse"),
                                                     (-0.05, "minimize", "better")])  # fmt: skip
def test_baseline_direction(
    tmp_path: Path, baseline_store: Path, offset: float, goal: str, direction: str
) -> None:
    db = build_store(tmp_path / "s.db", offset=offset, goal=goal)
    data = json.loads(render_report(db, fmt="json", baseline=baseline_store))
    base = data["baseline"]
    assert base["found"] and base["baseline"]["sweep_id"] == "prodmain"
    assert base["direction"] == direction
    assert math.isclose(base["delta"], data["best"]["metric_value"] - base["baseline"]["value"])
    md = render_report(db, fmt="md", baseline=baseline_store)
    assert f"**{direction}**" in md
    html = render_report(db, fmt="html", baseline=baseline_store)
    assert f'<span class="{direction}">{direction}</span>' in html


@pytest.mark.parametrize("where", ["missing", "empty dir", "only dev"])
def test_no_baseline_is_stated_plainly(tmp_path: Path, where: str) -> None:
    db = build_store(tmp_path / "s.db")
    source = tmp_path / "base"
    if where == "empty dir":
        source.mkdir()
    elif where == "only dev":
        source = build_store(tmp_path / "dev.db", sweep_id="devonly1", branch="main", env="dev")
    data = json.loads(render_report(db, fmt="json", baseline=source))
    assert data["baseline"]["found"] is False and data["baseline"]["direction"] == "none"
    assert data["baseline"]["note"].startswith("no baseline")
    assert "No baseline" in render_report(db, fmt="md", baseline=source)


def test_baseline_skips_the_sweep_itself(tmp_path: Path) -> None:
    db = build_store(tmp_path / "s.db", env="prod", branch="main")
    baseline, note = find_baseline(db, "f1", exclude_sweep_id="synth001")
    assert baseline is None and "no prod sweep of main" in note
    baseline, _ = find_baseline(db, "f1")
    assert baseline is not None and baseline.sweep_id == "synth001"


def test_job_summary_and_step_outputs(tmp_path: Path, baseline_store: Path, monkeypatch) -> None:
    db = build_store(tmp_path / "s.db", offset=0.05)
    summary, outputs = tmp_path / "summary.md", tmp_path / "outputs.txt"
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    monkeypatch.setenv("GITHUB_OUTPUT", str(outputs))
    monkeypatch.setenv("SWEEPCI_BASELINE", str(baseline_store))
    write_job_summary("synth001", db)
    assert summary.read_text().startswith("## Sweep wine")
    text = outputs.read_text()
    assert re.search(r"baseline-delta<<(\S+)\n\+0\.0\d+\n\1\n", text), text
    assert re.search(r"baseline-direction<<(\S+)\nbetter\n\1\n", text)
    assert re.search(r"baseline-sweep<<(\S+)\nprodmain\n\1\n", text)


def test_importance_finds_the_parameter_that_matters() -> None:
    rng = random.Random(1)
    points = []
    for seq in range(200):
        config = {"model": rng.choice(["a", "b"]), "noise": rng.random(), "const": 3}
        value = (1.0 if config["model"] == "a" else 0.0) + 0.01 * rng.random()
        points.append(RunPoint(seq, "finished", value, config))
    ranked = parameter_importance(points)
    assert ranked[0].feature.startswith("model=") and ranked[0].importance > 0.4
    assert not any(i.feature.startswith("const") for i in ranked)
    by_name = {i.feature: i for i in ranked}
    assert by_name["model=a"].correlation > 0.9 and by_name["model=b"].correlation < -0.9


def test_templating_environment() -> None:
    assert (
        autoescape_for("report.html.j2")
        and autoescape_for("x.svg")
        and not autoescape_for("summary.md.j2")
    )
    assert not autoescape_for("sweep.yml.j2")
    import jinja2

    with pytest.raises(jinja2.UndefinedError):
        render("summary.md.j2")
    with pytest.raises(jinja2.TemplateNotFound):
        render("../pyproject.toml")


def test_cli(tmp_path: Path) -> None:
    build_store(tmp_path / ".sweepci" / "sweepci.db", state=failing_every(4))
    proc = sweepci("report", cwd=tmp_path, check=True)
    assert proc.stdout.startswith("## Sweep wine-synth")
    proc = sweepci(
        "report", "synth", "--format", "html", "-o", "out/r.html", cwd=tmp_path, check=True
    )
    assert (tmp_path / "out" / "r.html").read_text().count("<svg") == 5 and proc.stdout == ""
    proc = sweepci("report", "--format", "json", "--top", "3", cwd=tmp_path, check=True)
    assert len(json.loads(proc.stdout)["top"]) == 3
    proc = sweepci("report", "nosuchsweep", cwd=tmp_path)
    assert (
        proc.returncode == 2
        and proc.stderr.count("\n") == 1
        and "no sweep 'nosuchsweep'" in proc.stderr
    )
    proc = sweepci("report", "--store", "missing.db", cwd=tmp_path)
    assert proc.returncode == 2 and proc.stderr.startswith("sweepci: error:")
    proc = sweepci("report", "--format", "pdf", cwd=tmp_path)
    assert proc.returncode == 2
    proc = sweepci("report", "--help", cwd=tmp_path)
    assert all(
        opt in proc.stdout for opt in ("--store", "--format", "--output", "--baseline", "--top")
    )


def test_cli_job_summary_in_actions(tmp_path: Path, baseline_store: Path) -> None:
    build_store(tmp_path / ".sweepci" / "sweepci.db", offset=-0.05)
    summary, outputs = tmp_path / "summary.md", tmp_path / "out.txt"
    env = clean_env(
        GITHUB_ACTIONS="true", GITHUB_STEP_SUMMARY=str(summary), GITHUB_OUTPUT=str(outputs)
    )
    args = ("report", "--baseline", str(baseline_store), "--job-summary", "-o", "r.md")
    sweepci(*args, cwd=tmp_path, env=env, check=True)
    assert summary.read_text() == (tmp_path / "r.md").read_text()
    assert "baseline-direction<<" in outputs.read_text() and "\nworse\n" in outputs.read_text()


def test_templates_ship_in_the_package() -> None:
    names = {p.name for p in (REPO_ROOT / "templates").iterdir()}
    assert {"report.html.j2", "summary.md.j2"} <= names


def test_baseline_from_an_older_store_is_read_without_changing_it(tmp_path: Path) -> None:
    import shutil
    import sqlite3

    artifact = tmp_path / "artifact"
    artifact.mkdir()
    old = artifact / "sweepci.db"
    shutil.copyfile(REPO_ROOT / "tests" / "assets" / "store-v1.db", old)
    with sqlite3.connect(old) as conn:  # make its sweep a prod sweep of main, still schema 1
        conn.execute(
            "UPDATE sweeps SET env = 'prod', context_json = ?", (json.dumps({"branch": "main"}),)
        )
    before = old.read_bytes()
    (artifact / "notes.db").write_text("not a store")  # skipped inside a directory
    baseline, note = find_baseline(artifact, "f1")
    assert baseline is not None and baseline.sweep_id == "v1sweep", note
    assert old.read_bytes() == before
    with pytest.raises(StoreError):
        find_baseline(artifact / "notes.db", "f1")


def test_chart_labels_from_configs_stay_text() -> None:
    from orchestrator.report import charts

    hostile = ["</svg><script>alert(1)</script>", "$\\frac{1}{0}$", "a&b"]
    points = [
        RunPoint(i, "finished", 0.5 + 0.01 * i, {hostile[0]: hostile[i % 3], "depth": i % 4})
        for i in range(30)
    ]
    svg = charts.parallel_coordinates(points, [hostile[0], "depth"], "f1", True)
    assert svg is not None and svg.startswith("<svg") and "xmlns" not in svg and "http" not in svg
    parser = _Cells()
    parser.feed(svg)
    assert "script" not in parser.tags and svg.count("</svg>") == 1
    assert "&lt;/svg&gt;&lt;script&gt;" in svg and "$\\frac{1}{0}$" in svg  # shown, not typeset
    importance = parameter_importance(points)
    assert charts.importance_chart(importance, "f1").count("<script") == 0
